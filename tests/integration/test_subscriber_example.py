"""The HR subscriber example receives final results from the real wire format, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text

from examples.hr_subscriber.app import FinalResult, ResultsStore, create_broker, trusted_keys
from shared.contracts import Actor, Org
from shared.contracts.scoring import Band, FinalMemberResult, YearResultsFinalized
from shared.contracts.topics import TopicSpec
from shared.db import Database
from shared.eventstore import EventStore, Metadata, kernel_metadata
from shared.eventstore.relay import requeue_all
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.signing import create_key_pair
from tests.support.events import TEST_REGISTRY, CounterReset, meta
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration


async def test_hr_example_stores_final_results_once(
    broker: EmbeddedBroker, tmp_path: Path, unique: str
) -> None:
    topic = f"t.hr.{unique}"
    await asyncio.to_thread(admin.ensure_topics, broker.bootstrap, [TopicSpec(topic, 3)])
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}")
    await db.create_all([kernel_metadata])
    finalized = YearResultsFinalized(
        branch_id="b-hr",
        year=2026,
        policy_id="default",
        results=(
            FinalMemberResult(
                member_id="m1",
                composite=Decimal("96.50"),
                band=Band.GOOD_STANDING,
                missing=(),
                adjusted=False,
            ),
            FinalMemberResult(
                member_id="m2",
                composite=Decimal("72.00"),
                band=Band.YELLOW_CARD,
                missing=(),
                adjusted=True,
            ),
        ),
    )
    async with db.transaction() as s:
        await EventStore().append(
            s,
            stream="branch-results-b-hr-2026",
            expected_version=0,
            events_=[finalized],
            meta=Metadata(
                actor=Actor(ref="sec", role="branch_committee"),
                org=Org(unit="u", branch="b-hr"),
                occurred_at=datetime.now(UTC),
                correlation_id=uuid.uuid4(),
                year=2026,
            ),
            partition_key="b-hr",
        )
        # An event of another type on the same topic: the subscriber must skip it.
        await EventStore(TEST_REGISTRY).append(
            s,
            stream="other",
            expected_version=0,
            events_=[CounterReset(reason="x")],
            meta=meta(branch="b-hr"),
            partition_key="b-hr",
        )
    keys = tmp_path / "keys"
    scoring_key = create_key_pair(keys, "scoring.hr-test")
    create_key_pair(keys, "pledges.hr-test")  # another service's key: not trusted for results
    await publish_outbox(db, broker.bootstrap, topic, scoring_key)
    async with db.transaction() as s:
        await requeue_all(s)  # disaster-recovery republish: everything arrives twice
    await publish_outbox(db, broker.bootstrap, topic, scoring_key)
    # Forgeries on the same topic: unsigned results for the same branch and year, and the real
    # record's signed headers over a changed value. Neither may reach the HR table.
    async with db.reading() as s:
        wire = (await s.execute(text("SELECT wire FROM es_events ORDER BY position"))).scalar()
    forged = bytes(wire).replace(b'"96.50"', b'"99.99"')
    assert forged != bytes(wire)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        plain = [("type", b"YearResultsFinalized"), ("version", b"1")]
        await producer.send_and_wait(topic, forged, key=b"b-hr", headers=plain)
        signed = await _first_headers(broker.bootstrap, topic)
        await producer.send_and_wait(topic, forged, key=b"b-hr", headers=signed)
    finally:
        await producer.stop()

    store = ResultsStore(tmp_path / "hr.db")
    trusted = trusted_keys(keys)
    assert sorted(trusted) == ["scoring.hr-test"]
    kafka = create_broker(broker.bootstrap, store, trusted, topic=topic, group_id=f"hr-{unique}")
    await kafka.start()
    try:
        for _ in range(200):
            rejected = store.db.execute("SELECT count(*) FROM rejected").fetchone()[0]
            if (
                store.db.execute("SELECT count(*) FROM seen_events").fetchone()[0] == 1
                and store.results(2026)
                and rejected == 2
            ):
                await asyncio.sleep(0.5)  # let the duplicate arrive too
                break
            await asyncio.sleep(0.1)
    finally:
        await kafka.stop()
        await db.dispose()
    assert store.results(2026) == [
        FinalResult("b-hr", 2026, "m1", "96.50", "good_standing", False),
        FinalResult("b-hr", 2026, "m2", "72.00", "yellow_card", True),
    ]
    assert store.db.execute("SELECT count(*) FROM seen_events").fetchone()[0] == 1
    reasons = [r for (r,) in store.db.execute('SELECT reason FROM rejected ORDER BY "offset"')]
    assert reasons == [
        "unsigned or incomplete signature headers",
        "the value does not hash to its signed chain link",
    ]


async def _first_headers(bootstrap: str, topic: str) -> list[tuple[str, bytes]]:
    """The headers of a record the relay published on ``topic`` (signed)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                return list(records[0].headers)
    finally:
        await consumer.stop()
