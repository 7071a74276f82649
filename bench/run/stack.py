"""What every scenario stands on: an embedded broker, throwaway databases, a generated
company-year written into the services' event stores and published to their topics."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import select

from bench.generate import Enterprise, generate
from bench.generate.bulk import write_bulk
from shared.contracts import REGISTRY
from shared.contracts.topics import TopicSpec, all_topics, service_topic
from shared.db import Database
from shared.eventstore.relay import OutboxRelay
from shared.eventstore.tables import events
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.codec import encode_record
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from shared.migrations import upgrade
from shared.settings import Settings

PG_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PARTITIONS = 4
"""Topic partitions in the bench: even, so two consumer instances can split them evenly."""
SOURCES = ("pledges", "reviews")


class Databases:
    """Fresh databases of one kind; PostgreSQL ones are dropped at the end."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.created: list[str] = []

    async def new(self, label: str) -> str:
        name = f"suxing_bench_{label}_{uuid.uuid4().hex[:8]}"
        if self.kind == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / name}.db"
        conn = await asyncpg.connect(PG_SERVER)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(PG_SERVER)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@dataclass
class Stack:
    """A broker and a database kind for one bench run."""

    db_kind: str
    broker: EmbeddedBroker
    dbs: Databases
    tmp: Path
    notes: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    @property
    def profile(self) -> KafkaClientProfile:
        return KafkaClientProfile.embedded(self.bootstrap, "suxing-bench")

    def ensure_topics(self, specs: Sequence[TopicSpec]) -> None:
        admin.ensure_topics(self.bootstrap, specs)

    async def topic_id(self, topic: str) -> str | None:
        ids = await asyncio.to_thread(admin.topic_ids, self.bootstrap, [topic])
        return ids.get(topic)


@asynccontextmanager
async def stack(db_kind: str) -> AsyncIterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="suxing-bench-"))
    broker = EmbeddedBroker(find_broker_binary(), log_path=tmp / "broker.log")
    broker.start()
    dbs = Databases(db_kind, tmp)
    # The stack's event signing keys (shared/signing.py): its services, relays, rebuilds and
    # worker processes all read SUXING_KEYS_DIR, as one deployment shares its keys.
    keys_before = os.environ.get("SUXING_KEYS_DIR")
    os.environ["SUXING_KEYS_DIR"] = str(tmp / "keys")
    try:
        running = Stack(db_kind, broker, dbs, tmp)
        running.ensure_topics(all_topics(PARTITIONS))
        yield running
    finally:
        if keys_before is None:
            os.environ.pop("SUXING_KEYS_DIR", None)
        else:
            os.environ["SUXING_KEYS_DIR"] = keys_before
        broker.stop()
        await dbs.drop_all()
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass
class Dataset:
    """A company-year in the services' event stores (one database per source service)."""

    enterprise: Enterprise
    urls: dict[str, str]
    counts: dict[str, int]
    """Events each source publishes (its topic's records): private ballots are not among them."""
    stored: dict[str, int]
    """Events each source stores, ballots included."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


async def load(run: Stack, seed: int, scale: float, *, migrated: bool = False) -> Dataset:
    """The generated company, bulk-loaded into a new store per source service. ``migrated``:
    the stores are migrated as the services migrate them (so the services themselves can run
    on them), not just given the kernel's tables."""
    enterprise = generate(seed, scale=scale)
    urls: dict[str, str] = {}
    counts: dict[str, int] = {}
    stored: dict[str, int] = {}
    for source in SOURCES:
        items = [item for item in enterprise.events if item.topic == source]
        urls[source] = await run.dbs.new(source)
        if migrated:
            await asyncio.to_thread(upgrade, source, urls[source])
        stored[source] = await write_bulk(items, urls[source], seed=seed, create=not migrated)
        counts[source] = sum(1 for item in items if not item.event.private)
    return Dataset(enterprise, urls, counts, stored)


async def relay_all(run: Stack, url: str, topic: str) -> tuple[int, float]:
    """Publish a store's whole outbox with the service's relay: (events, seconds)."""
    db = Database(url)
    relay = OutboxRelay(
        db=db,
        topic=topic,
        topic_id_lookup=run.topic_id,
        producer_kwargs=run.profile.producer_kwargs(),
        # Signed as the service's own relay signs (the cost is part of the figure).
        signer=Settings(service=topic.split(".")[1]).signing_key(),
    )
    await relay.start()
    try:
        with _own_heap():
            started = time.perf_counter()
            while await relay.run_once():
                pass
            seconds = time.perf_counter() - started
    finally:
        await relay.stop()
        await db.dispose()
    return relay.stats.published, seconds


@contextmanager
def _own_heap() -> Iterator[None]:
    """Time a section as if this process held only what it makes: the harness's own objects
    (the generated company-year: ~790,000 at scale 0.1, which no service holds) are collected
    and frozen out of the cyclic garbage collector, so that its full collections (over a
    second each here) are not charged to the relay, nor to the raw produce beside it."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def stored_payloads(url: str) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    """Every published event as the relay sends it (key, value, headers), in log order;
    private events (stored, never published) are not among them."""
    db = Database(url)
    try:
        async with db.reading() as session:
            rows = (
                await session.execute(
                    select(events)
                    .where(events.c.type.not_in(REGISTRY.private_types()))
                    .order_by(events.c.position)
                )
            ).mappings()
            return [encode_record(row) for row in rows]
    finally:
        await db.dispose()


async def raw_produce(
    run: Stack, topic: str, payloads: Sequence[tuple[bytes, bytes, Any]]
) -> float:
    """The client's own limit: the same records, pre-encoded, sent with ``send_batch`` per
    partition (acks=all, the relay's producer settings). Returns seconds."""
    producer = AIOKafkaProducer(**run.profile.producer_kwargs())
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
        partitioner = DefaultPartitioner()
        per: dict[int, list[Any]] = {}
        for key, value, headers in payloads:
            per.setdefault(partitioner(key, partitions, partitions), []).append(
                (key, value, headers)
            )

        async def send(partition: int, items: list[Any]) -> None:
            index = 0
            while index < len(items):
                batch = producer.create_batch()
                while index < len(items):
                    key, value, headers = items[index]
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        break
                    index += 1
                batch.close()
                await (await producer.send_batch(batch, topic, partition=partition))

        with _own_heap():
            started = time.perf_counter()
            await asyncio.gather(*(send(p, items) for p, items in per.items()))
            return time.perf_counter() - started
    finally:
        await producer.stop()


def source_topics() -> list[str]:
    return [service_topic(s) for s in SOURCES]
