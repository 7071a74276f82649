"""Disaster recovery: the broker loses everything (the embedded one restarts), the sources
republish their event tables, and the scoring projection stays exactly as it was; `suxing
rebuild scoring` from offset 0 of the new log gives the same tables."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scoring.app import READ_MODEL
from shared.contracts.topics import all_topics
from shared.eventstore.relay import requeue_all
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from shared.messaging.offsets import true_end_offsets
from shared.readmodel.slots import ReadModel
from suxing_cli.rebuild import run_rebuild
from tests.integration.scoring.conftest import ScoringService
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.tables import snapshot
from tests.integration.scoring.test_service import people, seeded, until
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of this test's own: restarting it must not touch other tests' topics, and
    each database's run must see only its own events."""
    embedded = EmbeddedBroker(find_broker_binary(), log_path=tmp_path / "tansu.log")
    embedded.start()
    admin.ensure_topics(embedded.bootstrap, all_topics(3))
    try:
        yield embedded
    finally:
        embedded.stop()


async def test_projections_survive_a_broker_that_lost_everything(
    scoring: ScoringService,
    year: int,
    unique: str,
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    live_db = scoring.app.state.runtime.read_db()
    before = await snapshot(live_db)

    # The broker restarts empty: every topic, offset and group is gone.
    await asyncio.to_thread(scoring.broker.restart)
    await asyncio.to_thread(admin.ensure_topics, scoring.broker.bootstrap, all_topics(3))
    # Disaster recovery on the source side: `suxing republish` of the whole event table.
    async with scoring.source.transaction() as session:
        await requeue_all(session)
    for topic in ("suxing.pledges", "suxing.reviews"):
        await publish_outbox(scoring.source, scoring.broker.bootstrap, topic)

    # The live consumer notices the new topics, re-reads them from 0, and its stream dedupe
    # turns every republished event into a no-op: nothing changes, nothing is counted twice.
    runtime = scoring.app.state.runtime

    async def reread() -> bool | None:
        consumer = runtime.consumer
        return True if consumer.stats.duplicates >= len(scenario.pledges_events()) else None

    assert await until(reread, timeout=90), "the consumer did not re-read the new topics"
    assert await snapshot(live_db) == before

    # The scoring service's own log (its seal at start, its policy) comes back through its
    # relay, which republishes by itself when it finds its topic new: the rebuild reads it
    # too, so it waits for it as an operator would wait for every `suxing republish`.
    async with runtime.db.reading() as session:
        own = int(await runtime.store.count(session))

    async def republished() -> bool | None:
        ends = await asyncio.to_thread(true_end_offsets, scoring.broker.bootstrap, "suxing.scoring")
        return True if sum(ends.values()) >= own else None

    assert own >= 1 and await until(republished, timeout=90), "scoring did not republish"

    # And `suxing rebuild scoring` from offset 0 of the new log gives the same rows: verified
    # against the live slot, switched, and equal to the tables from before the loss.
    report = await run_rebuild(
        "scoring",
        db=runtime.db,
        bootstrap=scoring.broker.bootstrap,
        in_place=False,
        show_progress=False,
    )
    assert report.verified is True, [c.as_dict() for c in report.comparisons if not c.equal]
    assert report.switched and report.slot == "green"
    model = ReadModel(READ_MODEL, runtime.db)
    try:
        assert await snapshot(model.database("green")) == before
    finally:
        await model.dispose()
