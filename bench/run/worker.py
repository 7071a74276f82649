"""One consumer instance in its own process (the machine has two cores; one process would
measure one core whatever the instance count).

    python -m bench.run.worker MODE BOOTSTRAP ENDS_JSON [DB_URL]   (BENCH_BATCH: records/batch)

MODE ``raw``: aiokafka ``getmany`` of the assigned partitions to their ends, nothing else (the
client's consume limit). MODE ``scoring``: the same records through a
:class:`CheckpointedConsumer` with the scoring projection into ``DB_URL`` (a replay, as a
rebuild does it, but of the given partitions only). MODE ``rebuild``: ``shared.readmodel``'s
``Rebuild`` in place (what ``suxing rebuild scoring --in-place`` runs) into ``DB_URL``.
ENDS_JSON maps ``"topic:partition"`` to the end offset to reach; the partitions are assigned
by hand. The worker prints ``ready``, waits for a line on stdin,
runs, and prints one JSON line: records, applied, seconds (and, but for ``rebuild``, cpu:
the worker's own CPU seconds). With ``BENCH_PROFILE=FILE`` the
run is profiled with pyinstrument and the call tree written to FILE.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import MetaData

from shared.messaging import admin


async def prepare_scoring(url: str) -> None:
    """Create the scoring read model's tables (and the kernel's) in an empty database."""
    from services.scoring import persistence
    from shared.db import Database
    from shared.eventstore import kernel_metadata

    db = Database(url)
    try:
        metadatas = [kernel_metadata, persistence.metadata]
        metadatas.append(getattr(persistence, "read_metadata", MetaData()))
        await db.create_all(metadatas)
    finally:
        await db.dispose()


async def run(
    mode: str, bootstrap: str, ends: dict[TopicPartition, int], url: str | None, batch: int
) -> None:
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await kafka.start()
    kafka.assign(list(ends))
    await kafka.seek_to_beginning(*ends)
    consumer: Any = None
    if mode == "scoring":
        from services.scoring.projections import apply
        from shared.contracts import REGISTRY
        from shared.db import Database
        from shared.messaging.consumer import CheckpointedConsumer
        from shared.settings import Settings

        assert url is not None
        topics = sorted({tp.topic for tp in ends})
        ids = await asyncio.to_thread(admin.topic_ids, bootstrap, topics)
        consumer = CheckpointedConsumer(
            name="scoring",
            db=Database(url),
            registry=REGISTRY,
            apply=apply,
            topic_ids=ids,
            verifier=Settings(service="scoring").verifier(),
        )
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    if mode == "rebuild":
        await kafka.stop()
        assert url is not None
        print(json.dumps(await rebuild(bootstrap, sorted({tp.topic for tp in ends}), url)))
        return
    started = time.perf_counter()
    cpu_started = time.process_time()
    records = applied = 0
    left = {tp: end for tp, end in ends.items() if end > 0}
    while left:
        got = await kafka.getmany(*left, timeout_ms=500, max_records=batch)
        fetched = []
        for tp, items in got.items():
            if items and items[-1].offset + 1 >= left.get(tp, 0):
                left.pop(tp, None)
            fetched.extend(items)
        records += len(fetched)
        if consumer is not None and fetched:
            applied += (await consumer.process(fetched)).applied
    seconds = time.perf_counter() - started
    await kafka.stop()
    if consumer is not None:
        await consumer.db.dispose()
    cpu = time.process_time() - cpu_started
    print(
        json.dumps({"records": records, "applied": applied, "seconds": seconds, "cpu": cpu}),
        flush=True,
    )


async def rebuild(bootstrap: str, topics: list[str], url: str) -> dict[str, float]:
    """``suxing rebuild scoring``'s library entry point, in place, on a fresh database."""
    from services.scoring.app import READ_MODEL
    from shared.contracts import REGISTRY
    from shared.db import Database
    from shared.readmodel.rebuild import Rebuild
    from shared.readmodel.slots import ReadModel
    from shared.settings import Settings

    catch_up = READ_MODEL.catch_up
    assert catch_up is not None, "scoring declares its catch-up projection"
    model = ReadModel(READ_MODEL, Database(url))
    try:
        job = Rebuild(
            model,
            consumer_name="scoring",
            topics=topics,
            registry=REGISTRY,
            # As `suxing rebuild` does: facts per batch, cards and statistics settled once.
            apply=catch_up,
            settle=READ_MODEL.settle,
            bootstrap=bootstrap,
            # BENCH_FOLD_PARALLEL_RECORDS=0 folds a small log in the worker processes too.
            fold_parallel_records=int(os.environ.get("BENCH_FOLD_PARALLEL_RECORDS", "200000")),
            verifier=Settings(service="scoring").verifier(),
        )
        report = await job.run(in_place=True)
    finally:
        await model.dispose()
        await model.db.dispose()
    print(f"rebuild phases: {report.as_dict()['phases']}", file=sys.stderr, flush=True)
    return {"records": report.records, "applied": report.applied, "seconds": report.seconds}


def main() -> None:
    mode, bootstrap, ends_json = sys.argv[1:4]
    url = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    batch = int(os.environ.get("BENCH_BATCH", "5000"))
    ends = {
        TopicPartition(key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1])): int(end)
        for key, end in json.loads(ends_json).items()
    }
    profile = os.environ.get("BENCH_PROFILE")
    if not profile:
        asyncio.run(run(mode, bootstrap, ends, url, batch))
        return
    from pyinstrument import Profiler  # a dev dependency

    with Profiler(async_mode="enabled") as profiler:
        asyncio.run(run(mode, bootstrap, ends, url, batch))
    Path(profile).write_text(profiler.output_text(show_all=False), encoding="utf-8")


if __name__ == "__main__":
    main()
