"""Exactly-once projection effects on the real embedded broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlalchemy import func, select

from shared.contracts import Envelope
from shared.contracts.topics import dlq_topic
from shared.db import Database
from shared.eventstore import EventStore, kernel_metadata
from shared.eventstore.relay import requeue_all
from shared.eventstore.tables import consumer_offsets, dead_letters
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.consumer import CheckpointedConsumer, Record, SimpleRecord
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.messaging.subscriber import CheckpointedSubscriber
from tests.support.events import TEST_REGISTRY, CounterIncremented, meta
from tests.support.kafka import create_topics, publish_outbox, read_topic
from tests.support.projection import apply, read_totals, test_metadata

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def source_db(tmp_path: Path) -> AsyncIterator[Database]:
    """The writing service's database (SQLite is enough: the read side is under test)."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'source.db'}")
    await database.create_all([kernel_metadata])
    yield database
    await database.dispose()


@pytest.fixture
async def read_db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all([kernel_metadata, test_metadata])
    yield database
    await database.dispose()


@pytest.fixture
async def topic(broker: EmbeddedBroker, unique: str) -> str:
    name = f"t.cons.{unique}"
    await create_topics(broker.bootstrap, name, dlq_topic(name))
    return name


async def write_and_publish(
    db: Database, broker: EmbeddedBroker, topic: str, plan: dict[str, list[int]]
) -> None:
    """Append the planned amounts per stream and publish everything through the relay."""
    store = EventStore(TEST_REGISTRY)
    for stream, amounts in plan.items():
        for amount in amounts:
            async with db.transaction() as s:
                version = await store.version(s, stream)
                await store.append(
                    s,
                    stream=stream,
                    expected_version=version,
                    events_=[CounterIncremented(amount=amount, note="")],
                    meta=meta(branch=f"b-{stream}"),
                    partition_key=f"b-{stream}",
                )
    await publish_outbox(db, broker.bootstrap, topic)


def expected(plan: dict[str, list[int]]) -> dict[str, tuple[int, int]]:
    return {stream: (sum(a), len(a)) for stream, a in plan.items()}


async def offsets_total(db: Database, consumer: str) -> int:
    async with db.reading() as s:
        value = await s.scalar(
            select(func.coalesce(func.sum(consumer_offsets.c.next_offset), 0)).where(
                consumer_offsets.c.consumer == consumer
            )
        )
    return int(value or 0)


async def wait_for_offsets(db: Database, consumer: str, records: int, timeout: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await offsets_total(db, consumer) >= records:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"consumer {consumer} reached {await offsets_total(db, consumer)} of {records} records"
    )


async def start_subscriber(
    db: Database, broker: EmbeddedBroker, topic: str, group: str, name: str = "counter"
) -> tuple[KafkaBroker, CheckpointedSubscriber]:
    kafka = KafkaBroker(broker.bootstrap)
    consumer = CheckpointedConsumer(name=name, db=db, registry=TEST_REGISTRY, apply=apply)

    async def ids(names: list[str]) -> dict[str, str]:
        return await asyncio.to_thread(admin.topic_ids, broker.bootstrap, names)

    runner = CheckpointedSubscriber(
        broker=kafka,
        consumer=consumer,
        topics=[topic],
        group_id=group,
        profile=KafkaClientProfile.embedded(broker.bootstrap),
        topic_ids=ids,
        max_records=40,
    )
    await runner.start_watch()
    await kafka.start()
    return kafka, runner


async def test_redelivered_and_republished_events_change_nothing(
    source_db: Database, read_db: Database, broker: EmbeddedBroker, topic: str, unique: str
):
    rng = random.Random(1)
    plan = {f"s{i}": [rng.randint(1, 9) for _ in range(rng.randint(3, 12))] for i in range(8)}
    records = sum(len(v) for v in plan.values())
    await write_and_publish(source_db, broker, topic, plan)

    kafka, _runner = await start_subscriber(read_db, broker, topic, f"g-{unique}")
    try:
        await wait_for_offsets(read_db, "counter", records)
        async with read_db.reading() as s:
            assert await read_totals(s) == expected(plan)

        # Disaster-recovery republish of the whole event table, plus raw re-deliveries of the
        # same bytes by another producer: every event now sits on the topic three times.
        async with source_db.transaction() as s:
            assert await requeue_all(s) == records
        assert await publish_outbox(source_db, broker.bootstrap, topic) == records
        seen = await read_topic(broker.bootstrap, topic, expect=2 * records)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for item in seen[:records]:
                await producer.send_and_wait(topic, item.raw, key=item.key)
        finally:
            await producer.stop()
        await wait_for_offsets(read_db, "counter", 3 * records)
        async with read_db.reading() as s:
            assert await read_totals(s) == expected(plan)
    finally:
        await kafka.stop()


