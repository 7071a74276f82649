"""Transfers through time in the scoring projection (DOMAIN.md section 5, docs/annual-cycle.md),
on SQLite and PostgreSQL: a card belongs to the branch the member was in at the end of its
year. A transfer in the next year moves nothing of the year (the old branch's cards and
statistics stay as they were); a transfer during the year gives that year's card to the new
branch. Live, in any batching, and folded, the rows are the same."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.scoring import persistence as t
from shared.contracts import pledges as pl
from shared.db import Database
from shared.eventstore import StoredEvent
from tests.integration.scoring.scenario import Planned, Scenario, as_stored
from tests.integration.scoring.tables import snapshot
from tests.integration.scoring.test_fold_equivalence import fold_in
from tests.integration.scoring.test_projection import (
    apply_in,
    batched,
    cards_of,
    clear,
    interleaved,
    scenario_events,
)

pytestmark = pytest.mark.integration


def _new_branch(scenario: Scenario) -> list[StoredEvent]:
    branch = f"{scenario.branch}-new"
    event = pl.BranchRegistered(branch_id=branch, unit_id=scenario.unit, name="新队党支部")
    return as_stored([Planned(f"branch-{branch}", branch, event, "pledges", branch, scenario.unit)])


def _transfer(scenario: Scenario, person: str, on: datetime) -> list[StoredEvent]:
    event = pl.PersonTransferred(
        person_id=person, from_branch_id=scenario.branch, to_branch_id=f"{scenario.branch}-new"
    )
    planned = Planned(
        f"person-{person}", scenario.branch, event, "pledges", scenario.branch, scenario.unit
    )
    return [
        replace(item, envelope=item.envelope.model_copy(update={"occurred_at": on}))
        for item in as_stored([planned])
    ]


async def _branches(db: Database, year: int) -> dict[str, str]:
    """Each card of the year: member -> branch."""
    async with db.reading() as session:
        rows = await session.execute(
            select(t.cards.c.member_id, t.cards.c.branch_id).where(t.cards.c.year == year)
        )
        return {member: branch for member, branch in rows}


async def _branch_stats(db: Database, branch: str, year: int) -> tuple[object, ...] | None:
    async with db.reading() as session:
        row = (
            await session.execute(
                select(t.branch_stats).where(
                    t.branch_stats.c.branch_id == branch, t.branch_stats.c.year == year
                )
            )
        ).first()
    return None if row is None else tuple(row)


async def test_a_transfer_the_next_year_moves_nothing_of_the_year(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("xnext", year)
    events = scenario_events(scenario) + _new_branch(scenario)
    await apply_in(projection_db, [events])
    cards_before = await cards_of(projection_db, None, year)
    stats_before = await _branch_stats(projection_db, scenario.branch, year)
    assert (await _branches(projection_db, year))[scenario.m(1)] == scenario.branch

    # 15 June of the next year (Beijing).
    moved = _transfer(scenario, scenario.m(1), datetime(year + 1, 6, 15, 2, tzinfo=UTC))
    await apply_in(projection_db, [moved])
    assert await cards_of(projection_db, None, year) == cards_before
    assert (await _branches(projection_db, year))[scenario.m(1)] == scenario.branch
    assert await _branch_stats(projection_db, scenario.branch, year) == stats_before
    assert await _branch_stats(projection_db, f"{scenario.branch}-new", year) is None
    live = await snapshot(projection_db)

    for seed in (31, 32):
        await clear(projection_db)
        rng = random.Random(seed)
        await apply_in(projection_db, batched(interleaved(events + moved, rng), rng))
        assert await snapshot(projection_db) == live, seed
        await clear(projection_db)
        await fold_in(projection_db, interleaved(events + moved, rng), rng)
        assert await snapshot(projection_db) == live, seed


async def test_a_transfer_during_the_year_gives_its_card_to_the_new_branch(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("xmid", year)
    events = scenario_events(scenario) + _new_branch(scenario)
    await apply_in(projection_db, [events])
    old_members = (await _branch_stats(projection_db, scenario.branch, year) or ())[2]

    # 15 June of the year: on 31 December the member is the new branch's.
    moved = _transfer(scenario, scenario.m(1), datetime(year, 6, 15, 2, tzinfo=UTC))
    await apply_in(projection_db, [moved])
    assert (await _branches(projection_db, year))[scenario.m(1)] == f"{scenario.branch}-new"
    assert scenario.m(1) not in await cards_of(projection_db, scenario.branch, year)
    new = await _branch_stats(projection_db, f"{scenario.branch}-new", year)
    old = await _branch_stats(projection_db, scenario.branch, year)
    assert new is not None and old is not None
    columns = [c.name for c in t.branch_stats.columns]
    members = columns.index("members")
    assert (old[members], new[members]) == (old_members - 1, 1)  # type: ignore[operator]
    live = await snapshot(projection_db)

    rng = random.Random(33)
    await clear(projection_db)
    await apply_in(projection_db, batched(interleaved(events + moved, rng), rng))
    assert await snapshot(projection_db) == live
    await clear(projection_db)
    await fold_in(projection_db, interleaved(events + moved, rng), rng)
    assert await snapshot(projection_db) == live
