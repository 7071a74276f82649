"""A rebuild's fold (services/scoring/projections/fold.py) against the live projection, on
SQLite and PostgreSQL: a generated company (several units and branches, a year of pledges,
ledgers and tallies) applied live in random batches, one event at a time, and in random
interleavings of its streams, and folded in memory in other interleavings, gives identical
tables."""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from bench.generate.published import published
from services.scoring import persistence as t
from services.scoring.app import READ_MODEL
from services.scoring.projections import apply_deferred, settle
from services.scoring.projections.fold import ScoringFold
from shared.contracts import REGISTRY, Envelope
from shared.contracts import pledges as pl
from shared.contracts.reviews import ReviewPeriodOpened, ReviewScope, ScopeLevel
from shared.contracts.scoring import SEED_POLICY, ReviewWeights, ScoringPolicyAdopted
from shared.db import Database
from shared.eventstore import StoredEvent, kernel_metadata
from shared.eventstore.tables import consumer_streams, dead_letters
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.readmodel.fold import FoldConflict
from shared.readmodel.rebuild import Rebuild, RebuildReport
from shared.readmodel.slots import ReadModel
from tests.conftest import PgDatabases
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.tables import Snapshot, snapshot
from tests.integration.scoring.test_projection import (
    apply_in,
    batched,
    clear,
    interleaved,
    scenario_events,
)
from tests.support.kafka import create_topics

pytestmark = pytest.mark.integration


def company_events(seed: int = 3, scale: float = 0.003) -> list[StoredEvent]:
    """The generator's company-year as scoring receives it (bench/generate/published.py)."""
    return [
        StoredEvent(position=-1, envelope=envelope, event=event)
        for envelope, event in published(seed, scale)
    ]


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


async def produce(
    bootstrap: str, topic: str, events: list[StoredEvent], extra: list[bytes]
) -> None:
    """The events as the relay publishes them (key = the home branch, so the topic's
    partitions split the company by branch), then ``extra`` raw values."""
    await create_topics(bootstrap, topic, partitions=4)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for item in events:
            envelope = item.envelope
            assert isinstance(envelope, Envelope)
            key = (envelope.org.branch or envelope.org.unit or "company").encode()
            await producer.send(topic, envelope.to_json(), key=key)
        for value in extra:
            await producer.send(topic, value, key=b"B001")
        await producer.flush()
    finally:
        await producer.stop()


async def rebuilt(
    url: str, bootstrap: str, topic: str, *, processes: int
) -> tuple[RebuildReport, Snapshot, list[Any], list[str]]:
    """An in-place rebuild into a fresh database; its report and what its slot holds."""
    db = Database(url)
    await db.create_all([kernel_metadata, t.read_metadata])
    model = ReadModel(READ_MODEL, db)
    try:
        job = Rebuild(
            model,
            consumer_name="scoring",
            topics=[topic],
            registry=REGISTRY,
            apply=apply_deferred,
            settle=settle,
            bootstrap=bootstrap,
            fold_processes=processes,
            fold_parallel_records=0,
        )
        report = await job.run(in_place=True)
        slot = model.database(report.slot)
        tables = await snapshot(slot)
        async with slot.reading() as session:
            streams = sorted(await session.execute(select(consumer_streams)))
            dead = [row.reason for row in await session.execute(select(dead_letters))]
        return report, tables, streams, dead
    finally:
        await model.dispose()
        await db.dispose()


async def test_folding_in_two_processes_gives_the_tables_of_one_and_of_the_live_path(
    projection_db: Database,
    database_url: str,
    pg_databases: PgDatabases | None,
    tmp_path: Path,
    broker: EmbeddedBroker,
    unique: str,
) -> None:
    """Through the broker: the company's events (plus a redelivered one and a record that is
    not an event) folded in this process and in two worker processes, against the live
    projection applied batch by batch: the same fact, card and statistics rows, the same
    stream positions and the same dead letter."""
    events = company_events(seed=4, scale=0.005)
    topic = f"fold-{unique}"
    await produce(broker.bootstrap, topic, events, [_json(events[10]), b"not json"])

    async def fresh(label: str) -> str:
        if database_url.startswith("postgresql"):
            assert pg_databases is not None
            return await pg_databases.create()
        return f"sqlite+aiosqlite:///{tmp_path / label}.db"

    tables = {}
    for processes in (1, 2):
        url = await fresh(f"fold{processes}")
        report, tables[processes], streams, dead = await rebuilt(
            url, broker.bootstrap, topic, processes=processes
        )
        assert report.folded and not report.interrupted
        assert ("fold: merge" in report.phases) is (processes == 2), report.phases
        assert report.records == len(events) + 2 and report.applied == len(events)
        assert len(streams) == len({item.envelope.stream for item in events})
        assert len(dead) == 1 and "envelope" in dead[0]
        assert len(tables[processes][t.cards.name]) > 100
    assert tables[1] == tables[2]

    await apply_in(projection_db, batched(events, random.Random(9)))
    assert await snapshot(projection_db) == tables[1]


def _json(item: StoredEvent) -> bytes:
    assert isinstance(item.envelope, Envelope)
    return item.envelope.to_json()


