"""The event-store contract, run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from shared.contracts import canonical_json
from shared.db import Database
from shared.errors import ConcurrencyError
from shared.eventstore import EventStore, kernel_metadata
from shared.eventstore.rows import GENESIS, envelope_bytes, link_hash, row_body
from shared.eventstore.tables import events, outbox
from shared.messaging.codec import decode_envelope, encode_record
from tests.support.events import (
    TEST_REGISTRY,
    CounterIncremented,
    CounterIncrementedV1,
    CounterReset,
    SecretNoted,
    meta,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str):
    database = Database(database_url)
    await database.create_all([kernel_metadata])
    yield database
    await database.dispose()


@pytest.fixture
def store() -> EventStore:
    return EventStore(TEST_REGISTRY)


async def test_appended_events_read_back_in_sequence_with_envelope(db: Database, store: EventStore):
    async with db.transaction() as s:
        await store.append(
            s,
            stream="counter-1",
            expected_version=0,
            events_=[CounterIncremented(amount=1, note="一"), CounterReset(reason="重置")],
            meta=meta(),
            partition_key="b1",
        )
    async with db.transaction() as s:
        await store.append(
            s,
            stream="counter-1",
            expected_version=2,
            events_=[CounterIncremented(amount=5, note="五")],
            meta=meta(branch="b2"),
        )
    async with db.reading() as s:
        loaded = await store.load(s, "counter-1")
        assert await store.version(s, "counter-1") == 3
    assert [e.envelope.sequence for e in loaded] == [1, 2, 3]
    assert [type(e.event) for e in loaded] == [CounterIncremented, CounterReset, CounterIncremented]
    assert loaded[2].event == CounterIncremented(amount=5, note="五")
    assert loaded[2].envelope.org.branch == "b2"
    assert loaded[0].envelope.occurred_at.tzinfo is not None
    # The stream keeps its first partition key even when later events belong elsewhere.
    async with db.reading() as s:
        keys = (await s.execute(select(events.c.partition_key))).scalars().all()
    assert set(keys) == {"b1"}


async def test_stale_expected_version_raises_and_writes_nothing(db: Database, store: EventStore):
    async with db.transaction() as s:
        await store.append(
            s,
            stream="c",
            expected_version=0,
            events_=[CounterReset(reason="a")],
            meta=meta(),
            partition_key="b1",
        )
    for stale in (0, 2, 5):
        with pytest.raises(ConcurrencyError):
            async with db.transaction() as s:
                await store.append(
                    s,
                    stream="c",
                    expected_version=stale,
                    events_=[CounterReset(reason="b")],
                    meta=meta(),
                    partition_key="b1",
                )
    async with db.reading() as s:
        assert await store.count(s) == 1
        assert await s.scalar(select(func.count()).select_from(outbox)) == 1


async def test_concurrent_appends_with_same_expected_version_one_wins(
    db: Database, store: EventStore
):
    async with db.transaction() as s:
        await store.append(
            s,
            stream="race",
            expected_version=0,
            events_=[CounterReset(reason="0")],
            meta=meta(),
            partition_key="b1",
        )

    async def attempt(i: int) -> str:
        try:
            async with db.transaction() as s:
                await store.append(
                    s,
                    stream="race",
                    expected_version=1,
                    events_=[CounterIncremented(amount=i, note=str(i))],
                    meta=meta(),
                )
                await asyncio.sleep(0.05)  # hold the transaction open so they overlap
        except ConcurrencyError:
            return "conflict"
        return "ok"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(8)))
    assert outcomes.count("ok") == 1
    assert outcomes.count("conflict") == 7
    async with db.reading() as s:
        loaded = await store.load(s, "race")
    assert [e.envelope.sequence for e in loaded] == [1, 2]  # no hole, no duplicate


async def test_concurrent_creation_of_the_same_stream_one_wins(db: Database, store: EventStore):
    async def attempt() -> str:
        try:
            async with db.transaction() as s:
                await store.append(
                    s,
                    stream="new",
                    expected_version=0,
                    events_=[CounterReset(reason="x")],
                    meta=meta(),
                    partition_key="b1",
                )
                await asyncio.sleep(0.05)
        except ConcurrencyError:
            return "conflict"
        return "ok"

    outcomes = await asyncio.gather(*(attempt() for _ in range(5)))
    assert sorted(outcomes) == ["conflict"] * 4 + ["ok"]


async def test_rolled_back_decision_leaves_no_event_and_no_outbox_row(
    db: Database, store: EventStore
):
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await store.append(
                s,
                stream="r",
                expected_version=0,
                events_=[CounterReset(reason="x")],
                meta=meta(),
                partition_key="b1",
            )
            raise RuntimeError("the handler failed after appending")
    async with db.reading() as s:
        assert await store.count(s) == 0
        assert await s.scalar(select(func.count()).select_from(outbox)) == 0


async def test_old_versions_are_upcast_on_read(db: Database, store: EventStore):
    # Simulate an event written by older code: version 1 without the ``note`` field.
    async with db.transaction() as s:
        await store.append(
            s,
            stream="old",
            expected_version=0,
            events_=[CounterIncrementedV1(amount=3)],
            meta=meta(),
            partition_key="b1",
        )
    async with db.reading() as s:
        (loaded,) = await store.load(s, "old")
        raw = (await s.execute(select(events.c.version, events.c.data))).one()
    assert loaded.event == CounterIncremented(amount=3, note="")
    assert loaded.envelope.version == 1  # stored as written: never rewritten
    assert raw.version == 1 and json.loads(raw.data) == {"amount": 3}


async def test_read_all_returns_append_order_across_streams(db: Database, store: EventStore):
    for i in range(5):
        async with db.transaction() as s:
            await store.append(
                s,
                stream=f"s{i % 2}",
                expected_version=i // 2,
                events_=[CounterIncremented(amount=i, note="")],
                meta=meta(),
                partition_key="b1",
            )
    async with db.reading() as s:
        first = await store.read_all(s, limit=3)
        rest = await store.read_all(s, after=first[-1].position)
    amounts = [e.event.amount for e in first + rest]  # type: ignore[attr-defined]
    assert amounts == [0, 1, 2, 3, 4]


async def test_wire_encoding_matches_the_envelope_model(db: Database, store: EventStore):
    async with db.transaction() as s:
        (stored,) = await store.append(
            s,
            stream="w",
            expected_version=0,
            events_=[CounterIncremented(amount=1, note="中文")],
            meta=meta(),
            partition_key="b9",
        )
    async with db.reading() as s:
        row = (await s.execute(select(events))).mappings().one()
    key, value, headers = encode_record(row)
    assert key == b"b9"
    assert value == stored.envelope.to_json()
    assert decode_envelope(value).to_envelope() == stored.envelope
    assert dict(headers)["type"] == b"CounterIncremented"


async def test_sql_text_in_payload_is_stored_as_data(db: Database, store: EventStore):
    hostile = "'); DROP TABLE es_events; --"
    async with db.transaction() as s:
        await store.append(
            s,
            stream="x",
            expected_version=0,
            events_=[CounterReset(reason=hostile)],
            meta=meta(),
            partition_key="b1",
        )
    async with db.reading() as s:
        (loaded,) = await store.load(s, "x")
    assert loaded.event == CounterReset(reason=hostile)


async def test_stored_wire_bytes_are_the_canonical_json_the_hash_covers(
    db: Database, store: EventStore
) -> None:
    """Encoded once at append: what the relay publishes as stored is exactly the canonical
    JSON of the stored row's envelope, and the bytes its chain hash covers. A private event is
    hashed the same way but stores no wire bytes (it is never published)."""
    async with db.transaction() as s:
        await store.append(
            s,
            stream="wb",
            expected_version=0,
            events_=[
                CounterIncremented(amount=1, note='中文 "quoted" \\ é\n'),
                SecretNoted(text="不公开"),
                CounterReset(reason=""),
            ],
            meta=meta(branch="分支"),
            partition_key="分支",
        )
    async with db.transaction() as s:
        await store.append(
            s,
            stream="wb",
            expected_version=3,
            events_=[CounterIncremented(amount=-7, note="")],
            meta=meta(),
        )
    async with db.reading() as s:
        rows = (await s.execute(select(events).order_by(events.c.position))).mappings().all()
    assert [row["type"] for row in rows] == [
        "CounterIncremented",
        "SecretNoted",
        "CounterReset",
        "CounterIncremented",
    ]
    prev = GENESIS
    for row in rows:
        body = canonical_json(row_body(row))
        assert envelope_bytes(row) == body
        assert row["hash"] == link_hash(prev, body)
        if row["type"] == "SecretNoted":
            assert row["wire"] is None
        else:
            assert bytes(row["wire"]) == body
            assert encode_record(row)[1] == body
        prev = row["hash"]
