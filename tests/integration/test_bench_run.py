"""The benchmark harness (bench/run) and the generator's bulk path, at a tiny scale, so that
neither can rot: the bulk-written store is a valid chained log that the event store and the
relay carry on from, and the harness's relay and rebuild scenarios run and report."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.generate import generate
from bench.generate.bulk import write_bulk
from bench.run import appends, commands, pipeline, reads
from bench.run.__main__ import parser
from bench.run.report import Report
from bench.run.stack import load, stack
from shared.contracts import Actor, Org, canonical_json
from shared.contracts import pledges as pl
from shared.db import Database
from shared.eventstore import EventStore, Metadata
from shared.eventstore.integrity import verify_log
from shared.eventstore.relay import OutboxRelay
from shared.eventstore.rows import row_body
from shared.eventstore.tables import events, outbox
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.embedded_broker import EmbeddedBroker
from tests.support.kafka import create_topics, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TINY = 0.002  # one unit, two branches: about 1,700 events


async def test_the_bulk_path_writes_a_chained_log_the_store_and_relay_carry_on(
    database_url: str, broker: EmbeddedBroker, unique: str
) -> None:
    items = [item for item in generate(5, scale=TINY).events if item.topic == "pledges"]
    assert await write_bulk(items, database_url, seed=5) == len(items)
    db = Database(database_url)
    try:
        async with db.reading() as session:
            report = await verify_log(session)
            waiting = await session.scalar(select(func.count()).select_from(outbox))
        assert report.ok, report.first_broken
        assert report.events == len(items) == waiting
        assert report.streams == len({item.stream for item in items})

        # The event store appends after the bulk rows (PostgreSQL's position sequence moved).
        unit = items[0]
        async with db.transaction() as session:
            (stored,) = await EventStore().append(
                session,
                stream=unit.stream,
                expected_version=1,
                events_=[pl.UnitRenamed(unit_id=unit.unit or "", name="新名称党委")],
                meta=Metadata(
                    actor=Actor(ref="t", role="org_admin"),
                    org=Org(unit=unit.unit),
                    occurred_at=datetime(2024, 12, 1, tzinfo=UTC),
                    correlation_id=uuid.uuid4(),
                ),
            )
        assert stored.position == len(items) + 1
        async with db.reading() as session:
            assert (await verify_log(session)).ok
            rows = (await session.execute(select(events).order_by(events.c.position))).mappings()
            expected = [canonical_json(row_body(row)) for row in rows]

        # What the relay publishes is byte for byte the hash input's canonical JSON.
        topic = f"t.bench.{unique}"
        await create_topics(broker.bootstrap, topic)
        relay = OutboxRelay(
            db=db,
            topic=topic,
            producer_kwargs=KafkaClientProfile.embedded(broker.bootstrap).producer_kwargs(),
            topic_id_lookup=lambda name: asyncio.sleep(0, result=None),
        )
        await relay.start()
        try:
            while await relay.run_once():
                pass
        finally:
            await relay.stop()
        seen = await read_topic(broker.bootstrap, topic, expect=len(expected), decode=False)
        assert sorted(s.raw or b"" for s in seen) == sorted(expected)
    finally:
        await db.dispose()


async def test_the_harness_runs_its_scenarios_and_writes_a_table(tmp_path: Path) -> None:
    report = Report(command="test", scale=TINY)
    async with stack("sqlite") as run:
        data = await load(run, 3, TINY)
        topics = await pipeline.publish(run, data, report)
        records, seconds = await pipeline.rebuild(run, topics, report)
        await appends.append_vs_insert(run, data, report, count=20)
    assert records == data.total and seconds > 0
    measures = {(line.scenario, line.metric.split(" (")[0]) for line in report.lines}
    assert ("relay", "relay / raw produce") in measures
    assert ("rebuild", "rebuild / raw consume") in measures
    assert ("command", "append / raw INSERT") in measures
    assert all(line.value and line.value != "n/a" for line in report.lines)
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n", encoding="utf-8")
    report.write_docs("tiny", docs)
    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\n## tiny (")
    assert "| relay | sqlite | relay / raw produce |" in text


async def test_the_latency_scenario_times_closed_periods_and_pledge_events() -> None:
    """Both halves of the latency run at a tiny scale: periods closed through reviews, and
    pledge commands through the pledges service, each up to the scoring batch that applied
    it (no timing is asserted, only that the figures are produced)."""
    report = Report(command="test", scale=TINY)
    args = parser().parse_args(["--latency-seconds", "1", "--concurrency", "4"])
    async with stack("sqlite") as run:
        data = await reads.load_served(run, 3, TINY)
        await pipeline.publish(run, data, None)
        await commands.services(run, data, report, args, {"latency"})
    lines = {line.metric.split(",")[0]: line for line in report.lines}
    assert lines["period closed -> cards p99"].verdict in ("met", "missed")
    pledged = lines["pledge event -> card p99"]
    assert pledged.target == "< 300 ms" and pledged.verdict in ("met", "missed")
    assert "pledge event -> member's card" in lines
    assert lines["pledge event -> member's card"].metric.startswith(
        "pledge event -> member's card, 5 at 5/s"
    )
    assert not report.notes, report.notes
