"""Forged events on the bus (issue 18's attack): someone who can reach the broker publishes a
``CommitteeMemberAppointed`` on the pledges topic to make themselves a voter in the reviews
service. The running reviews service (its real consumer, the session's real broker) must
apply none of the forgeries and dead-letter each with its reason, while it goes on applying
the events the pledges service really signed, also after that service's key is rotated."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from services.reviews import persistence as rv
from services.reviews.app import create_app
from shared.contracts import Actor, Event, Org
from shared.contracts.pledges import (
    BranchRegistered,
    CommitteeMemberAppointed,
    CommitteePosition,
    Membership,
    PersonRegistered,
    UnitRegistered,
)
from shared.db import Database
from shared.eventstore import EventStore, Metadata
from shared.eventstore.rows import link_hash
from shared.eventstore.tables import dead_letters
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.migrations import upgrade
from shared.settings import Settings
from shared.signing import HASH, PREV_HASH, SigningKey, create_key_pair
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration

TOPIC = "suxing.pledges"
UNIT, BRANCH = "u-fx", "b-fx"


async def test_forged_appointments_are_dead_lettered_and_real_events_still_apply(
    database_url: str, broker: EmbeddedBroker, tmp_path: Path, unique: str
) -> None:
    legit, attacker, sentinel = (f"fx-{who}-{unique}" for who in ("sec", "mallory", "late"))
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'pledges.db'}")
    await asyncio.to_thread(upgrade, "pledges", source.url)
    await _append(
        source,
        [
            (f"unit-{UNIT}-{unique}", UnitRegistered(unit_id=UNIT, name="测试党委")),
            (
                f"branch-{BRANCH}-{unique}",
                BranchRegistered(branch_id=BRANCH, unit_id=UNIT, name="测试党支部"),
            ),
            (f"person-{legit}", _person(legit, "王书记")),
            (
                f"person-{legit}",
                CommitteeMemberAppointed(
                    person_id=legit, branch_id=BRANCH, position=CommitteePosition.SECRETARY
                ),
            ),
            (f"person-{attacker}", _person(attacker, "马丽")),
        ],
    )
    await publish_outbox(source, broker.bootstrap, TOPIC)
    real_value, real_headers = await _record_of(broker.bootstrap, legit, "CommitteeMemberAppointed")

    # The forgeries: the real appointment's value with the attacker's id in it.
    value = real_value.replace(legit.encode(), attacker.encode())
    routing = [(n, v) for n, v in real_headers if n in ("content-type", "type", "version")]
    routing.append(("event_id", str(uuid.uuid4()).encode()))
    reviews_key = Settings(service="reviews").signing_key()  # a real key, of another service
    stranger = create_key_pair(tmp_path / "stolen-laptop", "pledges.k-attacker")
    forged = {
        "unsigned": routing,
        "forged origin": routing + _sign(reviews_key, value, routing),
        "unknown signing key": routing + _sign(stranger, value, routing),
        # The pledges service's real signature and chain headers over the changed value.
        "out of chain": real_headers,
    }
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    offsets: dict[str, int] = {}
    try:
        for reason, headers in forged.items():
            sent = await producer.send_and_wait(TOPIC, value, key=BRANCH.encode(), headers=headers)
            offsets[reason] = sent.offset
        # A replay of the real record, byte for byte: a duplicate, applied once in all.
        await producer.send_and_wait(TOPIC, real_value, key=BRANCH.encode(), headers=real_headers)
    finally:
        await producer.stop()
    settings = Settings(
        service="reviews",
        database_url=database_url,
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path / "reviews",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db: Database = app.state.runtime.db
        await _arrives(db, attacker, "the reviews service never read the roster")
        # Rotation while the consumer runs: pledges gets a new key (its public half lands in
        # the keys directory first) and signs the next event with it. The consumer has never
        # seen that key id; it must find it, not dead-letter a real event.
        rotated = create_key_pair(
            Settings(service="pledges").resolved_keys_dir(), f"pledges.rotated-{unique}"
        )
        await _append(source, [(f"person-{sentinel}", _person(sentinel, "晚到者"))])
        await publish_outbox(source, broker.bootstrap, TOPIC, rotated)
        await source.dispose()
        await _arrives(db, sentinel, "the event signed with the rotated key was not applied")
        async with db.reading() as session:
            seats = dict(
                (
                    await session.execute(
                        select(rv.people.c.person_id, rv.people.c.committee_branch_id).where(
                            rv.people.c.person_id.in_([legit, attacker])
                        )
                    )
                ).all()
            )
            dead = {
                offset: reason
                for offset, reason in await session.execute(
                    select(dead_letters.c.offset, dead_letters.c.reason).where(
                        dead_letters.c.consumer == "reviews",
                        dead_letters.c.topic == TOPIC,
                        dead_letters.c.offset.in_(list(offsets.values())),
                    )
                )
            }
    assert seats == {legit: BRANCH, attacker: None}
    for reason, offset in offsets.items():
        assert dead.get(offset, "").startswith(reason), (reason, dead.get(offset))


async def _arrives(db: Database, person_id: str, failure: str) -> None:
    for _ in range(600):
        async with db.reading() as session:
            found = await session.scalar(
                select(rv.people.c.person_id).where(rv.people.c.person_id == person_id)
            )
        if found:
            return
        await asyncio.sleep(0.1)
    pytest.fail(failure)


def _person(person_id: str, name: str) -> PersonRegistered:
    return PersonRegistered(
        person_id=person_id,
        name=name,
        branch_id=BRANCH,
        membership=Membership.FULL_MEMBER,
        post=None,
    )


async def _append(db: Database, items: list[tuple[str, Event]]) -> None:
    store = EventStore()
    for stream, event in items:
        async with db.transaction() as session:
            version = await store.version(session, stream)
            await store.append(
                session,
                stream=stream,
                expected_version=version,
                events_=[event],
                meta=Metadata(
                    actor=Actor(ref="org-admin", role="org_admin"),
                    org=Org(unit=UNIT, branch=BRANCH),
                    occurred_at=datetime.now(UTC),
                    correlation_id=uuid.uuid4(),
                ),
                partition_key=BRANCH,
            )


def _sign(
    key: SigningKey, value: bytes, routing: list[tuple[str, bytes]]
) -> list[tuple[str, bytes]]:
    """Signature headers as a relay holding ``key`` would make them for ``value``."""
    named = dict(routing)
    prev = "0" * 64
    return key.headers(
        topic=TOPIC,
        key=BRANCH.encode(),
        type_=named["type"].decode(),
        version=int(named["version"]),
        event_id=named["event_id"].decode(),
        position=1,
        prev_hash=prev,
        hash_=link_hash(prev, value),
    )


async def _record_of(
    bootstrap: str, person_id: str, type_: str
) -> tuple[bytes, list[tuple[str, bytes]]]:
    """The published record of ``person_id``'s ``type_`` event (value and headers)."""
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    headers = list(record.headers)
                    if (
                        ("type", type_.encode()) in headers
                        and record.value
                        and person_id.encode() in record.value
                    ):
                        assert any(n == HASH for n, _ in headers)
                        assert any(n == PREV_HASH for n, _ in headers)
                        return record.value, headers
    finally:
        await consumer.stop()
    raise AssertionError(f"{type_} of {person_id} was not published")
