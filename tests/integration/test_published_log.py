"""``verify-log --against-topic`` (shared/eventstore/published.py): a database writer rewrites
one stored event and recomputes its hash, its stream's head and the seals, so the log checks
out against itself; what the service signed and published still names the rewrite."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update

from shared.contracts import Actor, Event, Org
from shared.contracts.pledges import BranchRegistered, Membership, PersonRegistered
from shared.db import Database
from shared.eventstore import EventStore, Metadata
from shared.eventstore.integrity import verify_log
from shared.eventstore.published import TopicReport, compare_with_published, published_links
from shared.eventstore.rows import chain_hash, envelope_bytes
from shared.eventstore.seal import seal_log, verify_seals
from shared.eventstore.tables import events, streams
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.messaging.offsets import true_end_offsets
from shared.migrations import upgrade
from shared.settings import Settings
from shared.signing import Verifier
from tests.support.kafka import create_topics, publish_outbox

pytestmark = pytest.mark.integration


async def test_a_rewrite_with_recomputed_hashes_and_seals_is_caught_against_the_topic(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> None:
    await asyncio.to_thread(upgrade, "pledges", database_url)
    db = Database(database_url)
    topic = f"t.published.{unique}"
    await create_topics(broker.bootstrap, topic)
    settings = Settings(service="pledges")
    verifier = Verifier(settings.verifier().keyring, {topic: "pledges"})
    try:
        await _append(
            db,
            [
                ("branch-b-pub", BranchRegistered(branch_id="b-pub", unit_id="u-pub", name="支部")),
                (f"person-a-{unique}", _person(f"a-{unique}", "王强")),
                (f"person-b-{unique}", _person(f"b-{unique}", "刘芳")),
                (f"person-c-{unique}", _person(f"c-{unique}", "赵磊")),
            ],
        )
        await publish_outbox(db, broker.bootstrap, topic, settings.signing_key())
        # A forgery on the topic proves nothing and is counted apart, not as a difference.
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b'{"forged": true}', key=b"b-pub")
        finally:
            await producer.stop()

        clean = await _compare(db, broker, topic, verifier)
        assert clean.ok, clean.differences
        assert (clean.compared, clean.refused) == (4, 1)

        # The rewrite: 刘芳 becomes 刘某, with every hash and the seals recomputed.
        position = await _rewrite(db, f"person-b-{unique}", "刘芳", "刘某")
        async with db.transaction() as session:
            await seal_log(session, service="pledges", now=datetime.now(UTC))
        async with db.reading() as session:
            assert (await verify_log(session)).ok
            assert (await verify_seals(session, service="pledges"))[1] == []

        caught = await _compare(db, broker, topic, verifier)
        assert not caught.ok
        first = caught.differences[0]
        assert first.position == position
        assert "differs from what was published" in first.reason
        # Only the rewrite: the seal appended after it waits in the outbox (not a difference).
        assert [d.position for d in caught.differences] == [position]
    finally:
        await db.dispose()


async def _compare(
    db: Database, broker: EmbeddedBroker, topic: str, verifier: Verifier
) -> TopicReport:
    report = TopicReport(topic)
    ends = await asyncio.to_thread(true_end_offsets, broker.bootstrap, topic)
    links = await published_links(broker.bootstrap, topic, verifier, ends, report)
    async with db.reading() as session:
        await compare_with_published(session, links, report)
    return report


async def _rewrite(db: Database, stream: str, old: str, new: str) -> int:
    async with db.transaction() as session:
        row = dict(
            (await session.execute(select(events).where(events.c.stream == stream)))
            .mappings()
            .one()
        )
        data = json.loads(row["data"])
        assert data["name"] == old
        data["name"] = new
        row["data"] = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        row["hash"] = chain_hash(row["prev_hash"], row)
        await session.execute(
            update(events)
            .where(events.c.position == row["position"])
            .values(data=row["data"], hash=row["hash"], wire=envelope_bytes(row))
        )
        await session.execute(
            update(streams).where(streams.c.stream == stream).values(head_hash=row["hash"])
        )
        return int(row["position"])


def _person(person_id: str, name: str) -> PersonRegistered:
    return PersonRegistered(
        person_id=person_id,
        name=name,
        branch_id="b-pub",
        membership=Membership.FULL_MEMBER,
        post=None,
    )


async def _append(db: Database, items: list[tuple[str, Event]]) -> None:
    store = EventStore()
    for stream, event in items:
        async with db.transaction() as session:
            await store.append(
                session,
                stream=stream,
                expected_version=0,
                events_=[event],
                meta=Metadata(
                    actor=Actor(ref="org-admin", role="org_admin"),
                    org=Org(unit="u-pub", branch="b-pub"),
                    occurred_at=datetime.now(UTC),
                    correlation_id=uuid.uuid4(),
                ),
                partition_key="b-pub",
            )
