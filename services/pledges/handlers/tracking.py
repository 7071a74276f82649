"""Step 6 of the pledge: the monthly ledger (台账) and acceptance (验收)."""

from __future__ import annotations

from typing import Unpack

from services.pledges.commands import (
    AcceptPledge,
    CorrectLedgerEntry,
    RecordLedgerEntry,
    RequestAcceptance,
    ReturnPledge,
)
from services.pledges.domain import (
    decide_accept_pledge,
    decide_correct_ledger_entry,
    decide_record_ledger_entry,
    decide_request_acceptance,
    decide_return_pledge,
)
from services.pledges.handlers.base import CommandResult, unit_of_work
from services.pledges.handlers.pledge_steps import (
    append_to_pledge,
    by_judge,
    by_member,
    load_pledge,
    mark_needs_solved,
    pledge_step,
)
from shared.contracts.pledges import PledgeAccepted
from shared.handlers import Dependencies


async def record_ledger_entry(
    command: RecordLedgerEntry, **deps: Unpack[Dependencies]
) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_judge("记录承诺台账"),
        lambda state, uow: decide_record_ledger_entry(state, command, today=uow.today),
        **deps,
    )


async def correct_ledger_entry(
    command: CorrectLedgerEntry, **deps: Unpack[Dependencies]
) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_judge("更正承诺台账"),
        lambda state, _: decide_correct_ledger_entry(state, command),
        **deps,
    )


async def request_acceptance(
    command: RequestAcceptance, **deps: Unpack[Dependencies]
) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_member("为本人的承诺申请验收"),
        lambda state, uow: decide_request_acceptance(state, command, today=uow.today),
        **deps,
    )


async def return_pledge(command: ReturnPledge, **deps: Unpack[Dependencies]) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_judge("退回验收申请"),
        lambda state, _: decide_return_pledge(state, command),
        **deps,
    )


async def accept_pledge(command: AcceptPledge, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, command.pledge_id)
        role = await by_judge("验收承诺")(uow, state)
        events = decide_accept_pledge(state, command, today=uow.today)
        stored = await append_to_pledge(uow, pledge, events, role)
        accepted = stored[0].event
        assert isinstance(accepted, PledgeAccepted)
        # An accepted pledge solves the needs it answers (see domain.planning).
        await mark_needs_solved(uow, accepted, role, stored[0])
        return uow.result(command.pledge_id, pledge.stream)
