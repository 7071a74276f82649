"""The outbox relay against the real embedded broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update

from shared.contracts import canonical_json
from shared.db import Database
from shared.eventstore import EventStore, kernel_metadata
from shared.eventstore.integrity import verify_log
from shared.eventstore.relay import OutboxRelay, outbox_backlog
from shared.eventstore.rows import GENESIS, chain_hash, row_body
from shared.eventstore.tables import events, outbox, relay_state, streams
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.migrations import upgrade
from tests.support.events import TEST_REGISTRY, CounterIncremented, meta
from tests.support.kafka import create_topics, first_occurrences, read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(database_url: str):
    database = Database(database_url)
    await database.create_all([kernel_metadata])
    yield database
    await database.dispose()


@pytest.fixture
async def topic(broker: EmbeddedBroker, unique: str) -> str:
    name = f"t.relay.{unique}"
    await create_topics(broker.bootstrap, name)
    return name


def make_relay(db: Database, broker: EmbeddedBroker, topic: str, **kw: Any) -> OutboxRelay:
    async def lookup(name: str) -> str | None:
        return (await asyncio.to_thread(admin.topic_ids, broker.bootstrap, [name])).get(name)

    profile = KafkaClientProfile.embedded(broker.bootstrap)
    return OutboxRelay(
        db=db, topic=topic, producer_kwargs=profile.producer_kwargs(), topic_id_lookup=lookup, **kw
    )


async def append(db: Database, stream: str, n: int, branch: str = "b1") -> None:
    store = EventStore(TEST_REGISTRY)
    async with db.transaction() as s:
        version = await store.version(s, stream)
        await store.append(
            s,
            stream=stream,
            expected_version=version,
            events_=[CounterIncremented(amount=i, note="") for i in range(n)],
            meta=meta(branch=branch),
            partition_key=branch,
        )


async def drain(relay: OutboxRelay) -> int:
    total = 0
    while (n := await relay.run_once()) > 0:
        total += n
    return total


async def test_relay_publishes_every_event_keyed_by_branch_in_stream_order(
    db: Database, broker: EmbeddedBroker, topic: str
):
    for i in range(30):
        await append(db, f"stream-{i % 7}", 3, branch=f"branch-{i % 7}")
    relay = make_relay(db, broker, topic, batch_size=40)
    await relay.start()
    try:
        assert await drain(relay) == 90
    finally:
        await relay.stop()
    seen = await read_topic(broker.bootstrap, topic, expect=90)
    assert len(seen) == 90
    for s in seen:
        assert s.envelope is not None
        assert s.key == s.envelope.org.branch.encode()  # type: ignore[union-attr]
        assert s.headers["type"] == b"CounterIncremented"
    order = first_occurrences(seen)
    assert all(seqs == list(range(1, 13)) or seqs == list(range(1, 16)) for seqs in order.values())
    assert sum(len(v) for v in order.values()) == 90
    async with db.reading() as s:
        assert await outbox_backlog(s) == (0, None)


async def test_relay_never_skips_an_event_that_commits_after_a_later_one(
    db: Database, broker: EmbeddedBroker, topic: str
):
    """Many writers whose transactions commit in random order while the relay runs."""
    relay = make_relay(db, broker, topic, batch_size=7)
    await relay.start()
    task = asyncio.create_task(relay.run())
    store = EventStore(TEST_REGISTRY)
    rng = random.Random(7)

    async def writer(w: int) -> int:
        written = 0
        for _ in range(6):
            stream = f"w-{w % 5}"
            while True:
                try:
                    async with db.transaction() as s:
                        version = await store.version(s, stream)
                        await store.append(
                            s,
                            stream=stream,
                            expected_version=version,
                            events_=[CounterIncremented(amount=w, note="")],
                            meta=meta(branch=f"b{w % 3}"),
                            partition_key=f"b{w % 3}",
                        )
                        # Hold the transaction open a random while: positions are taken at
                        # insert time, so commits land out of position order.
                        await asyncio.sleep(rng.random() * 0.03)
                    written += 1
                    break
                except Exception:  # lost the race for the stream: re-read and retry
                    await asyncio.sleep(0)
        return written

    try:
        total = sum(await asyncio.gather(*(writer(w) for w in range(12))))
        for _ in range(200):
            async with db.reading() as s:
                if await s.scalar(select(func.count()).select_from(outbox)) == 0:
                    break
            await asyncio.sleep(0.05)
    finally:
        await relay.stop()
        task.cancel()
    seen = await read_topic(broker.bootstrap, topic, expect=total)
    order = first_occurrences(seen)
    assert sum(len(v) for v in order.values()) == total == 72
    for stream, seqs in order.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{stream} out of order: {seqs}"


async def test_a_row_that_appears_behind_the_batch_in_flight_is_not_overtaken(
    db: Database, broker: EmbeddedBroker, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay reads batch N+1 while batch N is in flight. If an event's outbox row shows
    up at a position inside batch N's range meanwhile (its transaction committed late) and
    its stream's next event lands after batch N, the next event must not go first: the read
    ahead is dropped and redone once batch N is done."""
    await append(db, "late", 1)  # position 1, its outbox row "not committed yet":
    async with db.transaction() as s:
        await s.execute(delete(outbox))
    for i in range(10):  # positions 2..11
        await append(db, f"s-{i}", 1)
    relay = make_relay(db, broker, topic, batch_size=4)
    read_ahead = relay._fetch
    calls: list[int] = []

    async def fetch(*, after: int, waiting: int = 0) -> Any:
        if waiting and not calls:  # batch N (positions 2..5) is in flight
            calls.append(after)
            async with db.transaction() as s:  # ... when "late" #1 commits
                await s.execute(insert(outbox).values(position=1))
            await append(db, "late", 1)  # and "late" #2 follows it at position 12
        return await read_ahead(after=after, waiting=waiting)

    monkeypatch.setattr(relay, "_fetch", fetch)
    await relay.start()
    try:
        assert await drain(relay) == 12
    finally:
        await relay.stop()
    assert calls == [5]
    seen = await read_topic(broker.bootstrap, topic, expect=12)
    assert first_occurrences(seen)["late"] == [1, 2]


