"""Roster-based cards and exemptions in the scoring projection (docs/scoring.md, "Which cards
exist" and "Exemptions"), on SQLite and PostgreSQL: who has a card for a year, the exempt
member counted apart, and the same rows live (any batching or interleaving), deferred and
folded."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from services.scoring import persistence as t
from services.scoring.projections import apply_deferred, settle
from services.scoring.projections.statistics import statistics
from shared.contracts import Event
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


def _person(scenario: Scenario, person: str, name: str) -> Planned:
    event = pl.PersonRegistered(
        person_id=person,
        name=name,
        branch_id=scenario.branch,
        membership=pl.Membership.FULL_MEMBER,
        post=None,
    )
    return Planned(
        f"person-{person}", scenario.branch, event, "pledges", scenario.branch, scenario.unit
    )


def _on_person(scenario: Scenario, person: str, event: Event) -> Planned:
    return Planned(
        f"person-{person}", scenario.branch, event, "pledges", scenario.branch, scenario.unit
    )


def edges(scenario: Scenario) -> list[StoredEvent]:
    """Around the scenario's branch-year: m6 registered only after the year ended (no card),
    m7 left the year before (no card), m8 left during the year (a card, on the roster)."""
    y = scenario.year
    late = as_stored([_person(scenario, scenario.m(6), "孙丽")])
    late = [
        replace(
            item,
            envelope=item.envelope.model_copy(
                # 1 January in Beijing, still 31 December in UTC: registered after the year.
                update={"occurred_at": datetime(y, 12, 31, 16, 30, tzinfo=UTC)}
            ),
        )
        for item in late
    ]
    left = [
        _person(scenario, scenario.m(7), "周敏"),
        _on_person(
            scenario,
            scenario.m(7),
            pl.PersonDeparted(
                person_id=scenario.m(7),
                branch_id=scenario.branch,
                departed_on=date(y - 1, 12, 31),
                reason="调离",
            ),
        ),
        _person(scenario, scenario.m(8), "吴敏"),
        _on_person(
            scenario,
            scenario.m(8),
            pl.PersonDeparted(
                person_id=scenario.m(8),
                branch_id=scenario.branch,
                departed_on=date(y, 6, 30),
                reason="退休",
            ),
        ),
    ]
    return late + as_stored(left)


async def test_every_member_on_the_roster_of_a_review_year_has_a_card(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("roster", year)
    await apply_in(projection_db, [scenario_events(scenario) + edges(scenario)])
    cards = await cards_of(projection_db, scenario.branch, year)
    assert set(cards) == {scenario.m(n) for n in (1, 2, 3, 4, 5, 8)}
    assert cards[scenario.m(4)]["missing"] == ["peer", "mass", "branch"]
    assert cards[scenario.m(8)]["missing"] == ["peer", "mass", "branch"]
    async with projection_db.reading() as session:
        exempt = (
            await session.execute(
                select(t.cards.c.exempt, t.cards.c.composite, t.cards.c.on_roster).where(
                    t.cards.c.member_id == scenario.m(5), t.cards.c.year == year
                )
            )
        ).one()
        stats = await statistics(session, "branch", scenario.branch, year)
        # The employees never have a card, nor does anyone in a year the branch did not
        # review (the year before: no period, no activity).
        assert not (await cards_of(projection_db, None, year - 1)).keys() & {
            scenario.m(n) for n in range(1, 9)
        }
    assert tuple(exempt) == ("retired", None, True)
    assert stats is not None
    assert (stats.members, stats.cards, stats.exempt) == (6, 6, 1)
    # Exempt m5 (rated 40/40/40) is in no rate: 16 of 17 as without the exemption's member.
    assert (stats.mass_satisfied, stats.mass_total) == (16, 17)
    assert str(stats.satisfaction_rate) == "94.12"
    assert stats.without_composite == 3  # m3, m4 and m8; not m5


async def test_a_revoked_exemption_makes_the_member_reviewed_again(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("revoked", year)
    revoke = _on_person(
        scenario,
        scenario.m(5),
        pl.MemberExemptionRevoked(
            member_id=scenario.m(5), branch_id=scenario.branch, year=year, reason="登记有误"
        ),
    )
    await apply_in(projection_db, [scenario_events(scenario), as_stored([revoke])])
    cards = await cards_of(projection_db, scenario.branch, year)
    assert cards[scenario.m(5)]["missing"] == ["peer", "branch"]
    async with projection_db.reading() as session:
        stats = await statistics(session, "branch", scenario.branch, year)
    assert stats is not None
    assert (stats.members, stats.cards, stats.exempt, stats.without_composite) == (5, 5, 0, 3)
    # m5's three scores of 40 count again: 16 satisfied of 20.
    assert (stats.mass_satisfied, stats.mass_total) == (16, 20)


async def test_a_departure_before_the_year_recorded_late_removes_the_roster_card(
    projection_db: Database, year: int
) -> None:
    """Live, m4's card exists once the year is one of the branch's; the departure recorded
    afterwards (dated before the year) ends it: the rows equal those of a log where it came
    first."""
    scenario = Scenario("gone", year)
    departure = _on_person(
        scenario,
        scenario.m(4),
        pl.PersonDeparted(
            person_id=scenario.m(4),
            branch_id=scenario.branch,
            departed_on=date(year - 1, 11, 30),
            reason=None,
        ),
    )
    events = scenario_events(scenario)
    await apply_in(projection_db, [events])
    assert scenario.m(4) in await cards_of(projection_db, scenario.branch, year)
    await apply_in(projection_db, [as_stored([departure])])
    assert scenario.m(4) not in await cards_of(projection_db, scenario.branch, year)
    live = await snapshot(projection_db)

    await clear(projection_db)
    rng = random.Random(11)
    await fold_in(projection_db, interleaved(events + as_stored([departure]), rng), rng)
    assert await snapshot(projection_db) == live


async def test_live_batches_deferred_and_fold_give_identical_rows_with_roster_cards(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("rosterfold", year)
    events = scenario_events(scenario) + edges(scenario)
    await apply_in(projection_db, [[event] for event in events])
    one_by_one = await snapshot(projection_db)
    assert len([r for r in one_by_one[t.cards.name] if r[1] == year]) == 6
    for seed in (21, 22):
        await clear(projection_db)
        rng = random.Random(seed)
        await apply_in(projection_db, batched(interleaved(events, rng), rng))
        assert await snapshot(projection_db) == one_by_one
    await clear(projection_db)
    rng = random.Random(23)
    for batch in batched(interleaved(events, rng), rng):
        async with projection_db.transaction() as session:
            await apply_deferred(session, batch)
    async with projection_db.transaction() as session:
        await settle(session)
    assert await snapshot(projection_db) == one_by_one
    for seed in (24, 25):
        await clear(projection_db)
        rng = random.Random(seed)
        await fold_in(projection_db, interleaved(events, rng), rng)
        assert await snapshot(projection_db) == one_by_one
