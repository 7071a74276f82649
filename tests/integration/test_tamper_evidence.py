"""Every stored event is hash-chained to the previous one of its stream; verify_log finds
the first broken link. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from shared.contracts import canonical_json
from shared.db import Database
from shared.eventstore import EventStore, kernel_metadata
from shared.eventstore.integrity import verify_log
from shared.eventstore.rows import GENESIS, chain_hash, row_body
from shared.eventstore.seal import seal_log, verify_seals
from shared.eventstore.tables import events, streams
from tests.support.events import TEST_REGISTRY, CounterIncremented, CounterReset, meta

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str):
    database = Database(database_url)
    await database.create_all([kernel_metadata])
    store = EventStore(TEST_REGISTRY)
    for stream in ("a", "b", "c"):
        for version in range(0, 6, 2):
            async with database.transaction() as s:
                await store.append(
                    s,
                    stream=stream,
                    expected_version=version,
                    events_=[
                        CounterIncremented(amount=version, note="张三"),
                        CounterReset(reason="r"),
                    ],
                    meta=meta(),
                    partition_key="b1",
                )
    yield database
    await database.dispose()


async def position_of(db: Database, stream: str, sequence: int) -> int:
    async with db.reading() as s:
        return int(
            await s.scalar(
                select(events.c.position).where(
                    events.c.stream == stream, events.c.sequence == sequence
                )
            )
            or 0
        )


async def test_an_untouched_log_verifies(db: Database):
    async with db.reading() as s:
        report = await verify_log(s, page=4)
        first = (
            await s.execute(select(events.c.prev_hash).where(events.c.sequence == 1))
        ).scalars()
        assert set(first) == {GENESIS}
    assert report.ok, [b.describe() for b in report.broken]
    assert (report.events, report.streams) == (18, 3)


async def test_one_flipped_byte_in_a_stored_event_is_named(db: Database):
    position = await position_of(db, "b", 3)
    async with db.transaction() as s:
        data = await s.scalar(select(events.c.data).where(events.c.position == position))
        assert data is not None
        await s.execute(
            update(events)
            .where(events.c.position == position)
            .values(data=data.replace('"amount":2', '"amount":3'))
        )
    async with db.reading() as s:
        report = await verify_log(s)
    assert [(b.stream, b.sequence, b.position) for b in report.broken] == [("b", 3, position)]
    assert "was changed" in report.broken[0].reason


async def test_changed_wire_bytes_are_named_although_the_columns_still_hash(db: Database) -> None:
    """The relay publishes the stored wire bytes as they are: changing only them (what
    consumers would receive) must break verification even though the chain still holds."""
    position = await position_of(db, "a", 2)
    async with db.transaction() as s:
        wire = await s.scalar(select(events.c.wire).where(events.c.position == position))
        assert wire is not None
        await s.execute(
            update(events)
            .where(events.c.position == position)
            .values(wire=bytes(wire).replace(b'"reason":"r"', b'"reason":"x"'))
        )
    async with db.reading() as s:
        report = await verify_log(s)
    assert [(b.stream, b.sequence, b.position) for b in report.broken] == [("a", 2, position)]
    assert "wire bytes" in report.broken[0].reason


async def test_a_deleted_event_is_named(db: Database):
    async with db.transaction() as s:
        await s.execute(delete(events).where(events.c.stream == "c", events.c.sequence == 2))
    async with db.reading() as s:
        report = await verify_log(s)
    assert len(report.broken) == 1
    assert (report.broken[0].stream, report.broken[0].sequence) == ("c", 3)
    assert "missing" in report.broken[0].reason


async def test_a_truncated_stream_tail_is_named(db: Database):
    async with db.transaction() as s:
        await s.execute(delete(events).where(events.c.stream == "a", events.c.sequence == 6))
    async with db.reading() as s:
        report = await verify_log(s)
    assert [(b.stream, b.sequence, b.position) for b in report.broken] == [("a", 5, None)]
    assert "head" in report.broken[0].reason


async def test_a_consistently_rewritten_stream_still_fails_its_seal(db: Database):
    """Rewriting a stream AND recomputing its chain passes verify_log, but not the seal."""
    async with db.transaction() as s:
        seal = await seal_log(s, service="pledges", now=datetime.now(UTC))
        assert seal is not None and seal.streams == 3 and seal.events == 18
        assert await seal_log(s, service="pledges", now=datetime.now(UTC)) is None
    async with db.reading() as s:
        assert await verify_seals(s, service="pledges") == (1, [])

    # A forger changes stream "a" and re-chains it so that every hash is consistent again.
    async with db.transaction() as s:
        rows = (
            (
                await s.execute(
                    select(events).where(events.c.stream == "a").order_by(events.c.sequence)
                )
            )
            .mappings()
            .all()
        )
        prev = GENESIS
        for row in rows:
            forged = dict(row)
            forged["data"] = forged["data"].replace('"note":"张三"', '"note":"李四"')
            forged["prev_hash"] = prev
            forged["hash"] = prev = chain_hash(prev, forged)
            # ... and the published form too, or verify_log would see the wire bytes differ.
            forged["wire"] = canonical_json(row_body(forged))
            await s.execute(
                update(events)
                .where(events.c.position == row["position"])
                .values(
                    data=forged["data"],
                    prev_hash=forged["prev_hash"],
                    hash=forged["hash"],
                    wire=forged["wire"],
                )
            )
        await s.execute(update(streams).where(streams.c.stream == "a").values(head_hash=prev))
    async with db.reading() as s:
        assert (await verify_log(s)).ok  # the chain alone cannot tell
        checked, problems = await verify_seals(s, service="pledges")
    assert checked == 1
    assert len(problems) == 1 and "no longer matches its seal" in problems[0].reason