@pytest.mark.slow
async def test_consumer_killed_at_random_moments_applies_each_event_exactly_once(
    source_db: Database,
    read_db: Database,
    broker: EmbeddedBroker,
    topic: str,
    unique: str,
    database_url: str,
):
    rng = random.Random(42)
    plan = {f"k{i}": [rng.randint(1, 5) for _ in range(60)] for i in range(10)}
    records = sum(len(v) for v in plan.values())
    await write_and_publish(source_db, broker, topic, plan)
    group = f"g-{unique}"
    command = [
        sys.executable,
        "-m",
        "tests.support.counter_consumer",
        "--db",
        database_url,
        "--bootstrap",
        broker.bootstrap,
        "--topic",
        topic,
        "--group",
        group,
        "--max-records",
        "10",
        "--delay",
        "0.03",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE)
        try:
            assert proc.stdout is not None
            await asyncio.to_thread(proc.stdout.readline)  # "ready"
            before = await offsets_total(read_db, "counter")
            # Kill once it has made some progress, at a random point of a later batch.
            for _ in range(500):
                if await offsets_total(read_db, "counter") > before:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(rng.random() * 0.3)
            if await offsets_total(read_db, "counter") >= records:
                break
            proc.send_signal(signal.SIGKILL)
            kills += 1
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    final = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        await wait_for_offsets(read_db, "counter", records, timeout=120)
    finally:
        final.kill()
        final.wait(timeout=30)
    assert kills >= 1
    async with read_db.reading() as s:
        assert await read_totals(s) == expected(plan)


async def test_poison_messages_go_to_the_dlq_and_the_next_good_message_is_applied(
    source_db: Database, read_db: Database, broker: EmbeddedBroker, topic: str, unique: str
):
    await write_and_publish(source_db, broker, topic, {"good": [1]})
    valid = (await read_topic(broker.bootstrap, topic, expect=1))[0]
    assert valid.raw is not None
    unknown_type = valid.raw.replace(b'"CounterIncremented"', b'"SomethingElse"')
    future_version = valid.raw.replace(b'"version":2', b'"version":9')
    poison_apply = valid.raw.replace(b'"note":""', b'"note":"poison"').replace(
        b'"sequence":1', b'"sequence":2'
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        for value in (
            b"{not json",
            unknown_type,
            future_version,
            b'{"from":"another system"}',
            poison_apply,
        ):
            await producer.send_and_wait(topic, value, key=b"b-good")
    finally:
        await producer.stop()
    await write_and_publish(source_db, broker, topic, {"good": [10]})  # sequence 2 of "good"

    kafka, _runner = await start_subscriber(read_db, broker, topic, f"g-{unique}")
    try:
        await wait_for_offsets(read_db, "counter", 7)
    finally:
        await kafka.stop()
    async with read_db.reading() as s:
        assert await read_totals(s) == {"good": (11, 2)}
        reasons = (await s.execute(select(dead_letters.c.reason))).scalars().all()
    assert len(reasons) == 5
    dlq = await read_topic(broker.bootstrap, dlq_topic(topic), expect=5, decode=False)
    assert len(dlq) == 5
    errors = [d.headers["error"].decode() for d in dlq]
    assert any("not a Suxing event envelope" in e for e in errors)
    assert any("unknown event" in e for e in errors)
    assert any("newer than this code knows" in e for e in errors)
    assert any("apply failed: Poisoned" in e for e in errors)
    assert all(d.headers["source-topic"].decode() == topic for d in dlq)


async def test_processing_the_same_records_twice_applies_them_once(read_db: Database):
    consumer = CheckpointedConsumer(name="direct", db=read_db, registry=TEST_REGISTRY, apply=apply)
    envelope_bytes = []
    for seq in (1, 2, 3):
        envelope_bytes.append(
            Envelope(
                event_id=uuid4(),
                type="CounterIncremented",
                version=2,
                stream="d",
                sequence=seq,
                occurred_at=datetime.now(UTC),
                actor={"ref": "p", "role": "member"},
                org={"branch": "b"},
                correlation_id=uuid4(),
                data={"amount": seq, "note": ""},
            ).to_json()
        )
    records: list[Record] = [
        SimpleRecord("t", 0, offset, b"b", value) for offset, value in enumerate(envelope_bytes)
    ]
    first = await consumer.process(records)
    again = await consumer.process(records)
    # The same events at new offsets (a republish appends them) are recognised by sequence.
    moved = [SimpleRecord("t", 0, 3 + r.offset, r.key, r.value) for r in records]
    republished = await consumer.process(moved)
    assert (first.applied, again.already_done, republished.duplicates) == (3, 3, 3)
    async with read_db.reading() as s:
        assert await read_totals(s) == {"d": (6, 3)}

    # A batch that starts past the stored offset (fetched before a seek) is not applied: the
    # records in between would be skipped. The transport is told to rewind the partition.
    fourth = Envelope(
        event_id=uuid4(),
        type="CounterIncremented",
        version=2,
        stream="d",
        sequence=4,
        occurred_at=datetime.now(UTC),
        actor={"ref": "p", "role": "member"},
        org={"branch": "b"},
        correlation_id=uuid4(),
        data={"amount": 4, "note": ""},
    ).to_json()
    ahead = [SimpleRecord("t", 0, 9, b"b", fourth)]
    for _ in range(3):
        stale = await consumer.process(ahead)
        assert stale.rewind == {("t", 0)} and stale.applied == 0
        assert await consumer.stored_offsets("t") == {0: 6}
    # A gap that persists is real (the broker lost records): accepted on the fourth try.
    accepted = await consumer.process(ahead)
    assert accepted.rewind == set() and accepted.applied == 1
    assert await consumer.stored_offsets("t") == {0: 10}
