"""The outbox relay: publishes stored events to the service's topic, in order per stream.

Gap safety: the relay never tracks a high-water mark over positions. It publishes whatever
rows are in ``es_outbox`` (written by the appending transaction) and deletes them once the
broker acknowledged them (acks=all). A transaction that commits after a later-numbered one
just appears in the outbox later; nothing is skipped. A crash between publish and delete
republishes the batch (allowed: consumers deduplicate by stream sequence).

Order per stream: a stream's event N+1 can only be appended after N committed (optimistic
concurrency), so within a stream positions grow with sequence; each read takes the outbox in
position order, and each partition's batches are sent in that order with one batch in flight
per partition, so a stream's events reach their partition in order.

Pipeline: while a batch is in flight, the relay deletes the previous one and reads the next:
the rows after the in-flight batch's last position, kept only if no other row waits at or
before it (else a late-committing row could be overtaken by its stream's next event; the
read is then made again once the batch is deleted). The next batch is sent once the current
one was acknowledged in full; a batch that was not ends the pass before anything after it.

What is sent is what the event store encoded at append time (``es_events.wire``): the relay
reads those bytes and the key and header columns, and encodes only rows stored without them.

One relay per service publishes at a time: a lease row in ``es_relay`` (renewed with each
delete) keeps a second instance of the service idle until the first is gone.
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
from sqlalchemy import (
    CursorResult,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY
from shared.db import Database
from shared.eventstore.rows import uuid_text
from shared.eventstore.tables import EVENT_COLUMNS, events, outbox, relay_state
from shared.messaging.codec import encode_record, record_headers

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
        self._partitions: list[int] = []
        self._partition_of: dict[bytes, int] = {}  # the partitioner is pure Python: cached
        self._headers: dict[tuple[str, int], list[tuple[str, bytes]]] = {}
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
        return await self._publish()

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

    async def _publish(self) -> int:
        """Publish batches until the outbox is empty, reading the next batch (and deleting the
        previous one) while the current one is in flight.

        Batch N+1 is read from the rows after batch N's last position, and only if no other
        row at or before that position is waiting (a transaction that committed late): then
        it holds exactly what a read after deleting batch N would give, in position order,
        and it is sent only once every record of batch N was acknowledged. Otherwise it is
        dropped and read again once batch N is deleted. A batch that is not acknowledged in
        full ends the pass (what was acknowledged is deleted) before anything after it is
        sent. The lease is renewed with each delete; the pass also ends when it was lost.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.lease.total_seconds() / 3
        total = 0
        acked: list[int] = []  # acknowledged, not yet deleted
        going = True  # False once the lease was lost, the pass is long enough or stopping
        records = await self._fetch() or []
        while records:
            sending = asyncio.create_task(self._send(records))
            following: list[Record] | None = None
            try:
                # While the batch is in flight: delete the previous one, read the next.
                if acked:
                    total += len(acked)
                    going = await self._delete(acked)
                    acked = []
                going = going and loop.time() < deadline and not self._stopping.is_set()
                if going:
                    following = await self._fetch(after=records[-1][0], waiting=len(records))
                sent = await sending
            except BaseException:
                if not sending.done():
                    sending.cancel()
                    await asyncio.wait([sending])
                raise
            self.stats.passes += 1
            if len(sent) < len(records):
                await self._delete(sent)
                self.stats.published += len(sent)
                raise RuntimeError(f"{len(records) - len(sent)} events were not acknowledged")
            self.stats.published += len(sent)
            acked = sent
            if following is None:  # a late row, or the pass ends: delete first
                total += len(acked)
                going = await self._delete(acked) and going
                acked = []
                following = (await self._fetch() or []) if going else []
            records = following
        if acked:
            total += len(acked)
            await self._delete(acked)
        return total

    async def _fetch(self, *, after: int = 0, waiting: int = 0) -> list[Record] | None:
        """The next outbox rows in position order, ready to send: (position, key, value,
        headers). With ``waiting``: None unless exactly that many rows (the batch in flight)
        wait at or before ``after``."""
        async with self.db.reading() as session:
            rows = (await session.execute(_NEXT, {"after": after, "limit": self.batch_size})).all()
            if waiting:
                # Counted after the read: a row that committed late, before the read, is
                # counted here; one that commits after the read cannot have a successor in
                # its stream among the rows read (that one is appended after it commits).
                before = await session.scalar(_WAITING, {"after": after})
                if before != waiting:
                    return None
            unencoded = [row[0] for row in rows if row[5] is None]
            encoded: dict[int, Record] = {}
            for chunk in _chunks(unencoded, _CHUNK):
                # Stored without wire bytes (before the column existed): encode the columns.
                for old in (await session.execute(_STORED, {"positions": chunk})).mappings():
                    encoded[old["position"]] = (old["position"], *encode_record(old))
        headers = self._headers
        records: list[Record] = []
        for position, key, event_id, type_, version, wire in rows:
            if wire is None:
                records.append(encoded[position])
                continue
            common = headers.get((type_, version))
            if common is None:
                common = headers[(type_, version)] = record_headers(type_, version, "")[:3]
            records.append(
                (
                    position,
                    key.encode(),
                    wire,
                    [*common, ("event_id", uuid_text(event_id).encode())],
                )
            )
        return records

    async def _delete(self, positions: list[int]) -> bool:
        """Delete published rows, count them, renew the lease; False if it was lost."""
        now = _utcnow()
        async with self.db.transaction() as session:
            for chunk in _chunks(positions, _CHUNK):
                await session.execute(_DELETE, {"positions": chunk})
            owner = await session.scalar(
                update(relay_state)
                .where(relay_state.c.topic == self.topic)
                .values(
                    published_total=relay_state.c.published_total + len(positions),
                    lease_until=case(
                        (relay_state.c.owner == self.owner, now + self.lease),
                        else_=relay_state.c.lease_until,
                    ),
                )
                .returning(relay_state.c.owner)
            )
        return bool(owner == self.owner)

    async def _send(self, records: Sequence[Record]) -> list[int]:
        """Send records in per-partition batches; return the positions the broker acknowledged."""
        producer = self._producer
        if producer is None:
            raise RuntimeError("the relay was not started")
        partitions = sorted(await producer.partitions_for(self.topic))
        if partitions != self._partitions:
            self._partitions = partitions
            self._partition_of = {}
        partition_of = self._partition_of
        per_partition: dict[int, list[Record]] = {}
        for record in records:
            key = record[1]
            partition = partition_of.get(key)
            if partition is None:
                partition = partition_of[key] = self._partitioner(key, partitions, partitions)
            per_partition.setdefault(partition, []).append(record)

        async def send_partition(partition: int, items: list[Record]) -> list[int]:
            # One batch at a time per partition: if batch N failed while N+1 got through, a
            # stream's later event would precede its earlier one on the topic.
            acked: list[int] = []
            index = 0
            while index < len(items):
                batch = producer.create_batch()
                start = index
                while index < len(items):
                    _, key, value, headers = items[index]
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        if index == start:
                            raise ValueError(
                                f"event at position {items[index][0]} is too large to publish"
                            )
                        break
                    index += 1
                batch.close()
                try:
                    await await_send(batch, partition)
                except Exception as exc:
                    log.warning("publish to %s[%d] failed: %s", self.topic, partition, exc)
                    break
                acked.extend(item[0] for item in items[start:index])
            return acked

        async def await_send(batch: Any, partition: int) -> None:
            future = await producer.send_batch(batch, self.topic, partition=partition)
            await future

        results = await asyncio.gather(
            *(send_partition(p, items) for p, items in per_partition.items())
        )
        return [position for acked in results for position in acked]


