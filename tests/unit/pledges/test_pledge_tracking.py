"""Step 6: the monthly ledger (台账), acceptance (验收), and overdue pledges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from pydantic import ValidationError

from services.pledges.commands import (
    AcceptPledge,
    CorrectLedgerEntry,
    RecordLedgerEntry,
    RequestAcceptance,
    ReturnPledge,
)
from services.pledges.domain import (
    PledgeState,
    PledgeStatus,
    decide_accept_pledge,
    decide_correct_ledger_entry,
    decide_record_ledger_entry,
    decide_request_acceptance,
    decide_return_pledge,
    is_overdue,
    month_of,
)
from services.pledges.domain.tracking import (
    ledger_closes_on,
)
from shared.contracts.events import Event
from shared.contracts.pledges import (
    LedgerAssessment,
    LedgerEntryCorrected,
    LedgerEntryRecorded,
    PledgeAcceptanceRequested,
    PledgeAccepted,
    PledgeReturned,
)
from shared.errors import Conflict, InvalidInput
from tests.unit.pledges.examples import TODAY, apply, pledge_in

pytestmark = pytest.mark.unit

MARCH = RecordLedgerEntry(
    pledge_id="PL-1", month="2024-03", assessment=LedgerAssessment.ON_TRACK, note="已上门6次"
)


def published_with_march_entry() -> PledgeState:
    state = pledge_in(PledgeStatus.PUBLISHED)
    return apply(state, decide_record_ledger_entry(state, MARCH, today=TODAY))


def record(state: PledgeState, month: str, *, today: date = TODAY) -> list[Event]:
    command = RecordLedgerEntry(pledge_id="PL-1", month=month, assessment=LedgerAssessment.ON_TRACK)
    return decide_record_ledger_entry(state, command, today=today)


def correct(**changes: object) -> CorrectLedgerEntry:
    fields: dict[str, object] = {
        "pledge_id": "PL-1",
        "month": "2024-03",
        "assessment": LedgerAssessment.BEHIND,
        "note": "实际上门3次",
        "reason": "统计时重复计算",
    }
    fields.update(changes)
    return CorrectLedgerEntry.model_validate(fields)


# Ledger


def test_the_committee_records_a_monthly_entry_for_a_published_pledge() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    events = decide_record_ledger_entry(state, MARCH, today=TODAY)
    assert events == [
        LedgerEntryRecorded(
            pledge_id="PL-1",
            month="2024-03",
            assessment=LedgerAssessment.ON_TRACK,
            note="已上门6次",
        )
    ]
    entry = apply(state, events).ledger_entry("2024-03")
    assert entry is not None
    assert entry.assessment.label == "按计划推进"


@pytest.mark.parametrize(
    "status",
    [
        PledgeStatus.DECLARED,
        PledgeStatus.REVISION_REQUESTED,
        PledgeStatus.APPROVED,
        PledgeStatus.AGREEMENT_SIGNED,
    ],
)
def test_a_pledge_not_yet_published_has_no_ledger(status: PledgeStatus) -> None:
    with pytest.raises(Conflict) as refused:
        decide_record_ledger_entry(pledge_in(status), MARCH, today=TODAY)
    assert refused.value.message == "承诺尚未公开，不能记台账"


def test_the_ledger_is_kept_while_acceptance_is_pending_and_after_a_return() -> None:
    for status in (PledgeStatus.ACCEPTANCE_REQUESTED, PledgeStatus.RETURNED):
        assert record(pledge_in(status), "2024-03")


def test_an_accepted_pledge_ledger_is_closed() -> None:
    with pytest.raises(Conflict) as refused:
        decide_record_ledger_entry(pledge_in(PledgeStatus.ACCEPTED), MARCH, today=TODAY)
    assert refused.value.message == "承诺已验收，台账已归档，不能再记录或更正"


def test_a_withdrawn_pledge_has_no_ledger() -> None:
    with pytest.raises(Conflict) as refused:
        decide_record_ledger_entry(pledge_in(PledgeStatus.WITHDRAWN), MARCH, today=TODAY)
    assert refused.value.message == "承诺当前状态为“已撤回”，不能记台账"


def test_a_pledge_has_one_ledger_entry_per_month() -> None:
    with pytest.raises(Conflict) as refused:
        decide_record_ledger_entry(published_with_march_entry(), MARCH, today=TODAY)
    assert refused.value.message == "2024-03的台账已记录，如需修改请提交更正并说明理由"


def test_the_next_month_gets_its_own_entry() -> None:
    assert record(published_with_march_entry(), "2024-04", today=date(2024, 4, 1))


def test_ledger_months_lie_within_the_pledge_year() -> None:
    with pytest.raises(InvalidInput) as refused:
        record(pledge_in(PledgeStatus.PUBLISHED), "2025-01", today=date(2025, 1, 5))
    assert refused.value.message == "台账月份须在承诺所属的2024年内"


def test_ledger_months_start_at_publication() -> None:
    with pytest.raises(InvalidInput) as refused:
        record(pledge_in(PledgeStatus.PUBLISHED), "2024-02")
    assert refused.value.message == "台账月份不能早于承诺公开的月份2024-03"


def test_a_month_that_has_not_come_has_no_entry_yet() -> None:
    with pytest.raises(InvalidInput) as refused:
        record(pledge_in(PledgeStatus.PUBLISHED), "2024-04")
    assert refused.value.message == "不能为尚未到来的月份记台账"


def test_a_correction_replaces_the_entry_and_keeps_its_reason() -> None:
    state = published_with_march_entry()
    events = decide_correct_ledger_entry(state, correct())
    assert events == [
        LedgerEntryCorrected(
            pledge_id="PL-1",
            month="2024-03",
            assessment=LedgerAssessment.BEHIND,
            note="实际上门3次",
            reason="统计时重复计算",
        )
    ]
    corrected = apply(state, events)
    assert len(corrected.ledger) == 1
    assert corrected.ledger[0].assessment is LedgerAssessment.BEHIND


def test_a_correction_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="更正理由不能为空"):
        correct(reason=" ")


def test_only_a_recorded_month_can_be_corrected() -> None:
    with pytest.raises(Conflict) as refused:
        decide_correct_ledger_entry(pledge_in(PledgeStatus.PUBLISHED), correct())
    assert refused.value.message == "2024-03尚无台账记录，无法更正"


def test_a_correction_must_change_something() -> None:
    unchanged = correct(assessment=LedgerAssessment.ON_TRACK, note="已上门6次")
    with pytest.raises(Conflict) as refused:
        decide_correct_ledger_entry(published_with_march_entry(), unchanged)
    assert refused.value.message == "更正内容与原记录相同，无需更正"


def test_an_accepted_pledge_ledger_cannot_be_corrected() -> None:
    with pytest.raises(Conflict) as refused:
        decide_correct_ledger_entry(pledge_in(PledgeStatus.ACCEPTED), correct())
    assert refused.value.message == "承诺已验收，台账已归档，不能再记录或更正"


def test_month_of_uses_the_ledger_notation() -> None:
    assert month_of(date(2024, 3, 9)) == "2024-03"


# Acceptance (验收)

ASK = RequestAcceptance(pledge_id="PL-1", summary="全年照料任务完成，家属满意")


def test_the_member_applies_for_acceptance_of_a_published_pledge() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    events = decide_request_acceptance(state, ASK, today=TODAY)
    assert events == [
        PledgeAcceptanceRequested(
            pledge_id="PL-1", summary="全年照料任务完成，家属满意", requested_on=TODAY
        )
    ]
    assert apply(state, events).status.label == "申请验收"


@pytest.mark.parametrize(
    "status",
    [
        PledgeStatus.DECLARED,
        PledgeStatus.REVISION_REQUESTED,
        PledgeStatus.APPROVED,
        PledgeStatus.AGREEMENT_SIGNED,
    ],
)
def test_acceptance_cannot_be_requested_before_publication(status: PledgeStatus) -> None:
    with pytest.raises(Conflict) as refused:
        decide_request_acceptance(pledge_in(status), ASK, today=TODAY)
    assert refused.value.message == "承诺尚未公开，不能申请验收"


def test_acceptance_cannot_be_requested_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_request_acceptance(pledge_in(PledgeStatus.ACCEPTANCE_REQUESTED), ASK, today=TODAY)
    assert refused.value.message == "已申请验收，请等待党支部验收"


def test_an_accepted_pledge_cannot_ask_for_acceptance_again() -> None:
    with pytest.raises(Conflict) as refused:
        decide_request_acceptance(pledge_in(PledgeStatus.ACCEPTED), ASK, today=TODAY)
    assert refused.value.message == "承诺已验收"


def test_the_committee_accepts_a_pledge_and_names_the_needs_it_answers() -> None:
    state = pledge_in(PledgeStatus.ACCEPTANCE_REQUESTED)
    events = decide_accept_pledge(
        state, AcceptPledge(pledge_id="PL-1", comment="完成质量好"), today=date(2024, 12, 1)
    )
    assert events == [
        PledgeAccepted(
            pledge_id="PL-1", need_ids=("N-1",), accepted_on=date(2024, 12, 1), comment="完成质量好"
        )
    ]
    assert apply(state, events).status.label == "已验收"


@pytest.mark.parametrize("status", [PledgeStatus.PUBLISHED, PledgeStatus.RETURNED])
def test_a_pledge_is_not_accepted_before_the_member_applies(status: PledgeStatus) -> None:
    with pytest.raises(Conflict) as refused:
        decide_accept_pledge(pledge_in(status), AcceptPledge(pledge_id="PL-1"), today=TODAY)
    assert refused.value.message == "党员尚未申请验收，不能验收或退回"


def test_a_pledge_cannot_be_accepted_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_accept_pledge(
            pledge_in(PledgeStatus.ACCEPTED), AcceptPledge(pledge_id="PL-1"), today=TODAY
        )
    assert refused.value.message == "承诺已验收，不能重复验收"


def test_a_declared_pledge_cannot_be_accepted() -> None:
    with pytest.raises(Conflict) as refused:
        decide_accept_pledge(
            pledge_in(PledgeStatus.DECLARED), AcceptPledge(pledge_id="PL-1"), today=TODAY
        )
    assert refused.value.message == "承诺当前状态为“已申报”，不能验收"


def test_a_returned_pledge_goes_back_to_tracking_and_may_apply_again() -> None:
    state = pledge_in(PledgeStatus.ACCEPTANCE_REQUESTED)
    events = decide_return_pledge(
        state, ReturnPledge(pledge_id="PL-1", reasons=("缺少家属评价", "照料记录不全"))
    )
    assert events == [PledgeReturned(pledge_id="PL-1", reasons=("缺少家属评价", "照料记录不全"))]
    returned = apply(state, events)
    assert returned.status.label == "验收退回"
    assert record(returned, "2024-03")
    assert decide_request_acceptance(returned, ASK, today=TODAY)


def test_only_a_pending_application_can_be_returned() -> None:
    with pytest.raises(Conflict) as refused:
        decide_return_pledge(
            pledge_in(PledgeStatus.PUBLISHED), ReturnPledge(pledge_id="PL-1", reasons=("未完成",))
        )
    assert refused.value.message == "党员尚未申请验收，不能验收或退回"


def test_an_accepted_pledge_cannot_be_returned() -> None:
    with pytest.raises(Conflict) as refused:
        decide_return_pledge(
            pledge_in(PledgeStatus.ACCEPTED), ReturnPledge(pledge_id="PL-1", reasons=("未完成",))
        )
    assert refused.value.message == "承诺已验收，不能重复验收"


# Overdue

DUE = date(2024, 12, 20)
AFTER = date(2024, 12, 21)


def test_a_published_pledge_past_its_due_date_is_overdue() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    assert state.terms.due_date == DUE
    assert not is_overdue(state, DUE)
    assert is_overdue(state, AFTER)


def test_a_returned_pledge_past_its_due_date_is_overdue() -> None:
    assert is_overdue(pledge_in(PledgeStatus.RETURNED), AFTER)


def test_an_accepted_pledge_is_never_overdue() -> None:
    assert not is_overdue(pledge_in(PledgeStatus.ACCEPTED), date(2025, 6, 1))


def test_an_application_made_in_time_keeps_the_pledge_from_being_overdue() -> None:
    state = pledge_in(PledgeStatus.ACCEPTANCE_REQUESTED)
    assert state.acceptance_requested_on == TODAY
    assert not is_overdue(state, AFTER)


def test_an_application_made_late_leaves_the_pledge_overdue() -> None:
    state = replace(pledge_in(PledgeStatus.ACCEPTANCE_REQUESTED), acceptance_requested_on=AFTER)
    assert is_overdue(state, AFTER)


@pytest.mark.parametrize(
    "status", [PledgeStatus.DECLARED, PledgeStatus.APPROVED, PledgeStatus.WITHDRAWN]
)
def test_a_pledge_not_yet_public_is_not_listed_as_overdue(status: PledgeStatus) -> None:
    assert not is_overdue(pledge_in(status), AFTER)


# Late entries (补记): a month's entry is on time until the end of the next month.


def test_a_month_is_on_time_until_the_end_of_the_next_month() -> None:
    assert ledger_closes_on("2024-03") == date(2024, 4, 30)
    assert ledger_closes_on("2024-01") == date(2024, 2, 29)
    assert ledger_closes_on("2024-12") == date(2025, 1, 31)
    on_time = record(pledge_in(PledgeStatus.PUBLISHED), "2024-03", today=date(2024, 4, 30))
    assert on_time[0] == LedgerEntryRecorded(
        pledge_id="PL-1", month="2024-03", assessment=LedgerAssessment.ON_TRACK, note=None
    )


def test_a_late_entry_without_its_reason_is_refused_with_the_date_it_was_due() -> None:
    with pytest.raises(InvalidInput) as refused:
        record(pledge_in(PledgeStatus.PUBLISHED), "2024-03", today=date(2024, 5, 1))
    assert refused.value.message == (
        "2024-03的台账应在2024年4月30日前记录，现已逾期；补记须填写补记理由"
    )


def test_a_late_entry_records_its_reason_and_an_on_time_one_does_not() -> None:
    command = RecordLedgerEntry(
        pledge_id="PL-1",
        month="2024-12",
        assessment=LedgerAssessment.DONE,
        late_reason="年底值班，支委会延期召开",
    )
    published = pledge_in(PledgeStatus.PUBLISHED)
    # Last year's December, recorded in February: the year is closed, the step is explicit.
    late = decide_record_ledger_entry(published, command, today=date(2025, 2, 3))
    assert late[0] == LedgerEntryRecorded(
        pledge_id="PL-1",
        month="2024-12",
        assessment=LedgerAssessment.DONE,
        note=None,
        late_reason="年底值班，支委会延期召开",
    )
    on_time = decide_record_ledger_entry(published, command, today=date(2025, 1, 31))
    assert isinstance(on_time[0], LedgerEntryRecorded) and on_time[0].late_reason is None
