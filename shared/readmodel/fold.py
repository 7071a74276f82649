"""Folding the log in memory: how a rebuild fills an empty slot at the speed of the wire.

A rebuild that starts from an empty slot does not need the consumer's per-batch transactions:
nothing reads the slot until it is verified, and an interrupted fold leaves the slot as empty
as it found it (a rerun starts the fold again). So a read model may declare a *fold*
(``ReadModelSpec.fold``): the rebuild decodes every record up to the ends of the topics,
drops duplicates and held-back events by stream sequence exactly as the checkpointed consumer
does, hands the events to the fold in log order, and at the end writes, in ONE transaction,
the fold's rows (bulk inserts into the empty tables), the per-stream sequences and the
offsets. From there the rebuild goes on with the ordinary checkpointed consumer (the records
that arrived meanwhile), then verification and the switch, as before.

A fold must end in exactly the rows the live projection would have written for the same
events (the rebuild's verification compares them table by table, and the read model's tests
compare the fold with the live path on both databases).
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import multiprocessing
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import EventRegistry
from shared.eventstore.store import StoredEvent
from shared.messaging.consumer import BatchResult, Record, SimpleRecord, new_events
from shared.messaging.security import KafkaSecurity
from shared.signing import ChainProof, UnprovenLog, Verifier

log = logging.getLogger(__name__)

BULK_ROWS = 5000
"""Rows per executemany: large enough for the drivers' batched INSERTs, small enough that
SQLite's and asyncpg's parameter buffers stay modest."""


class Fold(Protocol):
    def add(self, events: Sequence[StoredEvent]) -> None:
        """Apply new events (deduplicated, in log order per stream) in memory. Raising means
        the fold cannot go on: the rebuild drops it and replays batch by batch instead."""

    async def write(self, session: AsyncSession) -> None:
        """Write everything into the empty slot, inside the caller's transaction."""

    def export(self) -> Any:
        """The fold's state as plain picklable data (a worker process hands it back)."""

    def absorb(self, state: Any) -> None:
        """Take in the exported state of a fold of other partitions. Raises
        :class:`FoldConflict` when both hold the same row: partitions are folded apart only
        because no row is made from two partitions' streams; should one be, the rebuild
        folds everything in one process instead."""

    def context(self, states: Sequence[Any]) -> Any:
        """In the rebuild's process, on the exported states of all the parts before they are
        absorbed: what each part needs from the others to derive its own rows where it was
        folded (plain data), or None when the fold derives nothing apart."""

    def derive(self, context: Any) -> Any:
        """In a worker process, after :meth:`export`: the rows this part derives by itself
        given ``context`` (plain data), while the rebuild merges and writes the facts."""

    def expect(self, derived: Sequence[Awaitable[Any]]) -> None:
        """In the rebuild's process, after :meth:`context`: the parts' :meth:`derive`
        results, still being computed; :meth:`write` awaits them where it needs them."""


FoldFactory = Callable[[], Fold]


class FoldConflict(Exception):
    """Two partitions' folds made the same row (or applied the same stream)."""


class FoldFailed(Exception):
    """The fold could not apply an event (the rebuild replays batch by batch instead)."""


TP = tuple[str, int]


@dataclass
class FoldPart:
    """What folding some partitions gave; plain data, so that it crosses a process boundary."""

    state: Any = None
    streams: dict[str, int] = field(default_factory=dict)
    next_offsets: dict[TP, int] = field(default_factory=dict)
    dead: list[tuple[SimpleRecord, str]] = field(default_factory=list)
    records: int = 0
    applied: int = 0
    began: float = 0.0
    """Wall-clock time (``time.time()``) the fold began reading."""
    phases: dict[str, float] = field(default_factory=dict)
    anchors: int = 0
    """Signatures checked to prove the applied records (one per stream, :class:`ChainProof`)."""
    reproved: bool = False
    """The chain proof failed and the partitions were folded again, every record verified."""

    def spent(self, phase: str, since: float) -> float:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - since
        return now


