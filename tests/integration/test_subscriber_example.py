"""The HR subscriber example receives final results from the real wire format, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from examples.hr_subscriber.app import FinalResult, ResultsStore, create_broker
from shared.contracts import Actor, Org
from shared.contracts.scoring import Band, FinalMemberResult, YearResultsFinalized
from shared.contracts.topics import TopicSpec
from shared.db import Database
from shared.eventstore import EventStore, Metadata, kernel_metadata
from shared.eventstore.relay import requeue_all
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker
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
    await publish_outbox(db, broker.bootstrap, topic)
    async with db.transaction() as s:
        await requeue_all(s)  # disaster-recovery republish: everything arrives twice
    await publish_outbox(db, broker.bootstrap, topic)

    store = ResultsStore(tmp_path / "hr.db")
    kafka = create_broker(broker.bootstrap, store, topic=topic, group_id=f"hr-{unique}")
    await kafka.start()
    try:
        for _ in range(200):
            if store.db.execute("SELECT count(*) FROM seen_events").fetchone()[0] == 1 and (
                store.results(2026)
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
