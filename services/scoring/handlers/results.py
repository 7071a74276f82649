"""Publication of a branch's results, objections, decisions and finalization."""

from __future__ import annotations

from typing import Unpack

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import domain
from services.scoring.commands import (
    DecideObjection,
    FinalizeYearResults,
    PublishBranchResults,
    RaiseObjection,
)
from services.scoring.domain import (
    BranchResults,
    BranchResultsEvent,
    branch_results_stream,
    evolve_branch_results,
    finalize_results,
    member_composite,
)
from services.scoring.handlers.access import (
    committee_of,
    due_checker,
    finalizer_of,
    objection_judge,
    objector,
)
from services.scoring.handlers.base import UnitOfWork, unit_of_work
from services.scoring.handlers.policy import policy_of_year
from services.scoring.persistence import cards
from services.scoring.projections.queries import (
    branch_info,
    card_results_of_branch,
    open_periods_of_branch,
)
from shared.auth import Role
from shared.db import Database
from shared.errors import Conflict, DomainError
from shared.eventstore import EventStore
from shared.eventstore.tables import events, streams
from shared.handlers import CommandResult, Dependencies, Loaded, load_stream

STREAM_PREFIX = "branch-results-"


async def _load(uow: UnitOfWork, branch_id: str, year: int) -> Loaded[BranchResults]:
    return await uow.load(branch_results_stream(branch_id, year), evolve_branch_results)


async def _record(
    uow: UnitOfWork,
    loaded: Loaded[BranchResults],
    event: BranchResultsEvent,
    *,
    role: Role,
    branch_id: str,
    year: int,
) -> CommandResult:
    org = await uow.org_of_branch(branch_id)
    await uow.append(loaded, [event], role=role, org=org, partition_key=branch_id, year=year)
    return uow.result(loaded.stream, loaded)


async def publish_results(branch_id: str, year: int, **deps: Unpack[Dependencies]) -> CommandResult:
    """Publish the branch's cards as they stand now, under the policy in force."""
    role = committee_of(deps["principal"], branch_id, action="公示本支部的评议结果")
    async with unit_of_work(**deps) as uow:
        policy = await policy_of_year(uow.session, uow.store, year)
        async with uow.reading() as session:
            still_open = await open_periods_of_branch(session, branch_id, year)
            cards = await card_results_of_branch(session, branch_id, year)
        if still_open:
            raise Conflict(
                f"本支部{year}年度还有评议期没有结束：{'、'.join(still_open)}。"
                "评议结果在评议期结束前是保密的，请全部结束后再公示"
            )
        if not cards:
            raise Conflict(f"本支部{year}年度还没有党员积分卡，暂不能公示")
        # The cards name the policy they were computed under; the domain refuses a mix with
        # the policy in force (the projection has not caught up with a newer policy yet).
        stale = sorted({card.policy_id for _, card in cards} - {policy.policy_id})
        command = PublishBranchResults(
            branch_id=branch_id,
            year=year,
            policy_id=stale[0] if stale else policy.policy_id,
            results=tuple(member_composite(member, card) for member, card in cards),
        )
        loaded = await _load(uow, branch_id, year)
        event = domain.publish_results(loaded.state, command, policy=policy, now=uow.now)
        return await _record(uow, loaded, event, role=role, branch_id=branch_id, year=year)


async def raise_objection(command: RaiseObjection, **deps: Unpack[Dependencies]) -> CommandResult:
    """``command.raised_by`` is the caller; the domain refuses an objection for someone else."""
    role = objector(deps["principal"])
    async with unit_of_work(**deps) as uow:
        loaded = await _load(uow, command.branch_id, command.year)
        event = domain.raise_objection(loaded.state, command, now=uow.now)
        result = await _record(
            uow, loaded, event, role=role, branch_id=command.branch_id, year=command.year
        )
        return result.model_copy(update={"id": command.objection_id})


async def decide_objection(command: DecideObjection, **deps: Unpack[Dependencies]) -> CommandResult:
    principal = deps["principal"]
    async with unit_of_work(**deps) as uow:
        async with uow.reading() as session:
            info = await branch_info(session, command.branch_id)
        role = objection_judge(principal, command.branch_id, info["unit_id"] if info else None)
        loaded = await _load(uow, command.branch_id, command.year)
        event = domain.decide_objection(loaded.state, command, decided_by=principal.person_id)
        return await _record(
            uow, loaded, event, role=role, branch_id=command.branch_id, year=command.year
        )


