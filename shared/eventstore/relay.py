"""The outbox relay: publishes stored events to the service's topic, in order per stream.

Gap safety: the relay never tracks a high-water mark over positions. It publishes whatever
rows are in ``es_outbox`` (written by the appending transaction) and deletes them once the
broker acknowledged them (acks=all). A transaction that commits after a later-numbered one
just appears in the outbox later; nothing is skipped. A crash between publish and delete
republishes the batch (allowed: consumers deduplicate by stream sequence).

Order per stream: a stream's event N+1 can only be appended after N committed (optimistic
concurrency), so within a stream positions grow with sequence; each pass reads the outbox in
position order, and each partition's batches are sent in that order with one request in flight
per partition (aiokafka's sender), so a stream's events reach their partition in order.

One relay per service publishes at a time: a lease row in ``es_relay`` (renewed each pass)
keeps a second instance of the service idle until the first is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from sqlalchemy import CursorResult, String, delete, func, insert, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY
from shared.db import Database
from shared.eventstore.tables import events, outbox, relay_state
from shared.messaging.codec import encode_record

log = logging.getLogger(__name__)

TopicIdLookup = Callable[[str], Awaitable[str | None]]
"""Returns the broker's current id of a topic (None if missing), creating it if need be."""


@dataclass
class RelayStats:
    published: int = 0
    passes: int = 0
    republished_after_reset: int = 0
    last_error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


