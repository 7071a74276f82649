"""Step 6: the monthly ledger (台账) and acceptance (验收)."""

from __future__ import annotations

import calendar
from datetime import date

from services.pledges.commands import (
    AcceptPledge,
    CorrectLedgerEntry,
    RecordLedgerEntry,
    RequestAcceptance,
    ReturnPledge,
)
from services.pledges.domain.pledge import (
    LEDGER_KEPT,
    NOT_YET_APPROVED,
    PledgeState,
    PledgeStatus,
    existing,
    require_status,
)
from shared.contracts.events import Event
from shared.contracts.pledges import (
    LedgerEntryCorrected,
    LedgerEntryRecorded,
    PledgeAcceptanceRequested,
    PledgeAccepted,
    PledgeReturned,
)
from shared.errors import Conflict, InvalidInput

_CARRIED = "承诺已结转至下一年度，请在结转后的承诺上申请和办理验收"
_NOT_PUBLIC = NOT_YET_APPROVED | {PledgeStatus.APPROVED, PledgeStatus.AGREEMENT_SIGNED}


def _ledger_reasons(action: str) -> dict[PledgeStatus, str]:
    return {
        **dict.fromkeys(_NOT_PUBLIC, f"承诺尚未公开，不能{action}"),
        PledgeStatus.ACCEPTED: "承诺已验收，台账已归档，不能再记录或更正",
    }


def month_of(day: date) -> str:
    """The ledger's month notation, ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def ledger_closes_on(month: str) -> date:
    """The last day a month's entry is on time: the end of the following month (the ledger of
    a month is kept during it and posted in the next). After it, the month is closed and an
    entry is a late entry (补记), recorded with its reason."""
    year, number = int(month[:4]), int(month[5:7])
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return date(year, number, calendar.monthrange(year, number)[1])


def decide_record_ledger_entry(
    state: PledgeState | None, command: RecordLedgerEntry, *, today: date
) -> list[Event]:
    """One entry per pledge per month, for a month from publication to ``today``'s month.
    A month whose time has passed (``ledger_closes_on``) takes an entry only with a reason."""
    pledge = existing(state, command.pledge_id)
    require_status(pledge, LEDGER_KEPT, "记台账", _ledger_reasons("记台账"))
    if not command.month.startswith(f"{pledge.year:04d}-"):
        raise InvalidInput(f"台账月份须在承诺所属的{pledge.year}年内")
    if pledge.published_on is not None and command.month < month_of(pledge.published_on):
        raise InvalidInput(f"台账月份不能早于承诺公开的月份{month_of(pledge.published_on)}")
    if command.month > month_of(today):
        raise InvalidInput("不能为尚未到来的月份记台账")
    if pledge.ledger_entry(command.month) is not None:
        raise Conflict(f"{command.month}的台账已记录，如需修改请提交更正并说明理由")
    closes_on = ledger_closes_on(command.month)
    late = today > closes_on
    if late and not command.late_reason:
        raise InvalidInput(
            f"{command.month}的台账应在{closes_on.year}年{closes_on.month}月{closes_on.day}日前"
            "记录，现已逾期；补记须填写补记理由"
        )
    return [
        LedgerEntryRecorded(
            pledge_id=pledge.pledge_id,
            month=command.month,
            assessment=command.assessment,
            note=command.note,
            late_reason=command.late_reason if late else None,
        )
    ]


def decide_correct_ledger_entry(
    state: PledgeState | None, command: CorrectLedgerEntry
) -> list[Event]:
    pledge = existing(state, command.pledge_id)
    require_status(pledge, LEDGER_KEPT, "更正台账", _ledger_reasons("更正台账"))
    entry = pledge.ledger_entry(command.month)
    if entry is None:
        raise Conflict(f"{command.month}尚无台账记录，无法更正")
    if (entry.assessment, entry.note) == (command.assessment, command.note):
        raise Conflict("更正内容与原记录相同，无需更正")
    return [
        LedgerEntryCorrected(
            pledge_id=pledge.pledge_id,
            month=command.month,
            assessment=command.assessment,
            note=command.note,
            reason=command.reason,
        )
    ]


def decide_request_acceptance(
    state: PledgeState | None, command: RequestAcceptance, *, today: date
) -> list[Event]:
    pledge = existing(state, command.pledge_id)
    require_status(
        pledge,
        {PledgeStatus.PUBLISHED, PledgeStatus.RETURNED},
        "申请验收",
        {
            **dict.fromkeys(_NOT_PUBLIC, "承诺尚未公开，不能申请验收"),
            PledgeStatus.ACCEPTANCE_REQUESTED: "已申请验收，请等待党支部验收",
            PledgeStatus.ACCEPTED: "承诺已验收",
            PledgeStatus.CARRIED_OVER: _CARRIED,
        },
    )
    return [
        PledgeAcceptanceRequested(
            pledge_id=pledge.pledge_id, summary=command.summary, requested_on=today
        )
    ]


def decide_accept_pledge(
    state: PledgeState | None, command: AcceptPledge, *, today: date
) -> list[Event]:
    """After this, feed the ``PledgeAccepted`` to ``planning.decide_mark_solved`` for each
    of its ``need_ids``."""
    pledge = existing(state, command.pledge_id)
    require_status(pledge, {PledgeStatus.ACCEPTANCE_REQUESTED}, "验收", _acceptance_reasons())
    return [
        PledgeAccepted(
            pledge_id=pledge.pledge_id,
            need_ids=pledge.terms.need_ids,
            accepted_on=today,
            comment=command.comment,
        )
    ]


def decide_return_pledge(state: PledgeState | None, command: ReturnPledge) -> list[Event]:
    """A returned pledge goes back to tracking; the member may apply again."""
    pledge = existing(state, command.pledge_id)
    require_status(
        pledge, {PledgeStatus.ACCEPTANCE_REQUESTED}, "退回验收申请", _acceptance_reasons()
    )
    return [PledgeReturned(pledge_id=pledge.pledge_id, reasons=command.reasons)]


def _acceptance_reasons() -> dict[PledgeStatus, str]:
    not_requested = "党员尚未申请验收，不能验收或退回"
    return {
        PledgeStatus.PUBLISHED: not_requested,
        PledgeStatus.RETURNED: not_requested,
        PledgeStatus.ACCEPTED: "承诺已验收，不能重复验收",
        PledgeStatus.CARRIED_OVER: _CARRIED,
    }
