"""Adopting the scoring policy of a year, and reading the one in force."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Unpack

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import domain
from services.scoring.commands import AdoptScoringPolicy
from services.scoring.domain import (
    AdoptedPolicy,
    PolicyYear,
    evolve_policy_year,
    policy_in_force,
    policy_stream,
)
from services.scoring.handlers.access import policy_maker
from services.scoring.handlers.base import COMPANY_KEY, unit_of_work
from services.scoring.projections.queries import tallied_periods
from shared.contracts import Org
from shared.contracts.scoring import YearResultsFinalized
from shared.db import Database
from shared.eventstore import EventStore
from shared.eventstore.tables import events
from shared.handlers import CommandResult, Dependencies, Loaded, load_stream


async def load_policy_year(
    session: AsyncSession, store: EventStore, year: int
) -> Loaded[PolicyYear]:
    """The policy stream of ``year``, with the year's finalized branches folded in (a policy
    may not change under final results); the version is the policy stream's own."""
    loaded: Loaded[PolicyYear] = await load_stream(
        session, store, policy_stream(year), evolve_policy_year
    )
    state = loaded.state
    rows = await session.execute(
        select(events.c.type, events.c.version, events.c.data)
        .where(events.c.type == YearResultsFinalized.type_name, events.c.year == year)
        .order_by(events.c.position)
    )
    for type_name, version, data in rows:
        event = store.registry.decode(type_name, version, json.loads(data))
        if isinstance(event, YearResultsFinalized) and event.year == year:
            state = evolve_policy_year(state, event)
    return replace(loaded, state=state)


async def policy_of_year(session: AsyncSession, store: EventStore, year: int) -> AdoptedPolicy:
    return policy_in_force((await load_policy_year(session, store, year)).state)


async def adopt_policy(command: AdoptScoringPolicy, **deps: Unpack[Dependencies]) -> CommandResult:
    role = policy_maker(deps["principal"])
    async with unit_of_work(**deps) as uow:
        loaded = await load_policy_year(uow.session, uow.store, command.year)
        async with uow.reading() as session:
            tallied = await tallied_periods(session, command.year)
        event = domain.adopt_policy(loaded.state, command, tallied_periods=tallied)
        await uow.append(
            loaded, [event], role=role, org=Org(), partition_key=COMPANY_KEY, year=command.year
        )
        return uow.result(f"{command.year}", loaded)


async def read_policy(year: int, *, db: Database, store: EventStore) -> AdoptedPolicy:
    async with db.reading() as session:
        return await policy_of_year(session, store, year)
