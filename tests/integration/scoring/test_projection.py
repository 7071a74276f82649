"""The scoring projection applied directly (as the consumer calls it) on SQLite and
PostgreSQL: hand-checked figures, amendments, and identical rows however the log is batched."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from services.scoring import persistence as t
from services.scoring.projections import apply, apply_deferred, settle
from services.scoring.projections.statistics import statistics
from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import Period
from shared.db import Database
from shared.eventstore import StoredEvent
from tests.integration.scoring.scenario import Scenario, as_stored, tallied
from tests.integration.scoring.tables import snapshot

pytestmark = pytest.mark.integration

CARD_FIELDS = ("peer", "mass", "branch_review", "composite", "band", "missing")


async def apply_in(db: Database, batches: Sequence[Sequence[StoredEvent]]) -> None:
    for batch in batches:
        async with db.transaction() as session:
            await apply(session, batch)


async def cards_of(db: Database, branch: str | None, year: int) -> dict[str, dict[str, Any]]:
    """The year's cards of the branch (of every branch when None)."""
    query = select(t.cards).where(t.cards.c.year == year)
    if branch is not None:
        query = query.where(t.cards.c.branch_id == branch)
    async with db.reading() as session:
        rows = await session.execute(query)
        return {row.member_id: {f: getattr(row, f) for f in CARD_FIELDS} for row in rows}


async def clear(db: Database) -> None:
    async with db.transaction() as session:
        for table in reversed(t.read_metadata.sorted_tables):
            await session.execute(delete(table))


def interleaved(events: list[StoredEvent], rng: random.Random) -> list[StoredEvent]:
    """Another order a rebuild could see: streams interleave differently, each in order."""
    by_stream: dict[str, list[StoredEvent]] = {}
    for item in events:
        by_stream.setdefault(item.envelope.stream, []).append(item)
    queues = [list(reversed(q)) for q in by_stream.values()]
    out = []
    while queues:
        queue = rng.choice(queues)
        out.append(queue.pop())
        if not queue:
            queues.remove(queue)
    return out


def batched(events: list[StoredEvent], rng: random.Random) -> list[list[StoredEvent]]:
    out, start = [], 0
    while start < len(events):
        size = rng.randint(1, 12)
        out.append(events[start : start + size])
        start += size
    return out


def scenario_events(scenario: Scenario) -> list[StoredEvent]:
    return as_stored(scenario.pledges_events() + scenario.review_events())


async def test_a_branch_year_gives_the_hand_checked_cards_and_statistics(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("hand", year)
    await apply_in(projection_db, [scenario_events(scenario)])

    assert await cards_of(projection_db, scenario.branch, year) == scenario.expected_cards()
    async with projection_db.reading() as session:
        stats = await statistics(session, "branch", scenario.branch, year)
        unit = await statistics(session, "unit", scenario.unit, year)
    assert stats is not None and unit is not None
    assert stats.model_dump(include={"scope_name", "branches"}) == {
        "scope_name": "采油一队党支部",
        "branches": 1,
    }
    assert observed(stats) == scenario.expected_statistics()
    assert observed(unit) == scenario.expected_statistics()


def observed(view: Any) -> dict[str, object]:
    expected_keys = Scenario("x", 2000).expected_statistics()
    data = view.model_dump(mode="json")
    data["bands"] = {b["band"]: b["count"] for b in data["bands"] if b["count"]}
    return {key: data[key] for key in expected_keys}


async def test_one_event_per_batch_and_one_batch_give_identical_rows(
    projection_db: Database, year: int
) -> None:
    events = scenario_events(Scenario("batches", year))
    await apply_in(projection_db, [[event] for event in events])
    one_by_one = await snapshot(projection_db)

    for seed in (1, 2):
        await clear(projection_db)
        rng = random.Random(seed)
        await apply_in(projection_db, batched(interleaved(events, rng), rng))
        assert await snapshot(projection_db) == one_by_one

    await clear(projection_db)
    await apply_in(projection_db, [events])
    assert await snapshot(projection_db) == one_by_one

    # A rebuild's catch-up path: facts per batch, cards and statistics derived once at the
    # end (settle), in interleaved orders and random batch sizes: the same rows again.
    for seed in (3, 4):
        await clear(projection_db)
        rng = random.Random(seed)
        for batch in batched(interleaved(events, rng), rng):
            async with projection_db.transaction() as session:
                await apply_deferred(session, batch)
        async with projection_db.reading() as session:
            assert await session.scalar(select(func.count()).select_from(t.pending)) > 0
        async with projection_db.transaction() as session:
            assert await settle(session) > 0
        assert await snapshot(projection_db) == one_by_one
        async with projection_db.transaction() as session:
            assert await settle(session) == 0


async def test_the_amended_ballot_is_what_the_tally_counts(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("amend", year)
    first = scenario.sheet(
        Period.H1, BallotRole.BRANCH, "C1", {scenario.m(1): 50, scenario.m(2): 60}
    )
    amended = scenario.sheet(Period.H1, BallotRole.BRANCH, "C1", {scenario.m(1): 70}, amended=True)
    await apply_in(
        projection_db,
        [as_stored(tallied([first, amended], members=[scenario.m(1), scenario.m(2)]))],
    )
    cards = await cards_of(projection_db, None, year)
    assert cards[scenario.m(1)]["branch_review"] == "70.00"
    # m2 lost its only score: its tally says 0 ballots, and the card names what is missing.
    assert cards[scenario.m(2)]["branch_review"] is None
    assert cards[scenario.m(2)]["missing"] == ["peer", "mass", "branch"]


async def test_individual_ballots_leave_no_trace_in_scoring(
    projection_db: Database, year: int
) -> None:
    """Ballots never reach scoring; if one did (an old topic, a forged record), it would
    change no row: scoring reads tallies only."""
    scenario = Scenario("ballots", year)
    before = await snapshot(projection_db)
    await apply_in(projection_db, [as_stored(scenario.ballot_events())])
    assert await snapshot(projection_db) == before


async def test_an_open_period_shows_on_the_card_with_no_figure(
    projection_db: Database, year: int
) -> None:
    scenario = Scenario("open", year)
    opened_and_closed = [
        item for item in scenario.review_events() if item.event.type_name != "MemberReviewed"
    ]
    opening = [item for item in opened_and_closed if item.event.type_name == "ReviewPeriodOpened"]
    await apply_in(projection_db, [as_stored(scenario.pledges_events() + opening)])
    cards = await cards_of(projection_db, scenario.branch, year)
    # Every party member on the roster: m4 never acts, m5 is exempt.
    assert set(cards) == {scenario.m(n) for n in range(1, 6)}
    async with projection_db.reading() as session:
        result = await session.scalar(
            select(t.cards.c.result).where(t.cards.c.member_id == scenario.m(1))
        )
    assert result is not None
    card = json.loads(result)
    statuses = {
        p["status"] for review in ("peer", "mass", "branch") for p in card[review]["periods"]
    }
    assert statuses == {"open"}
    assert all(
        p["ballots"] is None and p["result"] is None
        for review in ("peer", "mass", "branch")
        for p in card[review]["periods"]
    )
