"""Rebuild a read model from offset 0 of its topics, blue/green or in place.

Blue/green (the default), while the service keeps serving from the active slot:

1. the other slot is reset (or, when an interrupted rebuild left it ``building``, resumed
   from its own stored offsets) and filled by a :class:`CheckpointedConsumer` fed by an
   aiokafka consumer with every partition assigned by hand (no group: the live service's
   group is not disturbed);
2. once it has caught up, the live slot is read in one snapshot (its offsets and tables),
   the rebuilt slot is brought to exactly those offsets, and the two are compared table by
   table (rows, checksum, the first differing rows);
3. if they are equal the registry's active pointer moves in one transaction; the service's
   instances follow it within a second and go on from the rebuilt slot's offsets.

In place (``in_place=True``, for a stopped system): the active slot is emptied and rebuilt.
Both are interruptible: the slot's offsets commit with its rows, so a rerun resumes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select

from shared.contracts import EventRegistry
from shared.db import Database
from shared.eventstore.tables import consumer_offsets, consumer_streams
from shared.messaging import admin
from shared.messaging.consumer import Apply, CheckpointedConsumer, DeadLetter
from shared.messaging.offsets import true_end_offsets
from shared.messaging.security import KafkaSecurity
from shared.readmodel.fold import (
    Fold,
    FoldConflict,
    FoldFactory,
    FoldFailed,
    FoldJob,
    FoldPart,
    FoldWorkers,
    derive_in_process,
    fold_in_process,
    fold_proved,
)
from shared.readmodel.slots import ReadModel, Settle, SlotError, other
from shared.readmodel.verify import TableComparison, compare_table
from shared.signing import Verifier

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with (records done, records to do) as the rebuild goes."""

TP = tuple[str, int]


@dataclass
class RebuildReport:
    read_model: str
    slot: str
    mode: str  # blue-green | in-place
    resumed: bool = False
    records: int = 0
    applied: int = 0
    seconds: float = 0.0
    offsets: dict[str, int] = field(default_factory=dict)
    verified: bool | None = None
    comparisons: list[TableComparison] = field(default_factory=list)
    switched: bool = False
    previous: str | None = None
    dropped: str | None = None
    interrupted: bool = False
    folded: bool = False
    """The log was folded in memory into the empty slot (shared/readmodel/fold.py)."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: fold (read, decode, apply in memory), write (the fold's bulk
    transaction), catch-up (batch by batch to the ends), settle, verify."""
    signatures: int = 0
    """Signatures the fold checked to prove what it applied: one per stream
    (shared/signing.py, ChainProof); the records it did not apply are checked one by one."""
    reproved: bool = False
    """A chain did not prove itself and the fold was done again with every record's
    signature checked (a forged or out-of-chain record was on the topics)."""

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read_model": self.read_model,
            "slot": self.slot,
            "mode": self.mode,
            "resumed": self.resumed,
            "records": self.records,
            "applied": self.applied,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(self.rate, 1),
            "offsets": self.offsets,
            "verified": self.verified,
            "tables": [c.as_dict() for c in self.comparisons],
            "switched": self.switched,
            "previous": self.previous,
            "dropped": self.dropped,
            "interrupted": self.interrupted,
            "folded": self.folded,
            "signatures": self.signatures,
            "reproved": self.reproved,
            "phases": {name: round(seconds, 3) for name, seconds in self.phases.items()},
        }


async def stored_positions(db: Database, consumer: str) -> dict[TP, int]:
    async with db.reading() as session:
        rows = await session.execute(
            select(
                consumer_offsets.c.topic,
                consumer_offsets.c.partition,
                consumer_offsets.c.next_offset,
            ).where(consumer_offsets.c.consumer == consumer)
        )
        return {(t, p): o for t, p, o in rows}


def _key(tp: TP) -> str:
    return f"{tp[0]}[{tp[1]}]"


