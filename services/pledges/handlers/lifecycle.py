"""Steps 2 to 5 of the pledge: declare, revise, approve (定诺), agreement, publish; withdraw;
and carry-over into the next year (结转)."""

from __future__ import annotations

from typing import Unpack

from services.pledges.commands import (
    ApprovePledge,
    CarryOverPledge,
    DeclarePledge,
    PublishPledge,
    RequestRevision,
    RevisePledge,
    SignAgreement,
    WithdrawPledge,
)
from services.pledges.domain import (
    NeedState,
    PersonState,
    carried_pledge_id,
    decide_approve_pledge,
    decide_carry_over_pledge,
    decide_declare_pledge,
    decide_lock_area,
    decide_publish_pledge,
    decide_request_revision,
    decide_revise_pledge,
    decide_sign_agreement,
    decide_withdraw_pledge,
    evolve_member_year,
    evolve_need,
    evolve_person,
    evolve_pledge,
    member_year_stream,
    need_stream,
    person_stream,
    pledge_stream,
)
from services.pledges.handlers.access import member_for_self
from services.pledges.handlers.base import CommandResult, IdempotencyKey, UnitOfWork, unit_of_work
from services.pledges.handlers.pledge_steps import (
    append_to_pledge,
    by_committee,
    by_judge,
    link_needs,
    load_pledge,
    pledge_step,
    unlink_needs,
)
from shared.contracts.pledges import PledgeApproved
from shared.handlers import Dependencies


async def _needs(uow: UnitOfWork, need_ids: tuple[str, ...]) -> list[NeedState]:
    found = [await uow.load(need_stream(need_id), evolve_need) for need_id in need_ids]
    return [need.state for need in found if need.state is not None]


async def _person(uow: UnitOfWork, person_id: str | None) -> PersonState | None:
    if person_id is None:
        return None
    return (await uow.load(person_stream(person_id), evolve_person)).state


async def declare_pledge(
    command: DeclarePledge,
    *,
    idempotency: IdempotencyKey | None = None,
    **deps: Unpack[Dependencies],
) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = member_for_self(uow.principal, command.member_id, action="申报本人的承诺")
        if (replay := await uow.replayed(idempotency)) is not None:
            return replay
        pledge = await uow.load(pledge_stream(command.pledge_id), evolve_pledge)
        member = await _person(uow, command.member_id)
        member_year = await uow.load(
            member_year_stream(command.member_id, command.year), evolve_member_year
        )
        events = decide_declare_pledge(
            pledge.state,
            command,
            member=member,
            member_year=member_year.state,
            needs=await _needs(uow, command.need_ids),
            paired_employee=await _person(uow, command.paired_employee_id),
            today=uow.today,
        )
        assert member is not None, "the domain refuses a declaration by an unknown member"
        stored = await uow.append(
            pledge,
            events,
            role=role,
            org=await uow.org_of_branch(member.branch_id),
            partition_key=member.branch_id,
            year=command.year,
        )
        await link_needs(uow, command.pledge_id, command.need_ids, role, stored[0])
        result = uow.result(command.pledge_id, pledge.stream)
        await uow.remember(idempotency, result)
        return result


async def revise_pledge(command: RevisePledge, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, command.pledge_id)
        role = member_for_self(uow.principal, state.member_id, action="修改本人的承诺")
        member_year = await uow.load(
            member_year_stream(state.member_id, state.year), evolve_member_year
        )
        events = decide_revise_pledge(
            state,
            command,
            member_year=member_year.state,
            needs=await _needs(uow, command.need_ids),
            paired_employee=await _person(uow, command.paired_employee_id),
            today=uow.today,
        )
        stored = await append_to_pledge(uow, pledge, events, role)
        dropped = [n for n in state.terms.need_ids if n not in command.need_ids]
        await unlink_needs(uow, command.pledge_id, dropped, role, stored[0])
        await link_needs(uow, command.pledge_id, command.need_ids, role, stored[0])
        return uow.result(command.pledge_id, pledge.stream)


async def withdraw_pledge(command: WithdrawPledge, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, command.pledge_id)
        role = member_for_self(uow.principal, state.member_id, action="撤回本人的承诺")
        stored = await append_to_pledge(uow, pledge, decide_withdraw_pledge(state, command), role)
        await unlink_needs(uow, command.pledge_id, state.terms.need_ids, role, stored[0])
        return uow.result(command.pledge_id, pledge.stream)


async def approve_pledge(command: ApprovePledge, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, command.pledge_id)
        role = await by_judge("审核承诺（定诺）")(uow, state)
        member_year = await uow.load(
            member_year_stream(state.member_id, state.year), evolve_member_year
        )
        events = decide_approve_pledge(state, command, member_year=member_year.state)
        stored = await append_to_pledge(uow, pledge, events, role)
        approved = stored[0].event
        assert isinstance(approved, PledgeApproved)
        # The first approval of the year fixes the member's area (see domain.areas).
        await uow.append(
            member_year,
            decide_lock_area(member_year.state, approved),
            role=role,
            org=await uow.org_of_branch(state.branch_id),
            partition_key=state.branch_id,
            year=state.year,
            caused_by=stored[0],
        )
        return uow.result(command.pledge_id, pledge.stream)


async def request_revision(command: RequestRevision, **deps: Unpack[Dependencies]) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_judge("退回承诺修改"),
        lambda state, _: decide_request_revision(state, command),
        **deps,
    )


async def sign_agreement(command: SignAgreement, **deps: Unpack[Dependencies]) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_committee("登记结对协议书"),
        lambda state, uow: decide_sign_agreement(state, command, today=uow.today),
        **deps,
    )


async def publish_pledge(command: PublishPledge, **deps: Unpack[Dependencies]) -> CommandResult:
    return await pledge_step(
        command.pledge_id,
        by_committee("公开承诺"),
        lambda state, uow: decide_publish_pledge(state, command, today=uow.today),
        **deps,
    )


async def carry_over_pledge(
    command: CarryOverPledge, **deps: Unpack[Dependencies]
) -> CommandResult:
    """The committee carries an unfinished pledge over into the next year: in one
    transaction the pledge ends as carried over and its successor starts (its own stream and
    partition, the branch's), and the successor locks the member's area of that year as an
    approval would. Answers with the successor."""
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, command.pledge_id)
        role = await by_judge("结转承诺")(uow, state)
        to_year = state.year + 1
        successor = await uow.load(
            pledge_stream(carried_pledge_id(state.pledge_id, to_year)), evolve_pledge
        )
        member_year = await uow.load(
            member_year_stream(state.member_id, to_year), evolve_member_year
        )
        decided = decide_carry_over_pledge(
            state,
            command,
            successor=successor.state,
            member=await _person(uow, state.member_id),
            member_year=member_year.state,
            paired_employee=await _person(uow, state.terms.paired_employee_id),
            today=uow.today,
        )
        ended = await append_to_pledge(uow, pledge, [decided.out], role)
        branch_id = decided.into.branch_id
        stored = await uow.append(
            successor,
            [decided.into],
            role=role,
            org=await uow.org_of_branch(branch_id),
            partition_key=branch_id,
            year=to_year,
            caused_by=ended[0],
        )
        await uow.append(
            member_year,
            decide_lock_area(member_year.state, decided.into),
            role=role,
            org=await uow.org_of_branch(branch_id),
            partition_key=branch_id,
            year=to_year,
            caused_by=stored[0],
        )
        return uow.result(decided.into.pledge_id, successor.stream)
