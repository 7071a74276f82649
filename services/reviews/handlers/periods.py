"""Opening and closing review periods, and closing them once their deadline has passed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Unpack

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.commands import CloseReviewPeriod, OpenReviewPeriod
from services.reviews.domain import (
    ReviewPeriodState,
    decide_close_due,
    decide_close_period,
    decide_open_period,
    evolve_period,
    period_stream,
)
from services.reviews.handlers import access
from services.reviews.handlers.base import CommandResult, transaction, unit_of_work
from services.reviews.projections import queries
from shared.contracts import Actor, Org
from shared.contracts.reviews import ReviewScope
from shared.db import Database
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore
from shared.handlers import Dependencies

log = logging.getLogger(__name__)

KEY_BYTES = 32
# Closing by deadline is nobody's act; the envelope says so instead of naming a person.
SCHEDULER = Actor(ref="reviews-scheduler", role="system")


def _home(scope: ReviewScope) -> str:
    """The period stream's partition key: its branch, else its unit, else the company."""
    return scope.branch_id or scope.unit_id or "company"


def _org(scope: ReviewScope) -> Org:
    return Org(unit=scope.unit_id, branch=scope.branch_id)


async def open_period(command: OpenReviewPeriod, **deps: Unpack[Dependencies]) -> CommandResult:
    principal = deps["principal"]
    authority, role = access.organizer(principal)
    async with transaction(deps) as uow:
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
            actor=Actor(ref=principal.person_id, role=role.value),
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
        return CommandResult(id=command.period_id, events=[e.type_name for e in events])


async def close_period(command: CloseReviewPeriod, **deps: Unpack[Dependencies]) -> CommandResult:
    principal = deps["principal"]
    authority, role = access.organizer(principal)
    async with transaction(deps) as uow:
        period = await uow.load(period_stream(command.period_id), evolve_period)
        events = decide_close_period(period.state, command, authority=authority)
        if events:
            state = _existing(period.state)
            await uow.record(
                period,
                events,
                actor=Actor(ref=principal.person_id, role=role.value),
                org=_org(state.scope),
                partition_key=_home(state.scope),
                year=state.year,
            )
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
                    closed.append(period_id)
        except ConcurrencyError:
            log.info("period %s was closed concurrently; nothing to do", period_id)
    return closed


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