async def fold_records(
    kafka: AIOKafkaConsumer,
    *,
    name: str,
    registry: EventRegistry,
    fold: Fold,
    targets: dict[TP, int],
    max_records: int,
    stop: asyncio.Event | None = None,
    progress: Callable[[int], None] | None = None,
    verifier: Verifier | None = None,
    chain: bool = True,
) -> FoldPart | None:
    """Read the consumer's assigned partitions from where they stand to at least ``targets``
    (the reported ends), decode, deduplicate by stream sequence and fold. Whole fetched
    batches are kept, also past a reported end: on Tansu that end is the last batch's base
    offset + 1 (BROKER.md), so the records beyond it come in the same fetch and the fold
    reaches the true end. ``progress`` is called with the records folded so far. None when
    asked to stop; :class:`FoldFailed` when an event cannot be applied.

    With a ``verifier``, origins are proved per stream (``chain``, :class:`ChainProof`: one
    signature per stream) or per record (``chain=False``); a chain proof that fails raises
    :class:`UnprovenLog`, and the caller folds again per record (:func:`fold_proved`)."""
    part = FoldPart()
    result = BatchResult()
    proof = ChainProof(verifier) if verifier is not None and chain else None
    extra = 0
    kafka.resume(*kafka.assignment())
    part.began = time.time()
    started = time.perf_counter()
    while True:
        behind = [tp for tp, end in targets.items() if part.next_offsets.get(tp, 0) < end]
        if stop is not None and stop.is_set():
            return None
        # Once every partition is past its reported end, what the client holds already (the
        # rest of the last fetched batches) is taken without waiting for the broker; a log
        # still growing fast is left to the catch-up after a few such rounds.
        if not behind:
            extra += 1
        mark = time.perf_counter()
        batch = await kafka.getmany(timeout_ms=500 if behind else 0, max_records=max_records)
        mark = part.spent("fold: fetch", mark)
        if not behind and (not batch or extra > 20):
            break
        records = []
        for tp, items in batch.items():
            expected = part.next_offsets.get((tp.topic, tp.partition), 0)
            kept = [r for r in items if r.offset >= expected]
            if kept:
                part.next_offsets[(tp.topic, tp.partition)] = kept[-1].offset + 1
                records.extend(kept)
        if not records:
            continue
        events = new_events(name, registry, records, part.streams, result, verifier, proof)
        mark = part.spent("fold: decode", mark)
        try:
            fold.add(events)
        except Exception as exc:
            raise FoldFailed(f"{type(exc).__name__}: {exc}") from exc
        part.spent("fold: apply", mark)
        part.records += len(records)
        if progress is not None:
            progress(part.records)
    if proof is not None:
        mark = time.perf_counter()
        proof.finish()
        part.spent("fold: prove", mark)
        part.anchors = proof.anchors
    part.applied = result.applied
    part.dead = [(_plain(d.record), d.reason) for d in result.dead]
    part.phases["fold"] = time.perf_counter() - started
    return part


async def fold_proved(
    kafka: AIOKafkaConsumer,
    factory: FoldFactory,
    *,
    verifier: Verifier | None,
    **kwargs: Any,
) -> tuple[Fold, FoldPart | None]:
    """:func:`fold_records` into a new fold with the chain proof; when the proof fails (a
    forged or out-of-chain record may have been applied), the same partitions are folded
    again from where they stood, into a new fold, with every record's signature checked."""
    starts = {tp: await kafka.position(tp) for tp in kafka.assignment()}
    fold = factory()
    try:
        return fold, await fold_records(kafka, fold=fold, verifier=verifier, **kwargs)
    except UnprovenLog as exc:
        log.warning("fold: %s; folding again with every record's signature checked", exc)
    for tp, offset in starts.items():
        kafka.seek(tp, offset)
    fold = factory()
    part = await fold_records(kafka, fold=fold, verifier=verifier, chain=False, **kwargs)
    if part is not None:
        part.reproved = True
    return fold, part


def _plain(record: Record) -> SimpleRecord:
    return SimpleRecord(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        tuple(record.headers),
    )


@dataclass(frozen=True)
class FoldJob:
    """One worker process's share of a parallel fold: some partitions of every topic."""

    name: str
    bootstrap: str
    partitions: tuple[TP, ...]
    registry: EventRegistry
    factory: FoldFactory
    consumer_settings: dict[str, Any]
    max_records: int
    verifier: Verifier | None = None
    security: KafkaSecurity = field(default_factory=KafkaSecurity)


