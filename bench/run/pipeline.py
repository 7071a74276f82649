"""Scenarios 2, 3 and 5: relay publish, rebuild (replay into the scoring read model) and
scaling (data size, consumer instances), each against the same client's raw rate."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from bench.run.report import Line, Report, check, rate
from bench.run.stack import (
    PARTITIONS,
    SOURCES,
    Dataset,
    Stack,
    raw_produce,
    relay_all,
    stored_payloads,
)
from bench.run.worker import prepare_scoring
from shared.contracts.topics import TopicSpec, service_topic
from shared.messaging.offsets import true_end_offsets

Ends = dict[str, int]
"""``"topic:partition"`` -> end offset."""


async def publish(run: Stack, data: Dataset, report: Report | None, prefix: str = "") -> list[str]:
    """Relay every source store to its topic (``suxing.<service>``, or ``<prefix>.<service>``
    for a second dataset); with a report, also time the raw produce of the same payloads."""
    topics = []
    published = 0
    seconds = 0.0
    for source in SOURCES:
        topic = f"{prefix}.{source}" if prefix else service_topic(source)
        run.ensure_topics([TopicSpec(topic, PARTITIONS)])
        count, took = await relay_all(run, data.urls[source], topic)
        published += count
        seconds += took
        topics.append(topic)
    if report is None:
        return topics
    payloads = []
    for source in SOURCES:
        payloads.extend(await stored_payloads(data.urls[source]))
    raw_topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    run.ensure_topics([TopicSpec(raw_topic, PARTITIONS)])
    raw_seconds = await raw_produce(run, raw_topic, payloads)
    db = run.db_kind
    report.add(
        Line("relay", db, f"outbox relay publish ({published:,} events)", rate(published, seconds))
    )
    report.add(Line("relay", db, "raw send_batch, same payloads", rate(len(payloads), raw_seconds)))
    ratio = (published / seconds) / (len(payloads) / raw_seconds)
    report.add(
        Line(
            "relay", db, "relay / raw produce", f"{ratio:.0%}", ">= 50%", check(ratio, at_least=0.5)
        )
    )
    return topics


async def ends_of(run: Stack, topics: list[str]) -> Ends:
    ends: Ends = {}
    for topic in topics:
        found = await asyncio.to_thread(true_end_offsets, run.bootstrap, topic)
        ends.update({f"{topic}:{p}": end for p, end in found.items()})
    return ends


async def workers(
    run: Stack, mode: str, parts: list[Ends], url: str | None
) -> list[dict[str, float]]:
    """Start one worker process per element of ``parts``, let them go together, collect."""
    procs = []
    for ends in parts:
        args = [sys.executable, "-m", "bench.run.worker", mode, run.bootstrap, json.dumps(ends)]
        if url is not None:
            args.append(url)
        proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"worker failed to start: {line!r}")
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        out = await proc.stdout.readline()
        if await proc.wait() != 0 or not out:
            raise RuntimeError(f"worker {mode} failed")
        results.append(json.loads(out))
    return results


def throughput(results: list[dict[str, float]]) -> tuple[int, float]:
    records = int(sum(r["records"] for r in results))
    return records, max(r["seconds"] for r in results)


async def replay(
    run: Stack,
    ends: Ends,
    instances: int = 1,
    mode: str = "scoring",
    cpu: list[float] | None = None,
) -> tuple[int, float, int]:
    """Replay the topics into a fresh scoring read model: (records, seconds, applied).
    ``mode`` ``rebuild`` runs the Rebuild entry point (one instance, all partitions);
    ``scoring`` a checkpointed consumer per instance over its share of the partitions."""
    url = await run.dbs.new("scoring")
    await prepare_scoring(url)
    parts: list[Ends] = [{} for _ in range(instances)]
    for key, end in ends.items():
        parts[int(key.rsplit(":", 1)[1]) % instances][key] = end
    results = await workers(run, mode, parts, url)
    if cpu is not None:
        cpu.extend(r.get("cpu", 0.0) for r in results)
    records, seconds = throughput(results)
    return records, seconds, int(sum(r["applied"] for r in results))


async def raw_consume(run: Stack, ends: Ends) -> tuple[int, float]:
    return throughput(await workers(run, "raw", [ends], None))


async def rebuild(run: Stack, topics: list[str], report: Report) -> tuple[int, float]:
    db = run.db_kind
    ends = await ends_of(run, topics)
    raw_records, raw_seconds = await raw_consume(run, ends)
    records, seconds, applied = await replay(run, ends, mode="rebuild")
    report.add(
        Line("rebuild", db, "raw aiokafka getmany, same topics", rate(raw_records, raw_seconds))
    )
    report.add(
        Line(
            "rebuild",
            db,
            f"rebuild scoring, in place ({records:,} records)",
            rate(records, seconds),
        )
    )
    report.add(
        Line(
            "rebuild",
            db,
            "rebuild seconds",
            f"{seconds:.1f} s",
            "< 30 s at scale 1",
            check(seconds, at_most=30) if report.scale >= 1 else "n/a (scale < 1)",
        )
    )
    ratio = (records / seconds) / (raw_records / raw_seconds)
    report.add(
        Line(
            "rebuild",
            db,
            "rebuild / raw consume",
            f"{ratio:.0%}",
            ">= 50%",
            check(ratio, at_least=0.5),
        )
    )
    if applied == 0:
        report.note(f"{db}: the rebuild applied nothing: check the scoring projection")
    return records, seconds


async def scaling_instances(
    run: Stack, topics: list[str], report: Report, limit: int | None = None
) -> None:
    """1 and 2 checkpointed consumers (processes), each over its share of the partitions.
    ``limit``: replay only about that many records, the same start of every partition for
    both runs (the live path at a company-year's size takes tens of minutes per run; the
    ratio is the figure)."""
    ends = await ends_of(run, topics)
    total = sum(ends.values())
    if limit is not None and total > limit:
        ends = {key: end * limit // total for key, end in ends.items()}
        report.add(Line("scaling", run.db_kind, "replayed records (start of each partition)",
                        f"{sum(ends.values()):,} of {total:,}"))  # fmt: skip
    one_cpu: list[float] = []
    two_cpu: list[float] = []
    one_records, one_seconds, _ = await replay(run, ends, instances=1, cpu=one_cpu)
    records, seconds, _ = await replay(run, ends, instances=2, cpu=two_cpu)
    db = run.db_kind
    report.add(Line("scaling", db, "replay, 1 instance", rate(one_records, one_seconds)))
    report.add(Line("scaling", db, "replay, 2 instances (2 processes)", rate(records, seconds)))
    # Beside the rates: how busy each consumer process was (its own CPU over the run's
    # seconds). Well under 100% means it waited: on its database, the broker, or a core
    # taken by another process (the machine has two, shared with the broker and database).
    report.add(
        Line(
            "scaling",
            db,
            "consumer process CPU / run seconds: 1 instance; 2 instances",
            f"{sum(one_cpu) / one_seconds:.0%}; "
            + " + ".join(f"{c / seconds:.0%}" for c in two_cpu),
        )
    )
    ratio = (records / seconds) / (one_records / one_seconds)
    report.add(
        Line(
            "scaling",
            db,
            "2 instances / 1 instance throughput",
            f"{ratio:.2f}x",
            ">= 1.6x",
            check(ratio, at_least=1.6),
        )
    )


async def rebuild_only(run: Stack, data: Dataset, prefix: str) -> tuple[int, float]:
    """Publish ``data`` to topics of its own and rebuild scoring from them."""
    topics = await publish(run, data, None, prefix=f"{prefix}{uuid.uuid4().hex[:4]}")
    records, seconds, _ = await replay(run, await ends_of(run, topics), mode="rebuild")
    return records, seconds


async def scaling_data(
    run: Stack,
    double: Dataset | None,
    single: tuple[int, float],
    report: Report,
    *,
    double_result: tuple[int, float] | None = None,
) -> None:
    """Rebuild time of twice the data against once (``double_result`` when already run)."""
    if double_result is None:
        assert double is not None
        double_result = await rebuild_only(run, double, "bench2x")
    records, seconds = double_result
    db = run.db_kind
    report.add(Line("scaling", db, f"rebuild 2x data ({records:,} records)", f"{seconds:.1f} s"))
    ratio = seconds / single[1]
    report.add(
        Line(
            "scaling",
            db,
            "2x data / 1x data time",
            f"{ratio:.2f}x",
            "<= 2.2x",
            check(ratio, at_most=2.2),
        )
    )