async def requeue_all(session: AsyncSession, *, from_position: int = 0) -> int:
    """Put every stored event from ``from_position`` back in the outbox (disaster recovery),
    except private events, which are never published."""
    pending = select(outbox.c.position)
    result = await session.execute(
        insert(outbox).from_select(
            ["position"],
            select(events.c.position).where(
                events.c.position >= from_position,
                events.c.position.not_in(pending),
                events.c.type.not_in(REGISTRY.private_types()),
            ),
        )
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


async def outbox_backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many events wait to be published, and when the oldest of them happened."""
    count = await session.scalar(select(func.count()).select_from(outbox))
    oldest = await session.scalar(
        select(func.min(events.c.occurred_at)).join(outbox, outbox.c.position == events.c.position)
    )
    return int(count or 0), _aware(oldest)


class OutboxRelay:
    def __init__(
        self,
        *,
        db: Database,
        topic: str,
        producer_kwargs: dict[str, Any],
        topic_id_lookup: TopicIdLookup,
        batch_size: int = 5000,
        idle_seconds: float = 0.05,
        lease_seconds: float = 15.0,
        topic_check_seconds: float = 5.0,
        owner: str | None = None,
    ) -> None:
        self.db = db
        self.topic = topic
        self.producer_kwargs = producer_kwargs
        self.topic_id_lookup = topic_id_lookup
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.topic_check_seconds = topic_check_seconds
        self.owner = owner or f"relay-{uuid.uuid4()}"
        self.stats = RelayStats()
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = DefaultPartitioner()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_topic_check = 0.0

    def wake(self) -> None:
        """Hint that new events were committed, so the relay need not wait for its next tick."""
        self._wake.set()

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(**self.producer_kwargs)
        await self._producer.start()

    def request_stop(self) -> None:
        """Make ``run`` return at its next step (before the producer is closed)."""
        self._stopping.set()
        self._wake.set()

    async def stop(self) -> None:
        self.request_stop()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        try:
            async with self.db.transaction() as session:
                await session.execute(
                    update(relay_state)
                    .where(relay_state.c.topic == self.topic, relay_state.c.owner == self.owner)
                    .values(owner=None, lease_until=None)
                )
        except Exception as exc:  # the lease then simply expires
            log.warning("could not release the relay lease for %s: %s", self.topic, exc)

    async def run(self) -> None:
        """Publish until stopped; errors are logged and retried with backoff, never fatal."""
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                published = await self.run_once()
                backoff = 0.2
                self.stats.last_error = None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the relay must outlive broker and database outages
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay for %s failed: %s; retrying", self.topic, exc)
                self._last_topic_check = 0.0  # re-check the topic: the broker may be new
                await self._sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if published == 0:
                await self._sleep(self.idle_seconds if self._wake.is_set() else 0.5)

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as the inner wait completes, and the relay would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    async def run_once(self) -> int:
        """One pass: hold the lease, check the topic's identity, publish one batch."""
        if not await self._hold_lease():
            return 0
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_topic_check >= self.topic_check_seconds:
            await self._check_topic_identity()
            self._last_topic_check = loop.time()
        return await self._publish_batch()

    async def _hold_lease(self) -> bool:
        now = _utcnow()
        until = now + self.lease
        async with self.db.transaction() as session:
            result = await session.execute(
                update(relay_state)
                .where(
                    relay_state.c.topic == self.topic,
                    (relay_state.c.owner == self.owner)
                    | (relay_state.c.owner.is_(None))
                    | (relay_state.c.lease_until < now),
                )
                .values(owner=self.owner, lease_until=until)
            )
            if cast(CursorResult[Any], result).rowcount:
                return True
            exists = await session.scalar(
                select(relay_state.c.topic).where(relay_state.c.topic == self.topic)
            )
            if exists is None:
                await session.execute(
                    insert(relay_state).values(
                        topic=self.topic, owner=self.owner, lease_until=until, published_total=0
                    )
                )
                return True
        return False

    async def _check_topic_identity(self) -> None:
        current = await self.topic_id_lookup(self.topic)
        async with self.db.transaction() as session:
            recorded = await session.scalar(
                select(relay_state.c.topic_id).where(relay_state.c.topic == self.topic)
            )
            if current is None or recorded == current:
                return
            if recorded is not None:
                requeued = await requeue_all(session)
                self.stats.republished_after_reset += requeued
                log.warning(
                    "topic %s was recreated (id %s -> %s): the broker lost its data; "
                    "republishing %d events from the event table",
                    self.topic,
                    recorded,
                    current,
                    requeued,
                )
            await session.execute(
                update(relay_state)
                .where(relay_state.c.topic == self.topic)
                .values(topic_id=current)
            )

    async def _publish_batch(self) -> int:
        async with self.db.reading() as session:
            rows = (
                (
                    await session.execute(
                        select(
                            events.c.position,
                            events.c.partition_key,
                            # As stored (text on SQLite): encode_record formats them, and
                            # building uuid.UUID objects only to print them again was a
                            # third of the relay's time in the benchmark's profile.
                            _as_stored(events.c.event_id),
                            events.c.type,
                            events.c.version,
                            events.c.stream,
                            events.c.sequence,
                            events.c.occurred_at,
                            events.c.actor_ref,
                            events.c.actor_role,
                            events.c.unit_id,
                            events.c.branch_id,
                            events.c.year,
                            _as_stored(events.c.correlation_id),
                            _as_stored(events.c.causation_id),
                            events.c.data,
                        )
                        .join(outbox, outbox.c.position == events.c.position)
                        .order_by(outbox.c.position)
                        .limit(self.batch_size)
                    )
                )
                .mappings()
                .all()
            )
        if not rows:
            return 0
        published = await self._send(rows)
        async with self.db.transaction() as session:
            for chunk in _chunks(published, 500):
                await session.execute(delete(outbox).where(outbox.c.position.in_(chunk)))
            await session.execute(
                update(relay_state)
                .where(relay_state.c.topic == self.topic)
                .values(published_total=relay_state.c.published_total + len(published))
            )
        self.stats.published += len(published)
        self.stats.passes += 1
        if len(published) < len(rows):
            raise RuntimeError(f"{len(rows) - len(published)} events were not acknowledged")
        return len(published)

    async def _send(self, rows: Sequence[Any]) -> list[int]:
        """Send rows in per-partition batches; return the positions the broker acknowledged."""
        producer = self._producer
        if producer is None:
            raise RuntimeError("the relay was not started")
        partitions = await producer.partitions_for(self.topic)
        ordered = sorted(partitions)
        per_partition: dict[int, list[tuple[int, bytes, bytes, list[tuple[str, bytes]]]]] = {}
        for row in rows:
            key, value, headers = encode_record(row)
            partition = self._partitioner(key, ordered, ordered)
            per_partition.setdefault(partition, []).append((row["position"], key, value, headers))

        async def send_partition(partition: int, items: list[Any]) -> list[int]:
            # One batch at a time per partition: if batch N failed while N+1 got through, a
            # stream's later event would precede its earlier one on the topic.
            acked: list[int] = []
            index = 0
            while index < len(items):
                batch = producer.create_batch()
                in_batch: list[int] = []
                while index < len(items):
                    position, key, value, headers = items[index]
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        if not in_batch:
                            raise ValueError(
                                f"event at position {position} is too large to publish"
                            )
                        break
                    in_batch.append(position)
                    index += 1
                batch.close()
                try:
                    await await_send(batch, partition)
                except Exception as exc:
                    log.warning("publish to %s[%d] failed: %s", self.topic, partition, exc)
                    break
                acked.extend(in_batch)
            return acked

        async def await_send(batch: Any, partition: int) -> None:
            future = await producer.send_batch(batch, self.topic, partition=partition)
            await future

        results = await asyncio.gather(
            *(send_partition(p, items) for p, items in per_partition.items())
        )
        return [position for acked in results for position in acked]


def _as_stored(column: Any) -> Any:
    return type_coerce(column, String).label(column.name)


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
