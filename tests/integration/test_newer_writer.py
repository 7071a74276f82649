"""Contracts that evolve (issue 19): a newer pledges service adds an optional field to
``PersonRegistered`` v1 without a new version (docs/compatibility.md allows it). Today's
reviews service, an old reader, must apply that event (its real consumer, the session's real
broker, the record signed by the pledges key like any other) and dead-letter nothing; the
writer's own strictness is unchanged."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError
from sqlalchemy import func, select

from services.reviews import persistence as rv
from services.reviews.app import create_app
from shared.contracts import REGISTRY, Actor, EventRegistry, Org, event_type
from shared.contracts.pledges import (
    BranchRegistered,
    Membership,
    PersonRegistered,
    UnitRegistered,
)
from shared.db import Database
from shared.eventstore import EventStore, Metadata
from shared.eventstore.tables import dead_letters
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration

TOPIC = "suxing.pledges"


def newer_registry() -> tuple[EventRegistry, type[PersonRegistered]]:
    """The registry of a pledges service one release ahead: same type and version, one
    optional field more."""
    registry = EventRegistry()
    for type_name, version, model in REGISTRY.types():
        if type_name != "PersonRegistered":
            registry.register(model, type_name, version)

    @event_type("PersonRegistered", 1, term="人员登记", registry=registry)
    class PersonRegisteredNext(PersonRegistered):
        """A person registered, as a later release writes it."""

        phone_extension: str | None = None
        """The person's desk telephone extension (added in a later release)."""

    return registry, PersonRegisteredNext


async def test_an_old_reader_applies_an_event_with_an_added_optional_field(
    database_url: str, broker: EmbeddedBroker, tmp_path: Path, unique: str
) -> None:
    registry, newer = newer_registry()
    unit, branch, person = f"u-nw-{unique}", f"b-nw-{unique}", f"nw-{unique}"
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'pledges.db'}")
    await asyncio.to_thread(upgrade, "pledges", source.url)
    store = EventStore(registry)
    items = [
        (f"unit-{unit}", UnitRegistered(unit_id=unit, name="新版党委")),
        (f"branch-{branch}", BranchRegistered(branch_id=branch, unit_id=unit, name="新版党支部")),
        (
            f"person-{person}",
            newer(
                person_id=person,
                name="李新",
                branch_id=branch,
                membership=Membership.FULL_MEMBER,
                post=None,
                phone_extension="8123",
            ),
        ),
    ]
    for stream, event in items:
        async with source.transaction() as session:
            await store.append(
                session,
                stream=stream,
                expected_version=0,
                events_=[event],
                meta=Metadata(
                    actor=Actor(ref="org-admin", role="org_admin"),
                    org=Org(unit=unit, branch=branch),
                    occurred_at=datetime.now(UTC),
                    correlation_id=uuid.uuid4(),
                ),
                partition_key=branch,
            )
    await publish_outbox(source, broker.bootstrap, TOPIC)
    await source.dispose()
    partition, offset = await _position_of(broker.bootstrap, person)

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
        row = None
        for _ in range(600):
            async with db.reading() as session:
                row = (
                    await session.execute(
                        select(rv.people.c.name, rv.people.c.branch_id).where(
                            rv.people.c.person_id == person
                        )
                    )
                ).first()
            if row is not None:
                break
            await asyncio.sleep(0.1)
        async with db.reading() as session:
            dead = await session.scalar(
                select(func.count())
                .select_from(dead_letters)
                .where(
                    dead_letters.c.consumer == "reviews",
                    dead_letters.c.topic == TOPIC,
                    dead_letters.c.partition == partition,
                    dead_letters.c.offset == offset,
                )
            )
    assert row is not None, "the old reader never applied the newer writer's event"
    assert tuple(row) == ("李新", branch)
    assert dead == 0

    # The writer stays strict: today's model refuses the field it does not declare.
    with pytest.raises(ValidationError, match="extra"):
        PersonRegistered(
            person_id=person,
            name="李新",
            branch_id=branch,
            membership=Membership.FULL_MEMBER,
            post=None,
            phone_extension="8123",  # type: ignore[call-arg]
        )


async def _position_of(bootstrap: str, person_id: str) -> tuple[int, int]:
    """Where the newer ``PersonRegistered`` is on the topic (checked to carry the field)."""
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    if record.value and person_id.encode() in record.value:
                        data = json.loads(record.value)["data"]
                        if data.get("person_id") == person_id:
                            assert data["phone_extension"] == "8123"
                            return int(record.partition), int(record.offset)
    finally:
        await consumer.stop()
    raise AssertionError(f"PersonRegistered of {person_id} was not published")