def transferred(events: list[StoredEvent]) -> tuple[list[StoredEvent], str]:
    """``events`` plus a member transferred from the first branch to the second (in the
    person's own stream, as the pledges service writes it) and then pledging in the second
    branch: the member's facts lie in both branches. Also a policy of
    the year with other weights and a unit-wide period left open (company-level events:
    one partition holds them, every card depends on them)."""
    registered = [item for item in events if isinstance(item.event, pl.PersonRegistered)]
    branches = sorted({item.event.branch_id for item in registered})
    first, last = branches[0], branches[1]
    moving = next(item for item in registered if item.event.branch_id == first)
    person = moving.event.person_id
    stream = [item for item in events if item.envelope.stream == moving.envelope.stream]
    move = pl.PersonTransferred(person_id=person, from_branch_id=first, to_branch_id=last)
    envelope = stream[-1].envelope.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "type": "PersonTransferred",
            "sequence": stream[-1].envelope.sequence + 1,
        }
    )
    declared = next(
        item
        for item in events
        if isinstance(item.event, pl.PledgeDeclared) and item.event.branch_id == last
    )
    extra = StoredEvent(
        position=-1,
        envelope=declared.envelope.model_copy(
            update={"event_id": uuid.uuid4(), "stream": "pledge-after-transfer", "sequence": 1}
        ),
        event=declared.event.model_copy(
            update={"pledge_id": "pledge-after-transfer", "member_id": person}
        ),
    )
    opened = next(item for item in events if isinstance(item.event, ReviewPeriodOpened))
    unit = next(
        item.event.unit_id for item in events if isinstance(item.event, pl.BranchRegistered)
    )
    still_open = StoredEvent(
        position=-1,
        envelope=opened.envelope.model_copy(
            update={"event_id": uuid.uuid4(), "stream": "period-left-open", "sequence": 1}
        ),
        event=opened.event.model_copy(
            update={
                "period_id": "period-left-open",
                "scope": ReviewScope(level=ScopeLevel.UNIT, unit_id=unit, branch_id=None),
            }
        ),
    )
    year = opened.event.year
    weights = ReviewWeights(peer=Decimal("0.50"), mass=Decimal("0.30"), branch=Decimal("0.20"))
    policy = StoredEvent(
        position=-1,
        envelope=opened.envelope.model_copy(
            update={
                "event_id": uuid.uuid4(),
                "type": "ScoringPolicyAdopted",
                "stream": f"scoring-policy-{year}",
                "sequence": 1,
            }
        ),
        event=ScoringPolicyAdopted(
            year=year,
            policy_id="fold-apart-policy",
            policy=SEED_POLICY.model_copy(update={"weights": weights}),
        ),
    )
    move_stored = StoredEvent(position=-1, envelope=envelope, event=move)
    return [policy, *events, move_stored, extra, still_open], person


async def test_cards_derived_in_the_parts_equal_one_fold_and_the_live_path(
    projection_db: Database,
) -> None:
    """Folded apart (the rebuild's two workers, without the processes): each part computes
    the cards of the members it alone holds, with the policies, open periods and branches of
    every part (the rebuild's context); a member named in both parts (transferred) is left to
    the merged fold. The tables equal one fold's and the live path's."""
    events, person = transferred(company_events())
    branches = sorted({item.envelope.org.branch for item in events if item.envelope.org.branch})

    def part_of(item: StoredEvent) -> int:
        branch = item.envelope.org.branch
        return 0 if branch is None else branches.index(branch) % 2

    parts = [ScoringFold(), ScoringFold()]
    for index, part in enumerate(parts):
        part.add([item for item in events if part_of(item) == index])
    # What every card needs from any partition lies in one part only.
    assert [len(part.facts.policies.rows()) for part in parts] == [1, 0]
    assert [len(part.facts.periods.rows()) for part in parts] == [9, 0]
    states = [part.export() for part in parts]
    merged = ScoringFold()
    context = merged.context(states)
    assert context["shared"] == {person}
    derived = [part.derive(context) for part in parts]
    assert all(person not in {row["member_id"] for row in rows} for rows in derived)
    assert sum(len(rows) for rows in derived) > 50

    async def ready(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows

    merged.expect([ready(rows) for rows in derived])
    for state in states:
        merged.absorb(state)
    async with projection_db.transaction() as session:
        await merged.write(session)
    apart = await snapshot(projection_db)
    member = list(t.cards.columns.keys()).index("member_id")
    assert person in {row[member] for row in apart[t.cards.name]}

    await clear(projection_db)
    await fold_in(projection_db, events, random.Random(3))
    assert await snapshot(projection_db) == apart

    await clear(projection_db)
    await apply_in(projection_db, batched(events, random.Random(4)))
    assert await snapshot(projection_db) == apart


def test_a_row_that_two_parts_hold_is_a_conflict() -> None:
    """Merging refuses a row two parts made (the rebuild then folds in one process)."""
    events = company_events()
    first, second = ScoringFold(), ScoringFold()
    first.add(events[:600])
    second.add(events[400:800])
    merged = ScoringFold()
    merged.absorb(first.export())
    with pytest.raises(FoldConflict, match="a row from two partitions"):
        merged.absorb(second.export())
    alone = ScoringFold()
    alone.absorb(second.export())
    held = [len(cache.rows()) for cache in alone.facts.caches()]
    assert held == [len(cache.rows()) for cache in second.facts.caches()] and sum(held) > 0
