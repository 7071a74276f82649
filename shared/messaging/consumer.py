"""The checkpointed consumer: exactly-once effects on top of at-least-once delivery.

For each batch of records, in ONE database transaction:
  1. lock this consumer's offset rows for the batch's partitions (a rebalanced-away instance
     still finishing a batch and the new owner then serialize instead of both applying);
  2. skip records below the stored offset (already applied), decode the rest;
  3. skip events whose stream sequence is not above the stream's last applied sequence
     (redelivered or republished events are no-ops);
  4. apply the remaining events to projection tables, as one batch;
  5. store the next offset per partition and the last sequence per stream.
A record that cannot be decoded or applied is published to ``<topic>.dlq`` with the reason
(before the commit: a crash in between re-sends it, it is never lost) and recorded in
``cp_dead_letters``; the batch carries on.

The transport is separate (:mod:`shared.messaging.subscriber`): anything that hands over
records with topic/partition/offset can drive :meth:`CheckpointedConsumer.process`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import EventRegistry, UnknownEventType
from shared.db import Database
from shared.eventstore.store import StoredEvent
from shared.eventstore.tables import consumer_offsets, consumer_streams, dead_letters
from shared.messaging.codec import DecodeError, decode_envelope
from shared.signing import ChainProof, Verifier

log = logging.getLogger(__name__)


class Record(Protocol):
    """The parts of a Kafka record we use (aiokafka's ConsumerRecord has them)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True)
class SimpleRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


Apply = Callable[[AsyncSession, Sequence[StoredEvent]], Awaitable[None]]
"""Applies a batch of new events (in log order) to projection tables inside the session.

Projections should work per batch (aggregate in memory, write once): that is what makes a
rebuild run near the broker's consume rate. When a batch fails, the consumer retries it one
event at a time, each in a savepoint, so only the failing event is dead-lettered."""
DeadLetterSink = Callable[[Record, str], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetter:
    record: Record
    reason: str


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    already_done: int = 0
    held_back: int = 0
    dead: list[DeadLetter] = field(default_factory=list)
    # Partitions whose records started past the stored offset (a batch fetched before a
    # seek): nothing of them was applied; the transport must seek back to the stored offset.
    rewind: set[tuple[str, int]] = field(default_factory=set)


@dataclass
class ConsumerStats:
    """Running totals since the process started (exported as Prometheus metrics)."""

    batches: int = 0
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    last_batch_seconds: float = 0.0

    def record(self, result: BatchResult, records: int, seconds: float) -> None:
        self.batches += 1
        self.records += records
        self.applied += result.applied
        self.duplicates += result.duplicates + result.already_done
        self.dead_letters += len(result.dead)
        self.seconds += seconds
        self.last_batch_seconds = seconds


@dataclass(frozen=True)
class _Decoded:
    record: Record
    event: StoredEvent


def upsert(
    session: AsyncSession, table: Any, rows: list[dict[str, Any]], keys: Iterable[str]
) -> Any:
    """INSERT .. ON CONFLICT (keys) DO UPDATE for SQLite and PostgreSQL, as an executemany of
    one cached statement (a multi-row VALUES differs with every row count, and compiling it
    cost more than running it). Every row must carry the same columns."""
    if not rows:
        return _done()
    dialect = session.get_bind().dialect.name
    return session.execute(_upsert_statement(dialect, table, tuple(keys), frozenset(rows[0])), rows)


@functools.lru_cache(maxsize=256)
def _upsert_statement(
    dialect: str, table: Any, keys: tuple[str, ...], columns: frozenset[str]
) -> Any:
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = builder(table)
    updates = {
        c.name: stmt.excluded[c.name]
        for c in table.columns
        if c.name not in keys and c.name in columns
    }
    if not updates:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)


async def _done() -> None:
    return None


class CheckpointedConsumer:
    def __init__(
        self,
        *,
        name: str,
        db: Database,
        registry: EventRegistry,
        apply: Apply,
        dead_letter_sink: DeadLetterSink | None = None,
        topic_ids: dict[str, str] | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.name = name
        # Checks each record's signature before it is decoded (shared/signing.py): a record
        # that does not prove it comes from its topic's service is dead-lettered. Every
        # service and rebuild passes one; only the kernel's own tests run without.
        self.verifier = verifier
        self.db = db
        self.registry = registry
        self.apply = apply
        self.dead_letter_sink = dead_letter_sink
        # The broker's current topic ids, stored with each offset so that a recreated topic
        # (new id) is read from the start instead of from a stale offset.
        self.topic_ids = topic_ids or {}
        self.last_applied_at: datetime | None = None
        self.stats = ConsumerStats()
        self._gap_strikes: dict[tuple[str, int], int] = {}

    async def stored_offsets(self, topic: str) -> dict[int, int]:
        """Next offset to read per partition; partitions of a recreated topic are omitted."""
        async with self.db.reading() as session:
            rows = await session.execute(
                select(
                    consumer_offsets.c.partition,
                    consumer_offsets.c.next_offset,
                    consumer_offsets.c.topic_id,
                ).where(consumer_offsets.c.consumer == self.name, consumer_offsets.c.topic == topic)
            )
            current = self.topic_ids.get(topic)
            return {
                partition: offset
                for partition, offset, topic_id in rows
                if current is None or topic_id is None or topic_id == current
            }

    async def process(self, records: Sequence[Record]) -> BatchResult:
        """Apply a batch exactly once. Infrastructure errors propagate (nothing committed)."""
        if not records:
            return BatchResult()
        started = time.perf_counter()
        try:
            async with self.db.transaction() as session:
                result = await self._process(session, records, isolate=False)
        except _ApplyFailed:
            # Some event's apply raised: redo the batch with a savepoint per event so that
            # only the poison event is set aside.
            async with self.db.transaction() as session:
                result = await self._process(session, records, isolate=True)
        if result.applied:
            self.last_applied_at = datetime.now(UTC)
        self.stats.record(result, len(records), time.perf_counter() - started)
        return result

    async def _process(
        self, session: AsyncSession, records: Sequence[Record], *, isolate: bool
    ) -> BatchResult:
        result = BatchResult()
        partitions = sorted({(r.topic, r.partition) for r in records})
        stored = await self._lock_offsets(session, partitions)
        result.rewind = self._gaps(records, stored)

        fresh: list[Record] = []
        for record in records:
            if (record.topic, record.partition) in result.rewind:
                continue
            if record.offset < stored.get((record.topic, record.partition), -1):
                result.already_done += 1
            else:
                fresh.append(record)

        decoded: list[_Decoded] = []
        for record in fresh:
            try:
                decoded.append(_Decoded(record, self._decode(record)))
            except (DecodeError, UnknownEventType, ValueError) as exc:
                result.dead.append(DeadLetter(record, str(exc)))

        last_seq = await self._last_sequences(session, {d.event.envelope.stream for d in decoded})
        if isolate:
            applied = await self._apply_one_by_one(session, decoded, last_seq, result)
        else:
            pending = [item for item in decoded if self._is_next(item, last_seq, result)]
            try:
                await self.apply(session, [item.event for item in pending])
            except Exception as exc:
                raise _ApplyFailed from exc
            applied = pending
        touched = {i.event.envelope.stream: i.event.envelope.sequence for i in applied}
        result.applied = len(applied)

        next_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            if tp in result.rewind:
                continue
            next_offsets[tp] = max(next_offsets.get(tp, 0), record.offset + 1)
        await self.checkpoint(
            session, streams=touched, next_offsets=next_offsets, dead=result.dead, stored=stored
        )
        return result

    async def checkpoint(
        self,
        session: AsyncSession,
        *,
        streams: dict[str, int],
        next_offsets: dict[tuple[str, int], int],
        dead: Sequence[DeadLetter] = (),
        stored: dict[tuple[str, int], int] | None = None,
    ) -> None:
        """Record, in the caller's transaction, what was applied: each stream's last sequence,
        each partition's next offset, the dead letters. Every batch ends with it; so does a
        rebuild's fold (shared/readmodel/fold.py), once, for the whole log."""
        if streams:
            await upsert(
                session,
                consumer_streams,
                [
                    {"consumer": self.name, "stream": s, "last_sequence": q}
                    for s, q in sorted(streams.items())
                ],
                ["consumer", "stream"],
            )
        now = datetime.now(UTC)
        if next_offsets:
            await self._store_offsets(session, next_offsets, stored or {}, now)
        if dead:
            await self._dead_letter(session, list(dead), now)

    def decode_new(
        self, records: Sequence[Record], last_seq: dict[str, int], result: BatchResult
    ) -> list[StoredEvent]:
        return new_events(self.name, self.registry, records, last_seq, result, self.verifier)

    async def _store_offsets(
        self,
        session: AsyncSession,
        next_offsets: dict[tuple[str, int], int],
        stored: dict[tuple[str, int], int],
        now: datetime,
    ) -> None:
        await upsert(
            session,
            consumer_offsets,
            [
                {
                    "consumer": self.name,
                    "topic": topic,
                    "partition": partition,
                    "next_offset": max(offset, stored.get((topic, partition), 0)),
                    "topic_id": self.topic_ids.get(topic),
                    "updated_at": now,
                }
                for (topic, partition), offset in sorted(next_offsets.items())
            ],
            ["consumer", "topic", "partition"],
        )

    def _gaps(
        self, records: Sequence[Record], stored: dict[tuple[str, int], int]
    ) -> set[tuple[str, int]]:
        """Partitions whose first record lies beyond the stored offset. Offsets are contiguous
        here (retention forever, no compaction, no transactions), so such records were fetched
        before a seek (a rebalance, a read-model switch): applying them would skip the records
        in between. A gap that persists is real (a broker that lost records): after three
        tries it is logged and accepted rather than waited on forever."""
        lowest: dict[tuple[str, int], int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            lowest[tp] = min(lowest.get(tp, record.offset), record.offset)
        gaps: set[tuple[str, int]] = set()
        for tp, offset in lowest.items():
            expected = stored.get(tp)
            # 0: nothing applied from this partition yet, so where its log starts is unknown
            # (a broker may have trimmed it); only a position we applied up to is a promise.
            if not expected or offset <= expected:
                self._gap_strikes.pop(tp, None)
                continue
            strikes = self._gap_strikes.get(tp, 0) + 1
            if strikes > 3:
                log.error(
                    "%s: %s[%d] has no records %d..%d; going on from %d",
                    self.name,
                    tp[0],
                    tp[1],
                    expected,
                    offset - 1,
                    offset,
                )
                self._gap_strikes.pop(tp, None)
                continue
            self._gap_strikes[tp] = strikes
            gaps.add(tp)
        return gaps

    def _is_next(self, item: _Decoded, last_seq: dict[str, int], result: BatchResult) -> bool:
        return _is_next(self.name, item, last_seq, result)

    async def _apply_one_by_one(
        self,
        session: AsyncSession,
        decoded: list[_Decoded],
        last_seq: dict[str, int],
        result: BatchResult,
    ) -> list[_Decoded]:
        """Each event in its own savepoint; a failing one is dead-lettered and does not
        advance its stream, so only what was really applied counts as applied."""
        applied: list[_Decoded] = []
        for item in decoded:
            before = last_seq.get(item.event.envelope.stream, 0)
            if not self._is_next(item, last_seq, result):
                continue
            try:
                async with session.begin_nested():
                    await self.apply(session, [item.event])
            except Exception as exc:
                last_seq[item.event.envelope.stream] = before
                result.dead.append(
                    DeadLetter(item.record, f"apply failed: {type(exc).__name__}: {exc}")
                )
                continue
            applied.append(item)
        return applied

    def _decode(self, record: Record) -> StoredEvent:
        return decode_record(self.registry, record, self.verifier)

    async def _lock_offsets(
        self, session: AsyncSession, partitions: list[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        # Create missing rows first so the lock below always has a row to hold: two instances
        # racing on a partition's first batch would otherwise both apply it.
        now = datetime.now(UTC)
        dialect = session.get_bind().dialect.name
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(
            builder(consumer_offsets)
            .values(
                [
                    {
                        "consumer": self.name,
                        "topic": topic,
                        "partition": partition,
                        "next_offset": 0,
                        "topic_id": self.topic_ids.get(topic),
                        "updated_at": now,
                    }
                    for topic, partition in partitions
                ]
            )
            .on_conflict_do_nothing()
        )
        stmt = (
            select(
                consumer_offsets.c.topic,
                consumer_offsets.c.partition,
                consumer_offsets.c.next_offset,
                consumer_offsets.c.topic_id,
            )
            .where(
                consumer_offsets.c.consumer == self.name,
                tuple_(consumer_offsets.c.topic, consumer_offsets.c.partition).in_(partitions),
            )
            .with_for_update()
        )
        stored: dict[tuple[str, int], int] = {}
        for topic, partition, offset, topic_id in await session.execute(stmt):
            current = self.topic_ids.get(topic)
            if current is not None and topic_id is not None and topic_id != current:
                continue  # offsets of a topic that no longer exists mean nothing
            stored[(topic, partition)] = offset
        return stored

    async def _last_sequences(self, session: AsyncSession, names: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ordered = sorted(names)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            rows = await session.execute(
                select(consumer_streams.c.stream, consumer_streams.c.last_sequence).where(
                    consumer_streams.c.consumer == self.name,
                    consumer_streams.c.stream.in_(chunk),
                )
            )
            found.update({stream: seq for stream, seq in rows})
        return found

    async def _dead_letter(
        self, session: AsyncSession, dead: list[DeadLetter], now: datetime
    ) -> None:
        for item in dead:
            log.error(
                "%s: %s[%d]@%d sent to the dead-letter topic: %s",
                self.name,
                item.record.topic,
                item.record.partition,
                item.record.offset,
                item.reason,
            )
            if self.dead_letter_sink is not None:
                await self.dead_letter_sink(item.record, item.reason)
        await session.execute(
            insert(dead_letters),
            [
                {
                    "consumer": self.name,
                    "topic": d.record.topic,
                    "partition": d.record.partition,
                    "offset": d.record.offset,
                    "reason": d.reason[:4000],
                    "recorded_at": now,
                }
                for d in dead
            ],
        )


class _ApplyFailed(Exception):
    pass


def decode_record(
    registry: EventRegistry, record: Record, verifier: Verifier | None = None
) -> StoredEvent:
    """The event in ``record``; raises ValueError (a dead letter) for a record that does not
    prove its origin (with a verifier), is not an envelope, or is not a known event."""
    if verifier is not None:
        verifier.check(record)
    envelope = decode_envelope(record.value, record.headers)
    event = registry.decode(envelope.type, envelope.version, envelope.data)
    return StoredEvent(position=-1, envelope=envelope, event=event)


def new_events(
    name: str,
    registry: EventRegistry,
    records: Sequence[Record],
    last_seq: dict[str, int],
    result: BatchResult,
    verifier: Verifier | None = None,
    proof: ChainProof | None = None,
) -> list[StoredEvent]:
    """Decode ``records`` (offsets not yet applied, in log order) and keep the events that come
    next in their streams, as a batch does (``last_seq`` advances; undecodable records land
    in ``result.dead``, duplicates and held-back events are counted). A rebuild's fold uses
    it too (shared/readmodel/fold.py), in this process or in its worker processes.

    With a ``proof`` (a fold's, built on ``verifier``), a record whose value hashes to its
    chain link and that comes next in its stream is applied without its own signature check:
    :meth:`ChainProof.finish` proves each stream's chain with its last signature. Every other
    record is verified on its own, as without a proof."""
    events: list[StoredEvent] = []
    for record in records:
        link = proof.link(record) if proof is not None else None
        try:
            item = _Decoded(record, decode_record(registry, record, None if link else verifier))
            if link is not None and verifier is not None:
                envelope = item.event.envelope
                if envelope.sequence != last_seq.get(envelope.stream, 0) + 1:
                    verifier.check(record)  # not applied: a forged copy is dead-lettered
                    link = None
        except (DecodeError, UnknownEventType, ValueError) as exc:
            result.dead.append(DeadLetter(record, str(exc)))
            continue
        if _is_next(name, item, last_seq, result):
            if link is not None and proof is not None:
                proof.applied(record, item.event.envelope.stream, link)
            events.append(item.event)
    result.applied += len(events)
    return events


def _is_next(name: str, item: _Decoded, last_seq: dict[str, int], result: BatchResult) -> bool:
    """Dedupe by stream sequence; advances ``last_seq`` when the event is new."""
    envelope = item.event.envelope
    last = last_seq.get(envelope.stream, 0)
    if envelope.sequence <= last:
        result.duplicates += 1
        return False
    if envelope.sequence != last + 1:
        # Held back, not applied: the events in between are still to come. After a broker
        # lost its data, a relay may put a stream's later event on the new topic before the
        # re-queued earlier ones; applying it would turn those into "duplicates" and lose
        # them (tests/faults/test_broker_loss.py). The re-queued copies follow.
        log.warning(
            "%s: stream %s jumps from %d to %d: held back until the gap is filled",
            name,
            envelope.stream,
            last,
            envelope.sequence,
        )
        result.held_back += 1
        return False
    last_seq[envelope.stream] = envelope.sequence
    return True
