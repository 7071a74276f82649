"""What the pledge handlers share: loading a pledge, appending to it, and the facts its
events feed to the needs and to the member's year in the same transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Unpack

from services.pledges.domain import (
    NeedState,
    PledgeState,
    decide_link_pledge,
    decide_mark_solved,
    decide_unlink_pledge,
    evolve_need,
    evolve_person,
    evolve_pledge,
    need_stream,
    person_stream,
    pledge_stream,
)
from services.pledges.handlers.access import committee_of, judge_of_pledge, member_for_self
from services.pledges.handlers.base import CommandResult, UnitOfWork, unit_of_work
from shared.auth import Role
from shared.contracts import Event
from shared.contracts.pledges import PledgeAccepted
from shared.errors import NotFound
from shared.eventstore import StoredEvent
from shared.handlers import Dependencies, Loaded

Authorize = Callable[[UnitOfWork, PledgeState], Awaitable[Role]]
Decide = Callable[[PledgeState, UnitOfWork], list[Event]]


def by_member(action: str) -> Authorize:
    """The pledge's own member acts (revise, withdraw, apply for acceptance)."""

    async def authorize(uow: UnitOfWork, state: PledgeState) -> Role:
        return member_for_self(uow.principal, state.member_id, action=action)

    return authorize


def by_committee(action: str) -> Authorize:
    """The committee of the pledge's branch records a step (agreement, publication)."""

    async def authorize(uow: UnitOfWork, state: PledgeState) -> Role:
        return committee_of(uow.principal, state.branch_id, action=action)

    return authorize


def by_judge(action: str) -> Authorize:
    """A decision on the pledge, never by its own member (``access.judge_of_pledge``): the
    roster says whether the member sits on the committee, the case the unit committee
    takes."""

    async def authorize(uow: UnitOfWork, state: PledgeState) -> Role:
        member = await uow.load(person_stream(state.member_id), evolve_person)
        unit_id = None
        if uow.principal.has(Role.UNIT_COMMITTEE):
            unit_id = (await uow.org_of_branch(state.branch_id)).unit
        return judge_of_pledge(uow.principal, state, member.state, action=action, unit_id=unit_id)

    return authorize


async def load_pledge(uow: UnitOfWork, pledge_id: str) -> tuple[Loaded[PledgeState], PledgeState]:
    pledge = await uow.load(pledge_stream(pledge_id), evolve_pledge)
    if pledge.state is None:
        raise NotFound(f"承诺“{pledge_id}”不存在")
    return pledge, pledge.state


async def append_to_pledge(
    uow: UnitOfWork, pledge: Loaded[PledgeState], events: list[Event], role: Role
) -> list[StoredEvent]:
    state = pledge.state
    assert state is not None, "append_to_pledge needs a loaded pledge"
    return await uow.append(
        pledge,
        events,
        role=role,
        org=await uow.org_of_branch(state.branch_id),
        # The stream's home branch, also after a hand-over: one pledge, one partition, so
        # every consumer reads its events in order.
        partition_key=state.home_branch_id,
        year=state.year,
    )


async def pledge_step(
    pledge_id: str,
    authorize: Authorize,
    decide: Decide,
    **deps: Unpack[Dependencies],
) -> CommandResult:
    """The shape of most pledge commands: load, authorize on the pledge, decide, append."""
    async with unit_of_work(**deps) as uow:
        pledge, state = await load_pledge(uow, pledge_id)
        role = await authorize(uow, state)
        await append_to_pledge(uow, pledge, decide(state, uow), role)
        return uow.result(pledge_id, pledge.stream)


async def link_needs(
    uow: UnitOfWork, pledge_id: str, need_ids: Iterable[str], role: Role, cause: StoredEvent
) -> None:
    for need_id in need_ids:
        need = await uow.load(need_stream(need_id), evolve_need)
        await _append_to_need(uow, need, decide_link_pledge(need.state, pledge_id), role, cause)


async def unlink_needs(
    uow: UnitOfWork, pledge_id: str, need_ids: Iterable[str], role: Role, cause: StoredEvent
) -> None:
    for need_id in need_ids:
        need = await uow.load(need_stream(need_id), evolve_need)
        await _append_to_need(uow, need, decide_unlink_pledge(need.state, pledge_id), role, cause)


async def mark_needs_solved(
    uow: UnitOfWork, accepted: PledgeAccepted, role: Role, cause: StoredEvent
) -> None:
    for need_id in accepted.need_ids:
        need = await uow.load(need_stream(need_id), evolve_need)
        await _append_to_need(uow, need, decide_mark_solved(need.state, accepted), role, cause)


async def _append_to_need(
    uow: UnitOfWork,
    need: Loaded[NeedState],
    events: list[Event],
    role: Role,
    cause: StoredEvent,
) -> None:
    state = need.state
    if not events or state is None:
        return
    await uow.append(
        need,
        events,
        role=role,
        org=await uow.org_of_branch(state.branch_id),
        partition_key=state.branch_id,
        year=state.year,
        caused_by=cause,
    )
