"""Kernel throughput on this machine: append, relay publish, checkpointed consume.

    .venv/bin/python -m bench.kernel --events 20000 --db sqlite
    .venv/bin/python -m bench.kernel --events 20000 --db postgresql

Starts its own embedded broker. Prints events/s for each stage; the consume stage runs
``CheckpointedConsumer.process`` over records read with aiokafka ``getmany`` (the raw consume
rate of the same client is printed beside it, for the ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts.topics import TopicSpec
from shared.db import Database
from shared.eventstore import EventStore, kernel_metadata
from shared.eventstore.relay import OutboxRelay
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.consumer import CheckpointedConsumer
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from tests.support.events import TEST_REGISTRY, CounterIncremented, meta
from tests.support.projection import apply, test_metadata


async def pg_database() -> str:
    name = f"suxing_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def read_all(bootstrap: str, topic: str, expect: int) -> tuple[list[object], float]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(3)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    records: list[object] = []
    start = time.perf_counter()
    while len(records) < expect:
        batch = await consumer.getmany(timeout_ms=500, max_records=5000)
        for rs in batch.values():
            records.extend(rs)
    elapsed = time.perf_counter() - start
    await consumer.stop()
    return records, elapsed


async def main(events: int, db_kind: str) -> None:
    tmp = Path(tempfile.mkdtemp())
    url = await pg_database() if db_kind == "postgresql" else f"sqlite+aiosqlite:///{tmp}/b.db"
    broker = EmbeddedBroker(find_broker_binary(), log_path=tmp / "broker.log")
    broker.start()
    try:
        topic = f"bench.{uuid.uuid4().hex[:6]}"
        admin.ensure_topics(broker.bootstrap, [TopicSpec(topic, 3)])
        db = Database(url)
        await db.create_all([kernel_metadata, test_metadata])
        store = EventStore(TEST_REGISTRY)
        per_txn = 10
        start = time.perf_counter()
        for i in range(events // per_txn):
            async with db.transaction() as s:
                await store.append(
                    s,
                    stream=f"s{i}",
                    expected_version=0,
                    events_=[CounterIncremented(amount=1, note="x" * 120)] * per_txn,
                    meta=meta(branch=f"b{i % 878}"),
                    partition_key=f"b{i % 878}",
                )
        append_s = time.perf_counter() - start

        async def lookup(name: str) -> str | None:
            return (await asyncio.to_thread(admin.topic_ids, broker.bootstrap, [name])).get(name)

        relay = OutboxRelay(
            db=db,
            topic=topic,
            topic_id_lookup=lookup,
            producer_kwargs=KafkaClientProfile.embedded(broker.bootstrap).producer_kwargs(),
        )
        await relay.start()
        start = time.perf_counter()
        while await relay.run_once():
            pass
        relay_s = time.perf_counter() - start
        await relay.stop()

        records, raw_s = await read_all(broker.bootstrap, topic, events)
        consumer = CheckpointedConsumer(name="bench", db=db, registry=TEST_REGISTRY, apply=apply)
        start = time.perf_counter()
        for i in range(0, len(records), 5000):
            await consumer.process(records[i : i + 5000])  # type: ignore[arg-type]
        consume_s = time.perf_counter() - start
        await db.dispose()
        print(f"database: {db_kind}, events: {events} (~{len(records[0].value)} B each)")  # type: ignore[attr-defined]
        print(f"append ({per_txn}/txn):        {events / append_s:10.0f} events/s")
        print(f"relay publish:            {events / relay_s:10.0f} events/s")
        print(f"raw aiokafka getmany:     {events / raw_s:10.0f} records/s")
        print(f"checkpointed apply:       {events / consume_s:10.0f} events/s")
    finally:
        broker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.db))
