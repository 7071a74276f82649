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
    BigInteger,
    CursorResult,
    String,
    Text,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY
from shared.db import Database
from shared.eventstore.rows import envelope_bytes
from shared.eventstore.tables import EVENT_COLUMNS, events, outbox, relay_state
from shared.messaging.codec import record_headers
from shared.signing import SigningKey

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
        # Events read, sent and deleted together. Large: the next batch is only sent once
        # every partition acknowledged this one, and that wait for the slowest partition (and
        # each batch's statements) is paid per batch (scale 0.1 on PostgreSQL: 5,000 gave
        # 33-39k events/s, 20,000 gave 50-65k, same runs); ~15 MB while two are held.
        batch_size: int = 20_000,
        idle_seconds: float = 0.05,
        lease_seconds: float = 15.0,
        topic_check_seconds: float = 5.0,
        owner: str | None = None,
        signer: SigningKey | None = None,
    ) -> None:
        """``signer``: the service's event signing key (shared/signing.py); every service
        passes one. Without it records go out unsigned, which consumers that verify refuse
        (only the kernel's own tests and benchmarks of the bare relay publish unsigned)."""
        self.db = db
        self.topic = topic
        self.signer = signer
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
        self._partition_of: dict[str, int] = {}  # the partitioner is pure Python: cached
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
        done: _Batch | None = None  # acknowledged in full, not yet deleted
        going = True  # False once the lease was lost, the pass is long enough or stopping
        batch = await self._fetch(after=0)
        while batch is not None and batch.records:
            sending = asyncio.create_task(self._send(batch.records))
            following: _Batch | None = None
            try:
                # While the batch is in flight: delete the previous one, read the next.
                if done is not None:
                    total += len(done.records)
                    going = await self._delete(done)
                    done = None
                going = going and loop.time() < deadline and not self._stopping.is_set()
                if going:
                    following = await self._fetch(after=batch.last, waiting=len(batch.records))
                sent = await sending
            except BaseException:
                if not sending.done():
                    sending.cancel()
                    await asyncio.wait([sending])
                raise
            self.stats.passes += 1
            self.stats.published += len(sent)
            if len(sent) < len(batch.records):
                await self._delete(batch, sent)
                raise RuntimeError(f"{len(batch.records) - len(sent)} events were not acknowledged")
            done = batch
            if following is None:  # a late row, or the pass ends: delete first
                total += len(done.records)
                going = await self._delete(done) and going
                done = None
                following = await self._fetch(after=0) if going else None
            batch = following
        if done is not None:
            total += len(done.records)
            await self._delete(done)
        return total

    async def _fetch(self, *, after: int, waiting: int = 0) -> _Batch | None:
        """The next outbox rows after position ``after``, ready to send. With ``waiting``:
        None unless exactly that many rows (the batch in flight) wait at or before it."""
        async with self.db.reading() as session:
            if self.db.dialect == "postgresql":
                # The batch's positions (as one array), then its events by primary key:
                # PostgreSQL answered the join with a hash join over a full scan of es_events
                # for every batch.
                positions = await session.scalar(
                    _POSITIONS, {"after": after, "limit": self.batch_size}
                )
                result = (
                    await session.execute(_BY_POSITION, {"positions": positions})
                    if positions
                    else None
                )
            else:
                result = await session.execute(_NEXT, {"after": after, "limit": self.batch_size})
            # Plain tuples of plain values, one result row at a time: the cyclic garbage
            # collector stops tracking the tuples at its next pass, where result rows kept
            # alive while a batch is in flight would be traversed by every full collection
            # (in a large process heap that cost more than all the rest of the relay's work).
            records: list[Record] = [] if result is None else [tuple(row) for row in result]
            if waiting:
                # Counted after the read: a row that committed late, before the read, is
                # counted here; one that commits after the read cannot have a successor in
                # its stream among the rows read (that one is appended after it commits).
                before = await session.scalar(_WAITING, {"after": after})
                if before != waiting:
                    return None
            unencoded = [index for index, record in enumerate(records) if record[5] is None]
            for start in range(0, len(unencoded), _CHUNK):
                # Stored without wire bytes (before the column existed): encode the columns.
                chunk = unencoded[start : start + _CHUNK]
                found = {
                    old["position"]: old
                    for old in (
                        await session.execute(
                            _STORED, {"positions": [records[i][0] for i in chunk]}
                        )
                    ).mappings()
                }
                for i in chunk:
                    record = records[i]
                    records[i] = (*record[:5], envelope_bytes(found[record[0]]), *record[6:])
        return _Batch(after, records)

    async def _delete(self, batch: _Batch, acked: list[int] | None = None) -> bool:
        """Delete the rows of ``batch`` the broker acknowledged (all unless ``acked`` says
        which), count them, renew the lease; False if the lease was lost.

        A batch is every outbox row in its position range when it was read, so an
        acknowledged batch is deleted by that range, unless the delete also met a row that
        appeared in the range since (a late commit): then it is rolled back and the rows
        are deleted one by one."""
        if acked is None:
            count = len(batch.records)
            if not count:
                return True
            try:
                async with self.db.transaction() as session:
                    deleted = (
                        await session.execute(
                            _DELETE_RANGE, {"after": batch.after, "last": batch.last}
                        )
                    ).all()
                    if len(deleted) == count and {p for (p,) in deleted} <= batch.positions():
                        return await self._count(session, count)
                    raise _RangeHadOthers  # roll the delete back
            except _RangeHadOthers:
                log.info("a row appeared in a published batch's range: deleting one by one")
            acked = [record[0] for record in batch.records]
        async with self.db.transaction() as session:
            for chunk in _chunks(acked, _CHUNK):
                await session.execute(_DELETE, {"positions": chunk})
            return await self._count(session, len(acked))

    async def _count(self, session: AsyncSession, published: int) -> bool:
        """Add to the published total and renew the lease; False if it was lost."""
        owner = await session.scalar(
            update(relay_state)
            .where(relay_state.c.topic == self.topic)
            .values(
                published_total=relay_state.c.published_total + published,
                lease_until=case(
                    (relay_state.c.owner == self.owner, _utcnow() + self.lease),
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
                partition = partition_of[key] = self._partitioner(
                    key.encode(), partitions, partitions
                )
            per_partition.setdefault(partition, []).append(record)
        headers = self._headers
        signer = self.signer

        async def send_partition(partition: int, items: list[Record]) -> list[int]:
            # One batch at a time per partition: if batch N failed while N+1 got through, a
            # stream's later event would precede its earlier one on the topic.
            acked: list[int] = []
            index = 0
            while index < len(items):
                batch = producer.create_batch()
                start = index
                while index < len(items):
                    position, key, event_id, type_, version, wire, prev, link = items[index]
                    common = headers.get((type_, version))
                    if common is None:
                        common = headers[(type_, version)] = record_headers(type_, version, "")
                    key_bytes = key.encode()
                    record_headers_ = [*common[:3], ("event_id", event_id.encode())]
                    if signer is not None:
                        record_headers_ += signer.headers(
                            topic=self.topic,
                            key=key_bytes,
                            type_=type_,
                            version=version,
                            event_id=event_id,
                            position=position,
                            prev_hash=prev,
                            hash_=link,
                        )
                    if (
                        batch.append(
                            key=key_bytes,
                            value=wire,
                            timestamp=None,
                            headers=record_headers_,
                        )
                        is None
                    ):
                        if index == start:
                            raise ValueError(
                                f"event at position {position} is too large to publish"
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


Record = tuple[int, str, str, str, int, bytes, str, str]
"""An outbox row as read: (position, partition key, event id, type, version, the wire
bytes, prev_hash, hash). Key and headers are made as each record is added to a batch."""


def _as_stored(column: Any) -> Any:
    return type_coerce(column, String).label(column.name)


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_CHUNK = 5000
"""Positions per IN list (SQLite allows 32,766 parameters, asyncpg 32,767)."""

# What the relay reads per event: the stored wire bytes and what the key and headers are made
# of, the event id already as its canonical text (formatting it in Python cost more per event
# than anything but adding the record to a producer batch).
_HEX_ID = type_coerce(events.c.event_id, String)  # SQLite stores 32 hex digits
_SQLITE_COLUMNS = (
    events.c.partition_key,
    case(
        (
            func.length(_HEX_ID) == 32,
            func.substr(_HEX_ID, 1, 8)
            + "-"
            + func.substr(_HEX_ID, 9, 4)
            + "-"
            + func.substr(_HEX_ID, 13, 4)
            + "-"
            + func.substr(_HEX_ID, 17, 4)
            + "-"
            + func.substr(_HEX_ID, 21, 12),
        ),
        else_=_HEX_ID,
    ).label("event_id"),
    events.c.type,
    events.c.version,
    events.c.wire,
    events.c.prev_hash,
    events.c.hash,
)
_POSTGRESQL_COLUMNS = (
    events.c.partition_key,
    sql_cast(events.c.event_id, Text).label("event_id"),
    events.c.type,
    events.c.version,
    events.c.wire,
    events.c.prev_hash,
    events.c.hash,
)

# SQLite: the next outbox rows after :after, at most :limit, joined by rowid.
_NEXT = (
    select(outbox.c.position, *_SQLITE_COLUMNS)
    .join(events, events.c.position == outbox.c.position)
    .where(outbox.c.position > bindparam("after"))
    .order_by(outbox.c.position)
    .limit(bindparam("limit"))
)

# PostgreSQL: the same in two steps, positions then events by primary key.
_PENDING = (
    select(outbox.c.position)
    .where(outbox.c.position > bindparam("after"))
    .order_by(outbox.c.position)
    .limit(bindparam("limit"))
    .subquery("pending")
)
_POSITIONS = select(func.array_agg(_PENDING.c.position))
_BY_POSITION = (
    select(events.c.position, *_POSTGRESQL_COLUMNS)
    .where(events.c.position == any_(bindparam("positions", type_=ARRAY(BigInteger))))
    .order_by(events.c.position)
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
_DELETE_RANGE = (
    delete(outbox)
    .where(outbox.c.position > bindparam("after"), outbox.c.position <= bindparam("last"))
    .returning(outbox.c.position)
)


class _RangeHadOthers(Exception):
    """The range delete met rows that are not the batch's: it is rolled back."""


@dataclass(frozen=True)
class _Batch:
    """Outbox rows read together: every row in (after, last] at the time of the read."""

    after: int
    records: list[Record]

    @property
    def last(self) -> int:
        return self.records[-1][0]

    def positions(self) -> set[int]:
        return {record[0] for record in self.records}
