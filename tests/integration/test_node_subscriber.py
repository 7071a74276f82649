"""The Node.js subscriber example (examples/node_subscriber, kafkajs) as a real process against
a real embedded broker of its own: it receives a branch-year's final results and a published
pledge exactly once per event_id across a disaster-recovery republish and a broker loss
(the broker restarted empty, everything republished), verifies each record's origin per topic,
and sets aside forgeries with their reason (issue 19)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts import Actor, Event, Org
from shared.contracts.pledges import PledgePublished, PublicationChannel
from shared.contracts.scoring import Band, FinalMemberResult, YearResultsFinalized
from shared.contracts.topics import TopicSpec
from shared.db import Database
from shared.eventstore import EventStore, Metadata, kernel_metadata
from shared.eventstore.relay import requeue_all
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from shared.signing import SigningKey, create_key_pair
from tests.support.availability import unavailable
from tests.support.events import TEST_REGISTRY, CounterReset, meta
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node_subscriber"
BRANCH = "b-node"


class NodeSubscriber:
    """The example's process; its JSON log lines collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        node = shutil.which("node")
        if node is None or not (EXAMPLE / "node_modules" / "kafkajs").is_dir():
            unavailable("node and the example's packages (make install runs npm ci)")
        self.lines: list[dict[str, object]] = []
        self.proc = subprocess.Popen(
            [str(node), "subscriber.js"],
            cwd=EXAMPLE,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"event": "text", "text": raw.decode(errors="replace")})

    def count(self, event: str) -> int:
        return sum(1 for line in list(self.lines) if line.get("event") == event)

    async def wait(self, done: Callable[[], bool], what: str, seconds: float = 90) -> None:
        for _ in range(int(seconds * 10)):
            if done():
                return
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.1)
        pytest.fail(f"{what}; the subscriber said: {self.lines[-20:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker this test may lose (the session's broker is shared)."""
    binary = find_broker_binary(os.environ.get("SUXING_BROKER_BIN"))
    with EmbeddedBroker(binary, log_path=tmp_path / "broker.log") as running:
        yield running


async def _append(db: Database, stream: str, event: Event, registry: object = None) -> None:
    store = EventStore(TEST_REGISTRY) if registry is not None else EventStore()
    async with db.transaction() as s:
        await store.append(
            s,
            stream=stream,
            expected_version=0,
            events_=[event],
            meta=Metadata(
                actor=Actor(ref="sec", role="branch_committee"),
                org=Org(unit="u-node", branch=BRANCH),
                occurred_at=datetime.now(UTC),
                correlation_id=uuid.uuid4(),
                year=2026,
            )
            if registry is None
            else meta(branch=BRANCH),
            partition_key=BRANCH,
        )


async def _publish_all(
    broker: EmbeddedBroker, sources: list[tuple[Database, str, SigningKey]], *, again: bool
) -> None:
    for db, topic, key in sources:
        if again:
            async with db.transaction() as s:
                await requeue_all(s)
        await publish_outbox(db, broker.bootstrap, topic, key)


async def test_node_subscriber_receives_each_result_once_across_republish_and_broker_loss(
    own_broker: EmbeddedBroker, tmp_path: Path, unique: str
) -> None:
    scoring_topic, pledges_topic = f"t.node.scoring.{unique}", f"t.node.pledges.{unique}"
    specs = [TopicSpec(scoring_topic, 3), TopicSpec(pledges_topic, 3)]
    await asyncio.to_thread(admin.ensure_topics, own_broker.bootstrap, specs)
    scoring_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}")
    pledges_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pledges.db'}")
    for db in (scoring_db, pledges_db):
        await db.create_all([kernel_metadata])
    results = YearResultsFinalized(
        branch_id=BRANCH,
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
    await _append(scoring_db, f"branch-results-{BRANCH}-2026", results)
    await _append(scoring_db, "other-scoring", CounterReset(reason="x"), TEST_REGISTRY)
    published = PledgePublished(
        pledge_id="p-node-1",
        channels=(PublicationChannel.STAFF_MEETING, PublicationChannel.NOTICE_BOARD),
        published_on=date(2026, 3, 2),
    )
    await _append(pledges_db, "pledge-p-node-1", published)
    await _append(pledges_db, "other-pledges", CounterReset(reason="y"), TEST_REGISTRY)
    keys = tmp_path / "keys"
    scoring_key = create_key_pair(keys, "scoring.node-test")
    pledges_key = create_key_pair(keys, "pledges.node-test")
    sources = [(scoring_db, scoring_topic, scoring_key), (pledges_db, pledges_topic, pledges_key)]
    await _publish_all(own_broker, sources, again=False)

    # Forgeries on the scoring topic: unsigned, and signed by a key that does not own it.
    forged = json.dumps({"type": "YearResultsFinalized", "data": {"branch_id": BRANCH}}).encode()
    routing = [
        ("type", b"YearResultsFinalized"),
        ("version", b"1"),
        ("event_id", str(uuid.uuid4()).encode()),
    ]
    wrong_owner = pledges_key.headers(
        topic=scoring_topic,
        key=BRANCH.encode(),
        type_="YearResultsFinalized",
        version=1,
        event_id=routing[2][1].decode(),
        position=1,
        prev_hash="0" * 64,
        hash_="0" * 64,
    )
    producer = AIOKafkaProducer(bootstrap_servers=own_broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(scoring_topic, forged, key=BRANCH.encode(), headers=routing)
        await producer.send_and_wait(
            scoring_topic, forged, key=BRANCH.encode(), headers=routing + wrong_owner
        )
    finally:
        await producer.stop()

    data_dir = tmp_path / "node-data"
    node = NodeSubscriber(
        {
            "SUXING_BROKER_URL": own_broker.bootstrap,
            "SUXING_TOPICS": f"{scoring_topic}:scoring:YearResultsFinalized,"
            f"{pledges_topic}:pledges:PledgePublished",
            "SUXING_KEYS_DIR": str(keys),
            "SUBSCRIBER_DATA_DIR": str(data_dir),
            "SUBSCRIBER_GROUP": f"node-{unique}",
        }
    )
    try:
        await node.wait(
            lambda: node.count("received") == 2 and node.count("rejected") >= 2,
            "the subscriber did not receive both events and reject both forgeries",
        )
        # A disaster-recovery republish: both events arrive again and change nothing.
        await _publish_all(own_broker, sources, again=True)
        await node.wait(lambda: node.count("duplicate") >= 2, "the republish never arrived")
        # The broker is lost (restarted empty: topics, offsets and groups gone); the operator
        # recreates the topics and republishes everything.
        before_loss = node.count("duplicate")
        await asyncio.to_thread(own_broker.restart)
        await asyncio.to_thread(admin.ensure_topics, own_broker.bootstrap, specs)
        await _publish_all(own_broker, sources, again=True)
        await node.wait(
            lambda: node.count("duplicate") >= before_loss + 2,
            "nothing arrived after the broker loss",
            120,
        )
    finally:
        node.stop()
        for db in (scoring_db, pledges_db):
            await db.dispose()

    lines = [json.loads(line) for line in (data_dir / "received.jsonl").read_text().splitlines()]
    assert len({line["event_id"] for line in lines}) == len(lines) == 2
    by_type = {line["type"]: line for line in lines}
    assert sorted(by_type) == ["PledgePublished", "YearResultsFinalized"]
    finals = by_type["YearResultsFinalized"]["data"]
    assert finals["branch_id"] == BRANCH and finals["year"] == 2026
    assert [(r["member_id"], r["composite"], r["band"]) for r in finals["results"]] == [
        ("m1", "96.50", "good_standing"),
        ("m2", "72.00", "yellow_card"),
    ]
    assert by_type["PledgePublished"]["data"]["pledge_id"] == "p-node-1"
    assert node.count("received") == 2
    rejected = [json.loads(line) for line in (data_dir / "rejected.jsonl").read_text().splitlines()]
    assert {r["reason"] for r in rejected} == {
        "unsigned or incomplete signature headers",
        "signed by pledges.node-test, not the topic's owner",
    }