async def finalize(branch_id: str, year: int, **deps: Unpack[Dependencies]) -> CommandResult:
    role = finalizer_of(deps["principal"], branch_id)
    command = FinalizeYearResults(branch_id=branch_id, year=year)
    async with unit_of_work(**deps) as uow:
        loaded = await _load(uow, branch_id, year)
        event = finalize_results(loaded.state, command, now=uow.now)
        return await _record(uow, loaded, event, role=role, branch_id=branch_id, year=year)


class Pending(BaseModel):
    model_config = ConfigDict(frozen=True)

    branch_id: str
    year: int
    reason: str


class FinalizeReport(BaseModel):
    """What the due check did: publications finalized now, and those still waiting."""

    model_config = ConfigDict(frozen=True)

    finalized: list[CommandResult]
    waiting: list[Pending]


async def finalize_due(**deps: Unpack[Dependencies]) -> FinalizeReport:
    """Finalize every publication whose notice window has closed with nothing undecided;
    each in its own transaction, so one refusal does not hold the others back."""
    due_checker(deps["principal"])
    db, store = deps["db"], deps["store"]
    async with db.reading() as session:
        names = (
            await session.scalars(
                select(streams.c.stream)
                .where(streams.c.stream.startswith(STREAM_PREFIX, autoescape=True))
                .order_by(streams.c.stream)
            )
        ).all()
        states = [
            (await load_stream(session, store, name, evolve_branch_results)).state for name in names
        ]
    finalized: list[CommandResult] = []
    waiting: list[Pending] = []
    for state in states:
        if state is None or state.finalized:
            continue
        try:
            finalized.append(await finalize(state.branch_id, state.year, **deps))
        except DomainError as refusal:
            waiting.append(
                Pending(branch_id=state.branch_id, year=state.year, reason=refusal.message)
            )
    return FinalizeReport(finalized=finalized, waiting=waiting)


async def read_publication(
    branch_id: str, year: int, *, db: Database, store: EventStore
) -> BranchResults | None:
    async with db.reading() as session:
        loaded = await load_stream(
            session, store, branch_results_stream(branch_id, year), evolve_branch_results
        )
        return loaded.state


class ReviewYear(BaseModel):
    """Which year a page about reviews and results shows by default: the year before until
    its results are final (so in January the portal shows last year's open work), else the
    calendar year of Beijing time."""

    model_config = ConfigDict(frozen=True)

    year: int
    calendar_year: int
    pending_branches: int
    reason: str


async def review_year(
    branch_id: str | None, calendar_year: int, *, db: Database, read: AsyncSession
) -> ReviewYear:
    """Last year is still the review year while a branch (this one, or any when ``branch_id``
    is None) has cards for it and no ``YearResultsFinalized``. Two small queries: the branches
    with last year's cards (read model), the branches whose year was finalized (event store)."""
    last = calendar_year - 1
    carded = select(cards.c.branch_id).where(cards.c.year == last).distinct()
    final = (
        select(events.c.branch_id)
        .where(events.c.type == "YearResultsFinalized", events.c.year == last)
        .distinct()
    )
    if branch_id is not None:
        carded = carded.where(cards.c.branch_id == branch_id)
        final = final.where(events.c.branch_id == branch_id)
    with_cards = set((await read.scalars(carded)).all())
    async with db.reading() as session:
        finalized = set((await session.scalars(final)).all())
    pending = len(with_cards - finalized)
    if pending:
        where = "本支部" if branch_id is not None else f"{pending}个党支部"
        reason = f"{last}年度{where}的评议结果尚未定稿"
        return ReviewYear(
            year=last, calendar_year=calendar_year, pending_branches=pending, reason=reason
        )
    reason = f"{last}年度的评议结果已全部定稿" if with_cards else f"{last}年度没有积分卡"
    return ReviewYear(
        year=calendar_year, calendar_year=calendar_year, pending_branches=0, reason=reason
    )