class FoldWorkers:
    """Spawned worker processes for a fold apart, each a pool of one process: a worker's
    later calls land in the process that folded its partitions (:func:`derive_in_process`)."""

    def __init__(self, count: int, factory: FoldFactory) -> None:
        context = multiprocessing.get_context("spawn")
        self.pools = [ProcessPoolExecutor(max_workers=1, mp_context=context) for _ in range(count)]
        self.started = time.time()
        loop = asyncio.get_running_loop()
        # Started now, the imports run while the rebuild opens its consumer.
        self.warm = [loop.run_in_executor(pool, warm_up, factory) for pool in self.pools]

    def close(self) -> None:
        for future in self.warm:
            future.cancel()
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)


_kept: Fold | None = None
"""A worker process's fold, between :func:`fold_in_process` and :func:`derive_in_process`
(each worker is a pool of one process, so both calls land in the same process)."""


def warm_up(factory: FoldFactory) -> float:
    """A worker process's first call, made while the rebuild opens its consumer: unpickling
    ``factory`` imports the read model's code. Answers the wall-clock time it ran."""
    gc.disable()  # as in the rebuild's own process: the fold's heap only grows
    return time.time()


def fold_in_process(job: FoldJob) -> FoldPart:
    """A worker process's entry point (``ProcessPoolExecutor``, spawned): folds its share of
    the partitions and keeps the fold for :func:`derive_in_process`."""
    global _kept
    gc.disable()
    fold, part = asyncio.run(_fold_job(job))
    _kept = fold
    return part


def derive_in_process(context: Any) -> tuple[Any, float]:
    """The kept fold's :meth:`Fold.derive`, and the seconds it took."""
    global _kept
    fold, _kept = _kept, None
    assert fold is not None, "derive_in_process without a fold in this process"
    mark = time.perf_counter()
    derived = fold.derive(context)
    return derived, time.perf_counter() - mark


async def _fold_job(job: FoldJob) -> tuple[Fold, FoldPart]:
    kafka = AIOKafkaConsumer(
        bootstrap_servers=job.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **job.consumer_settings,
        **job.security.aiokafka(),
    )
    await kafka.start()
    try:
        partitions = [TopicPartition(topic, p) for topic, p in job.partitions]
        kafka.assign(partitions)
        await kafka.seek_to_beginning(*partitions)
        reported = await kafka.end_offsets(partitions)
        targets = {(tp.topic, tp.partition): int(end) for tp, end in reported.items() if end}
        fold, part = await fold_proved(
            kafka,
            job.factory,
            name=job.name,
            registry=job.registry,
            targets=targets,
            max_records=job.max_records,
            verifier=job.verifier,
        )
        assert part is not None  # no stop signal in a worker
        mark = time.perf_counter()
        part.state = fold.export()
        part.spent("fold: export", mark)
        return fold, part
    finally:
        await kafka.stop()


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into an empty table in the caller's transaction: PostgreSQL's COPY
    (through asyncpg), SQLite's executemany of one INSERT. Every column comes from the row
    (missing keys are NULL: no Python-side defaults are applied)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await _copy(session, table, rows)
        return
    statement = insert(table)
    for start in range(0, len(rows), BULK_ROWS):
        await session.execute(statement, list(rows[start : start + BULK_ROWS]))


async def _copy(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # The transaction must be open on the driver's connection before COPY uses it directly
    # (SQLAlchemy's asyncpg adapter begins lazily, at the first statement).
    await session.execute(text("SELECT 1"))
    connection = await session.connection()
    translate = session.get_bind().get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    columns = [column.name for column in table.columns]
    encoders = [_json_text if isinstance(column.type, JSON) else None for column in table.columns]
    records = [
        tuple(
            value if encode is None or value is None else encode(value)
            for value, encode in zip((row.get(name) for name in columns), encoders, strict=True)
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(
        table.name, records=records, columns=columns, schema_name=schema
    )


def _json_text(value: Any) -> str:
    return json.dumps(value)