Record = tuple[int, bytes, bytes, list[tuple[str, bytes]]]
"""An outbox row ready to send: (position, key, value, headers)."""


def _as_stored(column: Any) -> Any:
    return type_coerce(column, String).label(column.name)


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_CHUNK = 5000
"""Positions per IN list (SQLite allows 32,766 parameters, asyncpg 32,767)."""

# The next outbox rows after :after, at most :limit, with what the relay needs per event: the
# stored wire bytes and what the key and headers are made of. UUIDs as stored (text on
# SQLite): building uuid.UUID objects only to print them again was a third of the relay's time
# in an earlier profile. Both tables are bounded by the position range of the batch, so that a
# batch reads its own range of es_events and never scans the table (PostgreSQL chose a hash
# join over a full scan of es_events for a join bounded on the outbox side only).
_BATCH = (
    select(outbox.c.position)
    .where(outbox.c.position > bindparam("after"))
    .order_by(outbox.c.position)
    .limit(bindparam("limit"))
    .subquery("batch")
)
_LAST = select(func.max(_BATCH.c.position)).scalar_subquery()
_NEXT = (
    select(
        outbox.c.position,
        events.c.partition_key,
        _as_stored(events.c.event_id),
        events.c.type,
        events.c.version,
        events.c.wire,
    )
    .join(events, events.c.position == outbox.c.position)
    .where(
        outbox.c.position > bindparam("after"),
        outbox.c.position <= _LAST,
        events.c.position > bindparam("after"),
        events.c.position <= _LAST,
    )
    .order_by(outbox.c.position)
)

_WAITING = select(func.count()).select_from(outbox).where(outbox.c.position <= bindparam("after"))

# A row stored without wire bytes: every column the envelope is built from.
_STORED = select(
    *(
        _as_stored(column)
        if column.name in ("event_id", "correlation_id", "causation_id")
        else column
        for column in EVENT_COLUMNS
    )
).where(events.c.position.in_(bindparam("positions", expanding=True)))

_DELETE = delete(outbox).where(outbox.c.position.in_(bindparam("positions", expanding=True)))
