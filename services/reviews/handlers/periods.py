"""Opening review periods (idempotently, with an ``Idempotency-Key``), adjusting their
window, closing them, closing them once their deadline has passed, and destroying their
keys once their results are final.

Closing a period tallies it in the same transaction: one ``MemberReviewed`` per member in its
scope (and per member anyone rated in it), on a stream per branch. The period's figures
exist from that moment and never change; before it there are none to read (sealed).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Unpack

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.commands import AdjustPeriodWindow, CloseReviewPeriod, OpenReviewPeriod
from services.reviews.domain import (
    ReviewPeriodState,
    decide_adjust_window,
    decide_close_due,
    decide_close_period,
    decide_open_period,
    evolve_period,
    period_stream,
    scope_covers,
)
from services.reviews.domain.tally import tally_member, tally_stream
from services.reviews.handlers import access, cache
from services.reviews.handlers.base import CommandResult, UnitOfWork, transaction, unit_of_work
from services.reviews.projections import queries
from shared.contracts import Actor, Event, Org
from shared.contracts.reviews import ReviewScope
from shared.db import Database
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from shared.handlers import Dependencies, Loaded
from shared.idempotency import IdempotencyKey, Replay, remember, replayed

log = logging.getLogger(__name__)

KEY_BYTES = 32
CREATED = 201
# Closing by deadline is nobody's act; the envelope says so instead of naming a person.
SCHEDULER = Actor(ref="reviews-scheduler", role="system")


def _home(scope: ReviewScope) -> str:
    """The period stream's partition key: its branch, else its unit, else the company."""
    return scope.branch_id or scope.unit_id or "company"


def _org(scope: ReviewScope) -> Org:
    return Org(unit=scope.unit_id, branch=scope.branch_id)


async def open_period(
    command: OpenReviewPeriod,
    *,
    idempotency: IdempotencyKey | None = None,
    **deps: Unpack[Dependencies],
) -> Replay[CommandResult]:
    """Open the period; with ``idempotency``, a retry of the same request answers the first
    answer (status and body) and records nothing."""
    principal = deps["principal"]
    authority = access.organizer(principal)
    async with transaction(deps) as uow:
        previous = await replayed(
            uow.session,
            t.idempotency_keys,
            principal=principal.person_id,
            key=idempotency,
            answer=CommandResult,
        )
        if previous is not None:
            return previous
        await _serialize_slot(uow.session, command)
        period = await uow.load(period_stream(command.period_id), evolve_period)
        scope = await queries.scope(uow.session, command.scope_level, command.scope_id)
        same_slot = await queries.periods(
            uow.session, kind=command.kind, period_=command.period, year=command.year
        )
        events = decide_open_period(
            period.state,
            command,
            authority=authority,
            scope=scope,
            same_review_periods=same_slot,
            now=uow.now,
        )
        assert scope is not None, "the decision refuses an unknown scope"
        await uow.record(
            period,
            events,
            actor=Actor(
                ref=principal.person_id, role=access.organizer_role(principal, scope).value
            ),
            org=_org(scope),
            partition_key=_home(scope),
            year=command.year,
        )
        # A fresh key per period: pseudonyms of different periods cannot be matched up.
        await uow.session.execute(
            insert(t.period_keys).values(
                period_id=command.period_id, key=secrets.token_bytes(KEY_BYTES)
            )
        )
        result = CommandResult(id=command.period_id, events=[e.type_name for e in events])
        await remember(
            uow.session,
            t.idempotency_keys,
            principal=principal.person_id,
            key=idempotency,
            status_code=CREATED,
            answer=result,
            now=uow.now,
        )
        return Replay(status_code=CREATED, body=result)


async def adjust_window(command: AdjustPeriodWindow, **deps: Unpack[Dependencies]) -> CommandResult:
    principal = deps["principal"]
    authority = access.organizer(principal)
    async with transaction(deps) as uow:
        period = await uow.load(period_stream(command.period_id), evolve_period)
        events = decide_adjust_window(period.state, command, authority=authority)
        if events:
            state = _existing(period.state)
            await uow.record(
                period,
                events,
                actor=Actor(
                    ref=principal.person_id,
                    role=access.organizer_role(principal, state.scope).value,
                ),
                org=_org(state.scope),
                partition_key=_home(state.scope),
                year=state.year,
            )
    return CommandResult(id=command.period_id, events=[e.type_name for e in events])


async def close_period(command: CloseReviewPeriod, **deps: Unpack[Dependencies]) -> CommandResult:
    principal = deps["principal"]
    authority = access.organizer(principal)
    async with transaction(deps) as uow:
        period = await uow.load(period_stream(command.period_id), evolve_period)
        events = decide_close_period(period.state, command, authority=authority)
        if events:
            state = _existing(period.state)
            actor = Actor(
                ref=principal.person_id, role=access.organizer_role(principal, state.scope).value
            )
            await uow.record(
                period,
                events,
                actor=actor,
                org=_org(state.scope),
                partition_key=_home(state.scope),
                year=state.year,
            )
            await _record_tallies(uow, period.after(events), actor=actor)
    cache.for_database(deps["db"]).forget_keys([command.period_id])
    return CommandResult(id=command.period_id, events=[e.type_name for e in events])


