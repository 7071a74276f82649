"""Helpers to read what actually reached the broker."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts import Envelope
from shared.contracts.topics import TopicSpec
from shared.db import Database
from shared.eventstore.relay import OutboxRelay
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.settings import Settings
from shared.signing import SigningKey, topic_owners


@dataclass(frozen=True)
class Seen:
    partition: int
    offset: int
    key: bytes | None
    envelope: Envelope | None
    raw: bytes | None
    headers: dict[str, bytes]


async def create_topics(bootstrap: str, *names: str, partitions: int = 3) -> None:
    specs = [TopicSpec(n, partitions) for n in names]
    await asyncio.to_thread(admin.ensure_topics, bootstrap, specs)


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout: float = 20.0, decode: bool = True
) -> list[Seen]:
    """Read ``topic`` from the beginning (no group) until ``expect`` records or the timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or set())
        while not partitions:
            await consumer._client.force_metadata_update()
            partitions = sorted(consumer.partitions_for_topic(topic) or set())
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen: list[Seen] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(seen) < expect and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for r in records:
                    env = None
                    if decode and r.value is not None:
                        try:
                            env = Envelope.from_json(r.value)
                        except ValueError:
                            env = None
                    seen.append(Seen(r.partition, r.offset, r.key, env, r.value, dict(r.headers)))
        return seen
    finally:
        await consumer.stop()


def first_occurrences(seen: Sequence[Seen]) -> dict[str, list[int]]:
    """Per stream, the sequences in the order they first appear in their partition."""
    out: dict[str, list[int]] = {}
    done: set[str] = set()
    for s in sorted(seen, key=lambda s: (s.partition, s.offset)):
        assert s.envelope is not None
        eid = str(s.envelope.event_id)
        if eid in done:
            continue
        done.add(eid)
        out.setdefault(s.envelope.stream, []).append(s.envelope.sequence)
    return out


async def publish_outbox(
    db: Database, bootstrap: str, topic: str, signer: SigningKey | None = None
) -> int:
    """Run an outbox relay over ``db`` until its outbox is empty; the number published
    (signed with ``signer``; on a service's topic by default with that service's key, as
    its relay signs)."""
    owner = topic_owners().get(topic)
    if signer is None and owner is not None:
        signer = Settings(service=owner).signing_key()

    async def lookup(name: str) -> str | None:
        return (await asyncio.to_thread(admin.topic_ids, bootstrap, [name])).get(name)

    relay = OutboxRelay(
        db=db,
        topic=topic,
        topic_id_lookup=lookup,
        producer_kwargs=KafkaClientProfile.embedded(bootstrap).producer_kwargs(),
        signer=signer,
    )
    await relay.start()
    total = 0
    try:
        while (n := await relay.run_once()) > 0:
            total += n
    finally:
        await relay.stop()
    return total
