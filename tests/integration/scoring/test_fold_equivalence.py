"""A rebuild's fold (services/scoring/projections/fold.py) against the live projection, on
SQLite and PostgreSQL: a generated company (several units and branches, a year of pledges,
ledgers and tallies) applied live in random batches, one event at a time, and in random
interleavings of its streams, and folded in memory in other interleavings, gives identical
tables."""

from __future__ import annotations

import random
import uuid

import pytest

from bench.generate.company import generate
from services.scoring import persistence as t
from services.scoring.projections.fold import ScoringFold
from shared.contracts import Actor, Envelope, Org
from shared.db import Database
from shared.eventstore import StoredEvent
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.tables import snapshot
from tests.integration.scoring.test_projection import (
    apply_in,
    batched,
    clear,
    interleaved,
    scenario_events,
)

pytestmark = pytest.mark.integration


def company_events(seed: int = 3, scale: float = 0.003) -> list[StoredEvent]:
    """The generator's company-year as scoring receives it: public events only, per stream
    in order, with the envelopes the relay would publish."""
    sequences: dict[str, int] = {}
    out = []
    for item in generate(seed=seed, scale=scale).events:
        if item.event.private:
            continue
        sequences[item.stream] = sequences.get(item.stream, 0) + 1
        envelope = Envelope(
            event_id=uuid.uuid4(),
            type=item.event.type_name,
            version=item.event.schema_version,
            stream=item.stream,
            sequence=sequences[item.stream],
            occurred_at=item.occurred_at,
            actor=Actor(ref="bench", role="generator"),
            org=Org(unit=item.unit, branch=item.branch),
            year=item.year,
            correlation_id=uuid.uuid4(),
            data=item.event.model_dump(mode="json"),
        )
        out.append(StoredEvent(position=-1, envelope=envelope, event=item.event))
    return out


async def fold_in(db: Database, events: list[StoredEvent], rng: random.Random) -> None:
    fold = ScoringFold()
    for batch in batched(events, rng):
        fold.add(batch)
    async with db.transaction() as session:
        await fold.write(session)


async def test_the_fold_and_the_live_path_give_identical_tables_for_a_company(
    projection_db: Database,
) -> None:
    events = company_events()
    kinds = {item.envelope.type for item in events}
    assert {"MemberReviewed", "LedgerEntryRecorded", "PledgeAccepted"} <= kinds
    assert "BallotCast" not in kinds
    rng = random.Random(7)
    await apply_in(projection_db, batched(events, rng))
    live = await snapshot(projection_db)
    assert len(live[t.cards.name]) > 50 and len(live[t.branch_stats.name]) >= 3

    await clear(projection_db)
    await apply_in(projection_db, batched(interleaved(events, rng), rng))
    assert await snapshot(projection_db) == live

    for seed in (1, 2):
        await clear(projection_db)
        rng = random.Random(seed)
        order = events if seed == 1 else interleaved(events, rng)
        await fold_in(projection_db, order, rng)
        assert await snapshot(projection_db) == live


async def test_the_fold_gives_the_rows_of_one_event_per_batch(
    projection_db: Database, year: int
) -> None:
    events = scenario_events(Scenario("fold", year))
    await apply_in(projection_db, [[event] for event in events])
    one_by_one = await snapshot(projection_db)
    for seed in (5, 6):
        await clear(projection_db)
        rng = random.Random(seed)
        await fold_in(projection_db, interleaved(events, rng), rng)
        assert await snapshot(projection_db) == one_by_one


async def test_a_fold_that_fails_before_commit_leaves_the_slot_empty(
    projection_db: Database,
) -> None:
    """The bulk load (COPY on PostgreSQL, which talks to the driver directly) belongs to the
    fold's one transaction: an error before the commit leaves no row behind."""
    fold = ScoringFold()
    fold.add(company_events()[:800])
    with pytest.raises(RuntimeError, match="before commit"):
        async with projection_db.transaction() as session:
            await fold.write(session)
            raise RuntimeError("stopped before commit")
    assert all(not rows for rows in (await snapshot(projection_db)).values())
    async with projection_db.transaction() as session:
        await fold.write(session)
    assert sum(len(rows) for rows in (await snapshot(projection_db)).values()) > 100