async def test_a_row_that_appears_inside_a_published_batchs_range_is_kept_and_sent(
    db: Database, broker: EmbeddedBroker, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An acknowledged batch is deleted by its position range; a row that showed up inside
    that range after the batch was read (a late commit) must survive the delete."""
    for i in range(10):  # positions 1..10; position 5's outbox row "not committed yet"
        await append(db, f"r-{i}", 1)
    async with db.transaction() as s:
        await s.execute(delete(outbox).where(outbox.c.position == 5))
    relay = make_relay(db, broker, topic, batch_size=20)
    read_ahead = relay._fetch
    calls: list[int] = []

    async def fetch(*, after: int, waiting: int = 0) -> Any:
        if waiting and not calls:  # positions 1-4 and 6-10 are in flight
            calls.append(after)
            async with db.transaction() as s:
                await s.execute(insert(outbox).values(position=5))
        return await read_ahead(after=after, waiting=waiting)

    monkeypatch.setattr(relay, "_fetch", fetch)
    await relay.start()
    try:
        assert await drain(relay) == 10
    finally:
        await relay.stop()
    assert calls == [10]
    seen = await read_topic(broker.bootstrap, topic, expect=10)
    assert sorted(first_occurrences(seen)) == sorted(f"r-{i}" for i in range(10))
    async with db.reading() as s:
        assert await outbox_backlog(s) == (0, None)
        assert await s.scalar(select(relay_state.c.published_total)) == 10


async def test_relay_republishes_after_a_crash_between_publish_and_bookkeeping(
    db: Database, broker: EmbeddedBroker, topic: str, monkeypatch: pytest.MonkeyPatch
):
    await append(db, "crash", 5)
    relay = make_relay(db, broker, topic)
    await relay.start()

    async def crash(*_: Any, **__: Any) -> None:
        raise ConnectionError("killed after the broker acknowledged")

    original = db.transaction
    calls = {"n": 0}

    def failing_transaction():  # the 3rd transaction of a pass is the outbox delete
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("process died before deleting outbox rows")
        return original()

    monkeypatch.setattr(db, "transaction", failing_transaction)
    with pytest.raises(ConnectionError):
        await relay.run_once()
    monkeypatch.setattr(db, "transaction", original)
    await relay.stop()

    second = make_relay(db, broker, topic)
    await second.start()
    try:
        assert await drain(second) == 5
    finally:
        await second.stop()
    seen = await read_topic(broker.bootstrap, topic, expect=10)
    assert len(seen) == 10  # published twice: allowed
    assert first_occurrences(seen) == {"crash": [1, 2, 3, 4, 5]}


async def test_a_recreated_topic_makes_the_relay_resend_everything(
    db: Database, broker: EmbeddedBroker, topic: str
):
    await append(db, "s", 4)
    ids = iter(["id-old", "id-old", "id-new"])

    async def lookup(_: str) -> str | None:
        return next(ids)

    profile = KafkaClientProfile.embedded(broker.bootstrap)
    relay = OutboxRelay(
        db=db,
        topic=topic,
        producer_kwargs=profile.producer_kwargs(),
        topic_id_lookup=lookup,
        topic_check_seconds=0,
    )
    await relay.start()
    try:
        assert await relay.run_once() == 4
        assert await relay.run_once() == 0  # same topic id: nothing to do
        assert await relay.run_once() == 4  # new id: the broker lost the data, resend
        assert relay.stats.republished_after_reset == 4
    finally:
        await relay.stop()


async def test_only_one_relay_holds_the_lease(db: Database, broker: EmbeddedBroker, topic: str):
    await append(db, "lease", 3)
    first = make_relay(db, broker, topic)
    second = make_relay(db, broker, topic)
    await first.start()
    await second.start()
    try:
        assert await first.run_once() == 3
        await append(db, "lease", 2)
        assert await second.run_once() == 0  # the first still holds the lease
        assert await first.run_once() == 2
    finally:
        await first.stop()
    try:
        await append(db, "lease", 1)
        assert await drain(second) == 1  # released on stop: the second takes over
    finally:
        await second.stop()


async def test_a_relay_whose_lease_expired_is_replaced(
    db: Database, broker: EmbeddedBroker, topic: str
):
    await append(db, "expiry", 2)
    crashed = make_relay(db, broker, topic)
    await crashed.start()
    assert await crashed.run_once() == 2
    # The first relay's process dies without releasing the lease; time passes.
    async with db.transaction() as s:
        await s.execute(
            update(relay_state)
            .where(relay_state.c.topic == topic)
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    await append(db, "expiry", 3)
    successor = make_relay(db, broker, topic)
    await successor.start()
    try:
        assert await drain(successor) == 3
        assert await crashed.run_once() == 0  # the old owner must not publish any more
    finally:
        await successor.stop()
        crashed.owner = "gone"  # its stop must not release the successor's lease
        await crashed.stop()


BEFORE_WIRE = "beaa84e72d8d"
"""The pledges migration before es_events.wire."""


async def test_events_stored_before_the_wire_column_still_publish_byte_for_byte(
    database_url: str, broker: EmbeddedBroker, topic: str
) -> None:
    """A store written by the code before the wire column (rows without it), migrated, then
    appended to by the current code: the relay publishes both kinds in stream order, each
    value the canonical JSON of its stored row (what the chain hashes)."""
    await asyncio.to_thread(upgrade, "pledges", database_url, BEFORE_WIRE)
    db = Database(database_url)
    try:
        # What EventStore.append wrote then: the same rows, no wire bytes.
        heads: dict[str, tuple[int, str]] = {}
        async with db.transaction() as s:
            for i in range(12):
                stream, branch = f"old-{i % 3}", f"b{i % 3}"
                sequence, prev = heads.get(stream, (0, GENESIS))
                row: dict[str, Any] = {
                    "event_id": uuid.uuid4(),
                    "stream": stream,
                    "sequence": sequence + 1,
                    "type": "CounterIncremented",
                    "version": 2,
                    "occurred_at": datetime(2025, 3, 1, 8, i, 30, 1234 * i, tzinfo=UTC),
                    "actor_ref": "p1",
                    "actor_role": "member",
                    "unit_id": "u1",
                    "branch_id": branch,
                    "year": 2025,
                    "correlation_id": uuid.uuid4(),
                    "causation_id": uuid.uuid4() if i % 2 else None,
                    "partition_key": branch,
                    "data": canonical_json({"amount": i, "note": "旧的"}).decode(),
                    "prev_hash": prev,
                }
                row["hash"] = chain_hash(prev, row)
                heads[stream] = (sequence + 1, row["hash"])
                position = await s.scalar(insert(events).values(row).returning(events.c.position))
                await s.execute(insert(outbox).values(position=position))
            for stream, (version, head) in heads.items():
                await s.execute(
                    insert(streams).values(
                        stream=stream,
                        version=version,
                        partition_key=f"b{stream[-1]}",
                        head_hash=head,
                    )
                )
        await asyncio.to_thread(upgrade, "pledges", database_url)
        for i in range(3):  # the current code carries the old streams on, with wire bytes
            await append(db, f"old-{i}", 2, branch=f"b{i}")
        await append(db, "new", 3)
        async with db.reading() as s:
            rows = (await s.execute(select(events).order_by(events.c.position))).mappings().all()
            assert (await verify_log(s)).ok
        assert sum(row["wire"] is None for row in rows) == 12
        expected = [canonical_json(row_body(row)) for row in rows]
        assert [bytes(row["wire"]) for row in rows[12:]] == expected[12:]

        relay = make_relay(db, broker, topic, batch_size=5)
        await relay.start()
        try:
            assert await drain(relay) == len(rows) == 21
        finally:
            await relay.stop()
    finally:
        await db.dispose()
    seen = await read_topic(broker.bootstrap, topic, expect=21)
    assert sorted(s.raw or b"" for s in seen) == sorted(expected)
    assert first_occurrences(seen) == {
        "old-0": [1, 2, 3, 4, 5, 6],
        "old-1": [1, 2, 3, 4, 5, 6],
        "old-2": [1, 2, 3, 4, 5, 6],
        "new": [1, 2, 3],
    }
    assert all(s.headers["event_id"] == str(s.envelope.event_id).encode() for s in seen)  # type: ignore[union-attr]