async def close_due_periods(
    *,
    db: Database,
    store: EventStore,
    now: datetime,
    wake: Callable[[], None] | None = None,
) -> list[str]:
    """Close every open period whose deadline has passed, each in its own transaction; the
    ids closed. A period its organizer closes at the same moment is left to them."""
    async with db.reading() as session:
        candidates = [
            p.period_id
            for p in await queries.periods(session, open_only=True)
            if p.deadline is not None and p.deadline <= now
        ]
    closed: list[str] = []
    for period_id in candidates:
        try:
            async with unit_of_work(db=db, store=store, now=now, wake=wake) as uow:
                period = await uow.load(period_stream(period_id), evolve_period)
                events = decide_close_due(period.state, uow.now)
                if events:
                    state = _existing(period.state)
                    await uow.record(
                        period,
                        events,
                        actor=SCHEDULER,
                        org=_org(state.scope),
                        partition_key=_home(state.scope),
                        year=state.year,
                    )
                    await _record_tallies(uow, period.after(events), actor=SCHEDULER)
                    closed.append(period_id)
        except ConcurrencyError:
            log.info("period %s was closed concurrently; nothing to do", period_id)
    cache.for_database(db).forget_keys(candidates)
    return closed


async def _record_tallies(
    uow: UnitOfWork, period: Loaded[ReviewPeriodState], *, actor: Actor
) -> None:
    """The closed period's tallies: every party member it reviews (those in its scope, each
    in the branch they belonged to when it opened), and anyone its ballots rated (a member
    who has since left keeps the result they were given)."""
    state = _existing(period.state)
    session = uow.session
    policy = await queries.policy(session, state.year)
    members = await queries.members_in_scope(session, state.scope)
    moves = await queries.period_moves(session, state.period_id)
    if moves:
        # A member who moved while it was open: tallied in the branch at its opening, if the
        # period covers that branch, and not in it at all otherwise (they arrived later).
        entries = await queries.roster_entries(session, moves)
        units = await queries.branch_units(session, moves.values())
        for member_id, branch_id in moves.items():
            entry = entries.get(member_id)
            members.pop(member_id, None)
            if (
                entry is not None
                and entry.membership.is_party_member
                and not entry.departed
                and scope_covers(state.scope, unit_id=units.get(branch_id, ""), branch_id=branch_id)
            ):
                members[member_id] = branch_id
    scores = await queries.period_scores(session, state.period_id)
    branches: dict[str, list[str]] = defaultdict(list)
    for member_id in sorted({*members, *scores}):
        branch_id = members.get(member_id) or scores[member_id][0]
        branches[branch_id].append(member_id)
    units = await queries.branch_units(session, branches)
    for branch_id, member_ids in sorted(branches.items()):
        tallied = [
            tally_member(
                state,
                member_id=member_id,
                branch_id=branch_id,
                scores=scores[member_id][1] if member_id in scores else {},
                policy_id=policy.policy_id,
                policy=policy.scoring,
            )
            for member_id in member_ids
        ]
        stream = await uow.load(tally_stream(state.period_id, branch_id), _no_state)
        await uow.record(
            stream,
            tallied,
            actor=actor,
            org=Org(unit=units.get(branch_id), branch=branch_id),
            partition_key=branch_id,
            year=state.year,
        )


def _no_state(state: None, event: Event) -> None:
    """A tally stream is written once, when its period closes; nothing is decided from it."""


async def destroy_expired_keys(
    *,
    db: Database,
    now: datetime,
    retention: timedelta,
) -> list[str]:
    """Delete the key of every period closed at least ``retention`` ago; the ids affected.

    Without the key a pseudonym can no longer be recomputed from a person's id, so nobody
    (this service, a database administrator, a backup holder) can tell whose ballot is whose.
    The period's receipts are rewritten in hash order in the same transaction, so not even
    their physical order hints at which ballot came first."""
    destroyed: list[str] = []
    async with db.transaction() as session:
        for state, closed_at in await queries.keys_to_destroy(session, now - retention):
            await session.execute(
                delete(t.period_keys).where(t.period_keys.c.period_id == state.period_id)
            )
            receipts = sorted(
                await session.scalars(
                    select(t.receipts.c.receipt_hash).where(
                        t.receipts.c.period_id == state.period_id
                    )
                )
            )
            await session.execute(
                delete(t.receipts).where(t.receipts.c.period_id == state.period_id)
            )
            if receipts:
                await session.execute(
                    insert(t.receipts),
                    [{"period_id": state.period_id, "receipt_hash": h} for h in receipts],
                )
            # When each ballot was last changed would still order the sheets in time.
            await session.execute(
                update(t.ballot_sheets)
                .where(t.ballot_sheets.c.period_id == state.period_id)
                .values(updated_at=closed_at, amendments=0)
            )
            await session.execute(
                update(t.periods)
                .where(t.periods.c.period_id == state.period_id)
                .values(key_destroyed_at=now)
            )
            destroyed.append(state.period_id)
    cache.for_database(db).forget_keys(destroyed)
    for period_id in destroyed:
        log.info("destroyed the key of review period %s", period_id)
    return destroyed


async def _serialize_slot(session: AsyncSession, command: OpenReviewPeriod) -> None:
    """Two overlapping periods opened at once under different ids would each see no other.
    On PostgreSQL a transaction lock per (review, period, year) makes the second wait and
    then see the first; SQLite writers are serial already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    slot = f"suxing/reviews/{command.kind.value}/{command.period.value}/{command.year}"
    lock_id = int.from_bytes(hashlib.sha256(slot.encode()).digest()[:8], "big", signed=True)
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _existing(state: ReviewPeriodState | None) -> ReviewPeriodState:
    assert state is not None, "the decision refuses a period that does not exist"
    return state
