"""``suxing rebuild reviews --in-place``: the roster (what the consumer learned from the
pledges and scoring topics) is emptied and read again from offset 0; the service's own data
(periods, ballots, period keys) is not touched."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from services.reviews import persistence as rv
from shared.contracts.pledges import ExemptionReason, MemberExempted, PersonTransferred
from shared.db import Database
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.migrations import upgrade
from shared.readmodel.slots import SlotError
from suxing_cli.rebuild import run_rebuild
from tests.integration.reviews.conftest import BRANCH, NOW, OTHER_BRANCH, PEOPLE, UNIT, YEAR
from tests.support.kafka import publish_outbox

pytestmark = pytest.mark.integration


async def roster(db: Database) -> dict[str, list[Any]]:
    async with db.reading() as session:
        return {
            table.name: [
                tuple(row)
                for row in await session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in rv.ROSTER_TABLES
        }


async def test_the_roster_rebuilds_in_place_and_leaves_ballots_alone(
    database_url: str, broker: EmbeddedBroker, tmp_path: Path, unique: str
) -> None:
    # Put a roster on the real pledges topic, as the pledges service would.
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'pledges.db'}")
    await asyncio.to_thread(upgrade, "pledges", source.url)
    await _append(source, unique)
    await publish_outbox(source, broker.bootstrap, "suxing.pledges")

    await asyncio.to_thread(upgrade, "reviews", database_url)
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(rv.period_keys).values(period_id=f"p-{unique}", key=b"k" * 32)
            )
            await session.execute(
                insert(rv.periods).values(
                    period_id=f"p-{unique}",
                    kind="peer",
                    period="Q1",
                    year=YEAR,
                    scope_level="branch",
                    unit_id=UNIT,
                    branch_id=OTHER_BRANCH,
                    closed=False,
                    opened_at=NOW - timedelta(days=1),
                )
            )
        with pytest.raises(SlotError, match="--in-place"):
            await run_rebuild("reviews", db=db, bootstrap=broker.bootstrap, in_place=False)
        first = await run_rebuild(
            "reviews", db=db, bootstrap=broker.bootstrap, in_place=True, show_progress=False
        )
        assert first.records > 0 and not first.interrupted
        built = await roster(db)
        assert {row[0] for row in built["rv_branches"]} >= {BRANCH, OTHER_BRANCH}
        assert len(built["rv_people"]) >= len(PEOPLE)
        assert (f"p-{unique}", f"rv-m3-{unique}", BRANCH) in built["rv_period_moves"]
        assert (f"rv-m1-{unique}", YEAR) in built["rv_exemptions"]
        again = await run_rebuild(
            "reviews", db=db, bootstrap=broker.bootstrap, in_place=True, show_progress=False
        )
        assert again.applied == first.applied
        assert await roster(db) == built
        async with db.reading() as session:
            keys = await session.scalar(
                select(rv.period_keys.c.key).where(rv.period_keys.c.period_id == f"p-{unique}")
            )
        assert keys == b"k" * 32
    finally:
        await db.dispose()
        await source.dispose()


async def _append(source: Database, suffix: str) -> None:
    """The reviews tests' example roster, appended as the pledges service would, with the
    people and pledges renamed (``-suffix``): the topic is shared by the whole session, and
    every later reviews test's consumer reads it, so the example's own ids (a pairing that a
    later test withdraws by feeding its projection directly) must not come back from it."""
    import uuid

    from shared.contracts import Actor, Org
    from shared.eventstore import EventStore, Metadata
    from tests.integration.reviews.conftest import roster_events

    store = EventStore()
    ids = ("person_id", "member_id", "employee_id", "pledge_id", "paired_employee_id")
    renamed_events = []
    for original, example in roster_events():
        renamed = {f: f"{getattr(example, f)}-{suffix}" for f in ids if getattr(example, f, None)}
        renamed_events.append((f"{original}-{suffix}", example.model_copy(update=renamed)))
    # A move while the test's period is open (it covers the branch moved to) and an exemption.
    # The branch moved to is one the roster registered: every consumer of the shared topic
    # (scoring's tests compare its live and rebuilt tables) must see a roster that could exist.
    renamed_events += [
        (
            f"person-rv-m3-{suffix}",
            PersonTransferred(
                person_id=f"rv-m3-{suffix}", from_branch_id=BRANCH, to_branch_id=OTHER_BRANCH
            ),
        ),
        (
            f"person-rv-m1-{suffix}",
            MemberExempted(
                member_id=f"rv-m1-{suffix}",
                branch_id=BRANCH,
                year=YEAR,
                reason=ExemptionReason.MOBILE_MEMBER,
                reason_text=None,
                evidence="外出务工证明",
            ),
        ),
    ]
    for stream, event in renamed_events:
        async with source.transaction() as session:
            await store.append(
                session,
                stream=stream,
                expected_version=await store.version(session, stream),
                events_=[event],
                meta=Metadata(
                    actor=Actor(ref="seed", role="operator"),
                    org=Org(unit=UNIT, branch=BRANCH),
                    occurred_at=NOW,
                    correlation_id=uuid.uuid4(),
                ),
                partition_key=BRANCH,
            )