class Rebuild:
    def __init__(
        self,
        model: ReadModel,
        *,
        consumer_name: str,
        topics: Sequence[str],
        registry: EventRegistry,
        apply: Apply,
        bootstrap: str,
        settle: Settle | None = None,
        consumer_settings: dict[str, Any] | None = None,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
        max_records: int = 5000,
        attempts: int = 40,
        fold_processes: int = 2,
        fold_parallel_records: int = 200_000,
        verifier: Verifier | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.model = model
        self.security = security or KafkaSecurity()
        """How the rebuild's Kafka clients authenticate and encrypt (SUXING_KAFKA_*)."""
        self.verifier = verifier
        """Checks every record's signature, as the live consumer does (shared/signing.py)."""
        self.consumer_name = consumer_name
        self.topics = list(topics)
        self.registry = registry
        self.apply = apply
        self.settle = settle
        self.bootstrap = bootstrap
        self.consumer_settings = dict(consumer_settings or {})
        self.consumer_settings.pop("auto_offset_reset", None)
        self.progress = progress
        self.stop = stop or asyncio.Event()
        self.max_records = max_records
        self.attempts = attempts
        self.fold_processes = fold_processes
        """Worker processes of a fold (shared/readmodel/fold.py); 1: in this process."""
        self.fold_parallel_records = fold_parallel_records
        """Below this many records the fold runs in this process (starting workers costs
        about a second)."""
        self._kafka: AIOKafkaConsumer | None = None
        self._consumer: CheckpointedConsumer | None = None
        self._total = 0
        self._done = 0
        self._applied = 0
        self._phases: dict[str, float] = {}
        self._signatures, self._reproved = 0, False
        self._at_end = False
        """The fold reached the end of every partition (nothing to catch up)."""
        self._workers: FoldWorkers | None = None
        self._deriving: list[asyncio.Future[Any]] = []

    # The whole procedure.

    async def run(
        self,
        *,
        in_place: bool = False,
        switch: bool = True,
        accept_differences: bool = False,
        drop_old: bool = False,
    ) -> RebuildReport:
        active = await self.model.ensure_active()
        slots = await self.model.slots()
        if in_place:
            await self.model.reset(active)
            report = RebuildReport(self.model.spec.name, active, "in-place")
            return await self.replay_into(self.model.database(active), report)
        else:
            target = other(active)
            report = RebuildReport(self.model.spec.name, target, "blue-green", previous=active)
            if slots.get(target) is not None and slots[target].state == "building":
                report.resumed = True
                await self.model.create_tables(target)
            else:
                await self.model.reset(target)
            await self.model.mark(target, "building")
        started = time.perf_counter()
        target_db = self.model.database(target)
        await self._open(target_db)
        try:
            if not await self._positions():  # empty: new, or left by an interrupted fold
                report.folded = await self._fold()
                report.signatures, report.reproved = self._signatures, self._reproved
            mark = time.perf_counter()
            caught_up = self._at_end or await self._catch_up()
            self._phases["catch-up"] = time.perf_counter() - mark
            report.records, report.applied = self._done, self._applied
            if not caught_up:
                report.interrupted = True
                return report
            await self.model.mark(target, "ready")
            mark = time.perf_counter()
            verified = await self._verify(self.model.database(active), target_db)
            self._phases["verify"] = time.perf_counter() - mark
            report.records, report.applied = self._done, self._applied
            if verified is None:
                report.interrupted = True
                return report
            offsets, comparisons = verified
            report.offsets = {_key(k): v for k, v in offsets.items()}
            report.comparisons = comparisons
            report.verified = all(c.equal for c in comparisons)
        finally:
            report.seconds = time.perf_counter() - started
            report.phases = dict(self._phases)
            await self._close()
        if switch and (report.verified or accept_differences):
            # The rebuild's consumer is closed: the slot stands at the verified offsets, and
            # the service's instances continue it from there once they see the switch.
            await self.model.switch(target, expected_active=active)
            report.switched = True
            if drop_old:
                await self.model.drop_tables(active)
                await self.model.mark(active, "dropped")
                report.dropped = active
        return report

    async def replay_into(self, db: Database, report: RebuildReport) -> RebuildReport:
        """Consume from the stored offsets of ``db`` (0 when empty) to the end of the topics:
        the in-place rebuild of a projection that lives in the service's own database."""
        started = time.perf_counter()
        await self._open(db)
        try:
            if not await self._positions():
                report.folded = await self._fold()
                report.signatures, report.reproved = self._signatures, self._reproved
            mark = time.perf_counter()
            caught_up = self._at_end or await self._catch_up()
            self._phases["catch-up"] = time.perf_counter() - mark
            if caught_up:
                mark = time.perf_counter()
                await self._settle()
                self._phases["settle"] = time.perf_counter() - mark
            report.records, report.applied = self._done, self._applied
            report.interrupted = not caught_up
            report.offsets = {_key(k): v for k, v in (await self._positions()).items()}
        finally:
            report.seconds = time.perf_counter() - started
            report.phases = dict(self._phases)
            await self._close()
        return report

    # Folding (shared/readmodel/fold.py).

    async def _fold(self) -> bool:
        # The fold keeps every row of the read model alive in memory: the cyclic garbage
        # collector would scan that growing heap again and again (measured: more than half
        # of the decode time at scale 0.1). Nothing the fold makes is cyclic garbage, so the
        # collector rests until the fold is written.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return await self._fold_log()
        finally:
            for task in self._deriving:  # left when the fold fell back or failed
                task.cancel()
            self._deriving = []
            if self._workers is not None:
                self._workers.close()
                self._workers = None
            if collecting:
                gc.enable()

    async def _fold_log(self) -> bool:
        """Fold the log up to (at least) the ends the broker reports into the empty slot, in
        memory, and write it in one transaction. False (and nothing written) when the read
        model has no fold, when asked to stop, or when the fold could not apply an event: the
        checkpointed consumer then replays from where the slot stands, as without a fold."""
        factory = self.model.spec.fold
        if factory is None:
            return False
        assert self._kafka is not None and self._consumer is not None
        kafka, consumer = self._kafka, self._consumer
        targets = {tp: end for tp, end in (await self._ends()).items() if end > 0}
        total = sum(targets.values())
        self._total = max(self._total, total)
        groups = self._fold_groups(targets, total)
        try:
            if len(groups) > 1:
                folded = await self._fold_apart(factory, groups)
            else:
                folded = await self._fold_here(factory, targets)
        except (FoldFailed, FoldConflict) as exc:
            log.warning(
                "%s: the fold stopped (%s); replaying batch by batch instead",
                self.model.spec.name,
                exc,
            )
            await self._seek_to_stored(list(kafka.assignment()))
            return False
        if folded is None:
            return False
        fold, part = folded
        self._signatures, self._reproved = part.anchors, part.reproved
        for name, seconds in part.phases.items():
            self._phases[name] = self._phases.get(name, 0.0) + seconds
        self._done += part.records
        mark = time.perf_counter()
        # While the rows are written, look for records past the folded ones (the proof that
        # the fold reached the end: an empty fetch from positions at or past the reported
        # ends; BROKER.md: the reported ends alone are never trusted).
        for tp in kafka.assignment():
            if (tp.topic, tp.partition) in part.next_offsets:
                kafka.seek(tp, part.next_offsets[(tp.topic, tp.partition)])
        late = asyncio.create_task(kafka.getmany(timeout_ms=1500, max_records=self.max_records))
        try:
            async with consumer.db.transaction() as session:
                await fold.write(session)
                mark = self._spent("write: rows", mark)
                await consumer.checkpoint(
                    session,
                    streams=part.streams,
                    next_offsets=part.next_offsets,
                    dead=[DeadLetter(record, reason) for record, reason in part.dead],
                )
        except BaseException:
            late.cancel()
            raise
        self._spent("write: checkpoint and commit", mark)
        self._applied += part.applied
        beyond = [r for items in (await late).values() for r in items]
        reached = await self._ends()
        self._at_end = not beyond and all(
            part.next_offsets.get(tp, 0) >= end for tp, end in reached.items()
        )
        await self._seek_to_stored(list(kafka.assignment()))
        return True

    def _fold_groups(self, targets: dict[TP, int], total: int) -> list[tuple[TP, ...]]:
        """Partitions per worker process: topics are co-partitioned by branch, so partition
        ``p`` of every topic goes to worker ``p mod n``. One group (this process) for a small
        log, where starting processes would cost more than they save."""
        count = min(self.fold_processes, len({p for _, p in targets}))
        if count <= 1 or total < self.fold_parallel_records:
            return [tuple(sorted(targets))]
        groups: list[list[TP]] = [[] for _ in range(count)]
        for topic, partition in sorted(targets):
            groups[partition % count].append((topic, partition))
        return [tuple(group) for group in groups if group]

    async def _fold_here(
        self, factory: FoldFactory, targets: dict[TP, int]
    ) -> tuple[Fold, FoldPart] | None:
        assert self._kafka is not None
        fold, part = await fold_proved(
            self._kafka,
            factory,
            name=self.consumer_name,
            registry=self.registry,
            targets=targets,
            max_records=self.max_records,
            verifier=self.verifier,
            stop=self.stop,
            progress=self._advance,
        )
        return None if part is None else (fold, part)

    async def _fold_apart(
        self, factory: FoldFactory, groups: list[tuple[TP, ...]]
    ) -> tuple[Fold, FoldPart] | None:
        """Fold each group of partitions in its own (spawned) process, then merge. While the
        facts are merged and written, each worker derives the rows it can alone (the fold's
        :meth:`Fold.context`, :meth:`Fold.derive`)."""
        jobs = [
            FoldJob(
                name=self.consumer_name,
                bootstrap=self.bootstrap,
                partitions=group,
                registry=self.registry,
                factory=factory,
                consumer_settings=self.consumer_settings,
                max_records=self.max_records,
                verifier=self.verifier,
                security=self.security,
            )
            for group in groups
        ]
        if self._workers is None or len(self._workers.pools) != len(jobs):
            if self._workers is not None:
                self._workers.close()
            self._workers = FoldWorkers(len(jobs), factory)
        workers = self._workers
        loop = asyncio.get_running_loop()
        submitted = time.time()
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(pool, fold_in_process, job)
                for pool, job in zip(workers.pools, jobs, strict=True)
            )
        )
        if self.stop.is_set():
            return None
        mark = time.perf_counter()
        fold = factory()
        merged = FoldPart()
        merged.phases["fold: start workers"] = max(part.began for part in parts) - min(
            submitted, workers.started
        )
        context = fold.context([part.state for part in parts])
        if context is not None:
            self._deriving = [
                asyncio.ensure_future(
                    self._derived(loop.run_in_executor(pool, derive_in_process, context))
                )
                for pool in workers.pools
            ]
            fold.expect(self._deriving)
        for part in parts:
            fold.absorb(part.state)
            if merged.streams.keys() & part.streams.keys():
                raise FoldConflict("a stream in two partitions")
            merged.streams.update(part.streams)
            merged.next_offsets.update(part.next_offsets)
            merged.dead.extend(part.dead)
            merged.records += part.records
            merged.applied += part.applied
            merged.anchors += part.anchors
            merged.reproved = merged.reproved or part.reproved
            for name, seconds in part.phases.items():  # the slowest worker's
                merged.phases[name] = max(merged.phases.get(name, 0.0), seconds)
        merged.spent("fold: merge", mark)
        if self.progress is not None:
            self.progress(self._done + merged.records, self._total)
        return fold, merged

    async def _derived(self, computing: Awaitable[tuple[Any, float]]) -> Any:
        derived, seconds = await computing
        phase = "fold: derive (workers)"
        self._phases[phase] = max(self._phases.get(phase, 0.0), seconds)
        return derived

    def _advance(self, records: int) -> None:
        if self.progress is not None:
            self.progress(self._done + records, self._total)

    def _spent(self, phase: str, since: float) -> float:
        """Adds the time since ``since`` to ``phase``; answers now."""
        now = time.perf_counter()
        self._phases[phase] = self._phases.get(phase, 0.0) + now - since
        return now

    # Consuming.

    async def _open(self, db: Database) -> None:
        ids = await asyncio.to_thread(
            admin.topic_ids, self.bootstrap, self.topics, **self.security.kafka_python()
        )
        self._consumer = CheckpointedConsumer(
            name=self.consumer_name,
            db=db,
            registry=self.registry,
            apply=self.apply,
            topic_ids=dict(ids),
            verifier=self.verifier,
        )
        self._applied = 0
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.consumer_settings,
            **self.security.aiokafka(),
        )
        await kafka.start()
        self._kafka = kafka
        partitions: list[TopicPartition] = []
        for topic in self.topics:
            found = kafka.partitions_for_topic(topic)
            if not found:
                await kafka._client.force_metadata_update()  # new topics
                found = kafka.partitions_for_topic(topic) or set()
            partitions.extend(TopicPartition(topic, p) for p in sorted(found))
        kafka.assign(partitions)
        await self._seek_to_stored(partitions)

    async def _settle(self) -> None:
        """Derive what the catch-up projection left (one transaction on the slot)."""
        if self.settle is None or self._consumer is None:
            return
        async with self._consumer.db.transaction() as session:
            await self.settle(session)

    async def _close(self) -> None:
        if self._kafka is not None:
            await self._kafka.stop()
            self._kafka = None

    async def _seek_to_stored(self, partitions: Sequence[TopicPartition]) -> None:
        assert self._kafka is not None and self._consumer is not None
        for topic in {tp.topic for tp in partitions}:
            stored = await self._consumer.stored_offsets(topic)
            for tp in (p for p in partitions if p.topic == topic):
                if tp.partition in stored:
                    self._kafka.seek(tp, stored[tp.partition])
                else:
                    await self._kafka.seek_to_beginning(tp)

    async def _positions(self) -> dict[TP, int]:
        assert self._consumer is not None
        return await stored_positions(self._consumer.db, self.consumer_name)

    async def _ends(self) -> dict[TP, int]:
        """The ends the broker reports (on Tansu possibly short of the true end, BROKER.md:
        ``_drain`` reads whatever lies beyond)."""
        assert self._kafka is not None
        reported = await self._kafka.end_offsets(list(self._kafka.assignment()))
        return {(tp.topic, tp.partition): int(end) for tp, end in reported.items()}

    async def _drain(self, rounds: int = 20) -> bool | None:
        """Read on from where the slot stands until a fetch comes back empty: True when it
        did (caught up), False when records kept coming, None when asked to stop."""
        assert self._kafka is not None and self._consumer is not None
        kafka = self._kafka
        kafka.resume(*kafka.assignment())
        for _ in range(rounds):
            if self.stop.is_set():
                return None
            # Long enough for a fetch the broker holds (fetch_max_wait_ms, 500 ms) to answer.
            batch = await kafka.getmany(timeout_ms=1500, max_records=self.max_records)
            records = [r for items in batch.values() for r in items]
            if not records:
                return True
            result = await self._consumer.process(records)
            self._applied += result.applied
            if result.rewind:
                await self._seek_to_stored([TopicPartition(*tp) for tp in result.rewind])
            self._done += len(records)
            if self.progress is not None:
                self.progress(self._done, max(self._total, self._done))
        return False

    async def _consume_to(self, targets: dict[TP, int]) -> bool:
        """Apply records until every partition's stored offset reaches its target (records
        at or past a target are left for later). False when asked to stop."""
        assert self._kafka is not None and self._consumer is not None
        kafka, consumer = self._kafka, self._consumer
        positions = await self._positions()
        start = sum(min(positions.get(tp, 0), end) for tp, end in targets.items())
        self._total = max(self._total, self._done + sum(targets.values()) - start)
        while True:
            behind = {tp for tp, end in targets.items() if positions.get(tp, 0) < end}
            if not behind:
                return True
            if self.stop.is_set():
                return False
            assigned = {TopicPartition(*tp) for tp in behind}
            kafka.resume(*assigned)
            kafka.pause(*(set(kafka.assignment()) - assigned))
            batch = await kafka.getmany(timeout_ms=500, max_records=self.max_records)
            records = []
            overshoot: set[TopicPartition] = set()
            for tp, items in batch.items():
                end = targets.get((tp.topic, tp.partition), 0)
                kept = [r for r in items if r.offset < end]
                if len(kept) < len(items):
                    overshoot.add(tp)
                records.extend(kept)
            if records:
                result = await consumer.process(records)
                self._applied += result.applied
                if result.rewind:
                    await self._seek_to_stored([TopicPartition(*tp) for tp in result.rewind])
                done = len(records) - sum(
                    1 for r in records if (r.topic, r.partition) in result.rewind
                )
                self._done += done
                if self.progress is not None:
                    self.progress(self._done, self._total)
            positions = await self._positions()
            for tp in overshoot:
                kafka.seek(tp, positions.get((tp.topic, tp.partition), 0))

    async def _catch_up(self, passes: int = 3) -> bool:
        """Consume to the ends the broker reports, then on until a fetch finds nothing. While
        events keep arriving there is always a little more; after a few passes the rest is
        left to verification, which brings the slot to the live slot's exact offsets."""
        for _ in range(passes):
            if not await self._consume_to(await self._ends()):
                return False
            drained = await self._drain()
            if drained is None:
                return False
            if drained:
                break
        # An empty fetch is strong evidence, not proof: check once against the true ends
        # (read, not reported) and read up to them if anything is still missing.
        mark = time.perf_counter()
        ends = await self._true_ends()
        self._phases["true ends"] = time.perf_counter() - mark
        return await self._consume_to(ends)

    async def _true_ends(self) -> dict[TP, int]:
        found = await asyncio.gather(
            *(
                asyncio.to_thread(
                    true_end_offsets, self.bootstrap, t, **self.security.kafka_python()
                )
                for t in self.topics
            )
        )
        return {
            (topic, partition): end
            for topic, ends in zip(self.topics, found, strict=True)
            for partition, end in ends.items()
        }

    # Verifying.

    async def _verify(
        self, live: Database, rebuilt: Database
    ) -> tuple[dict[TP, int], list[TableComparison]] | None:
        """Compare at one set of offsets: a snapshot of the live slot, and the rebuilt slot
        brought to exactly its offsets. None when asked to stop."""
        for attempt in range(self.attempts):
            async with live.reading() as live_session:
                if not live.sqlite:
                    await live_session.connection(
                        execution_options={"isolation_level": "REPEATABLE READ"}
                    )
                rows = await live_session.execute(
                    select(
                        consumer_offsets.c.topic,
                        consumer_offsets.c.partition,
                        consumer_offsets.c.next_offset,
                        consumer_offsets.c.topic_id,
                    ).where(consumer_offsets.c.consumer == self.consumer_name)
                )
                # An offset stored for a topic that no longer exists (the broker lost its
                # data and the live consumer has not read that partition of the new topic
                # yet) is no position in today's log: it counts as 0.
                ids = self._consumer.topic_ids if self._consumer is not None else {}
                targets = {
                    (t, p): o
                    for t, p, o, topic_id in rows
                    if t in self.topics and (topic_id is None or topic_id == ids.get(t, topic_id))
                }
                mine = await self._positions()
                if any(mine.get(tp, 0) > targets.get(tp, 0) for tp in mine):
                    # The live consumer is behind the rebuild here: wait for it to pass us.
                    log.info("%s: live slot behind the rebuild; waiting", self.model.spec.name)
                else:
                    if not await self._consume_to(targets):
                        return None
                    await self._settle()
                    async with rebuilt.reading() as rebuilt_session:
                        # Offsets are equal by construction (the rebuilt slot was brought to
                        # the live one's); what each stream applied and every table must be.
                        comparisons = [
                            await compare_table(live_session, rebuilt_session, table)
                            for table in (consumer_streams, *self.model.spec.tables)
                        ]
                    return targets, comparisons
            if self.stop.is_set():
                return None
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        raise SlotError(
            f"{self.model.spec.name}: the live slot did not reach the rebuild's offsets in "
            f"{self.attempts} tries; is the service's consumer running?"
        )


RebuildFactory = Callable[[], Awaitable[Rebuild]]
