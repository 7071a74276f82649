"""``suxing rebuild scoring`` blue/green, on a live service with events arriving: the rebuilt
slot is verified equal to the live one, reads switch to it without a single failed request,
the live consumer carries on from the rebuilt slot, and an independent comparison after the
load agrees. Plus: an interrupted rebuild resumes; a rebuild that differs does not switch."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from services.scoring import persistence as t
from services.scoring.app import READ_MODEL
from shared.db import Database
from shared.migrations import upgrade
from shared.readmodel.rebuild import stored_positions
from shared.readmodel.slots import ReadModel
from suxing_cli.rebuild import run_rebuild
from tests.conftest import PgDatabases
from tests.integration.scoring.conftest import ScoringService
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.tables import snapshot
from tests.integration.scoring.test_service import people, seeded, until

pytestmark = pytest.mark.integration


class Readers:
    """Clients reading the projection the whole time; every answer must be a 200."""

    def __init__(self, scoring: ScoringService, scenario: Scenario, who: dict[str, str]) -> None:
        self.scoring = scoring
        self.paths = [
            (f"/branches/{scenario.branch}/results/{scenario.year}", who["committee"]),
            (f"/members/{scenario.m(3)}/cards/{scenario.year}", who["admin"]),
            (
                f"/statistics/{scenario.year}?scope=branch&id={scenario.branch}",
                who["committee"],
            ),
        ]
        self.reads = 0
        self.failures: list[tuple[str, int, str]] = []
        self.slots_seen: list[str] = []
        self.composites: set[Any] = set()

    async def run(self, stop: asyncio.Event) -> None:
        runtime = self.scoring.app.state.runtime
        while not stop.is_set():
            for path, who in self.paths:
                response = await self.scoring.call("GET", path, who)
                self.reads += 1
                if response.status_code != 200:
                    self.failures.append((path, response.status_code, response.text[:200]))
                elif "/cards/" in path:
                    self.composites.add(response.json()["composite"])
            slot = runtime.read_slot
            if not self.slots_seen or self.slots_seen[-1] != slot:
                self.slots_seen.append(slot)
            await asyncio.sleep(0.01)


async def keep_publishing(
    scoring: ScoringService, unique: str, year: int, stop: asyncio.Event, published: list[int]
) -> None:
    """Whole branch-years arriving one after another (each its own branch and members)."""
    n = 0
    while not stop.is_set():
        n += 1
        extra = Scenario(f"{unique}-load{n}", year)
        planned = extra.pledges_events() + extra.review_events()
        await scoring.publish_inputs(planned)
        published.append(len(planned))
        await asyncio.sleep(0.05)


async def live_caught_up(scoring: ScoringService) -> bool:
    """The live consumer has applied everything on the topics (positions = true ends)."""
    from shared.messaging.offsets import true_end_offsets

    runtime = scoring.app.state.runtime
    ends: dict[tuple[str, int], int] = {}
    for topic in ("suxing.pledges", "suxing.reviews", "suxing.scoring"):
        found = await asyncio.to_thread(true_end_offsets, scoring.broker.bootstrap, topic)
        ends.update({(topic, p): o for p, o in found.items() if o > 0})
    positions = await stored_positions(runtime.read_db(), "scoring")
    return all(positions.get(tp, 0) >= end for tp, end in ends.items())


@pytest.mark.slow
async def test_rebuild_under_live_load_switches_without_a_failed_read(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    runtime = scoring.app.state.runtime
    assert runtime.read_slot == "blue"
    expected_composite = (
        await scoring.ok("GET", f"/members/{scenario.m(3)}/cards/{year}", who["admin"])
    )["composite"]

    stop_load, stop_reads = asyncio.Event(), asyncio.Event()
    published: list[int] = []
    readers = Readers(scoring, scenario, who)
    load = asyncio.create_task(keep_publishing(scoring, unique, year, stop_load, published))
    reading = asyncio.create_task(readers.run(stop_reads))
    try:
        await until(lambda: _true_if(len(published) >= 2))
        report = await run_rebuild(
            "scoring",
            db=runtime.db,
            bootstrap=scoring.broker.bootstrap,
            in_place=False,
            show_progress=False,
        )
        assert report.verified is True, json.dumps(
            [c.as_dict() for c in report.comparisons if not c.equal], default=str, indent=1
        )
        assert report.switched and report.slot == "green" and report.previous == "blue"
        # The empty green slot was filled by the fold (in memory, one bulk transaction),
        # then brought to the live slot's offsets by the checkpointed consumer.
        assert report.folded
        assert {c.table for c in report.comparisons} >= {t.cards.name, t.branch_stats.name}
        assert all(c.live_rows == c.rebuilt_rows for c in report.comparisons)
        assert sum(c.rebuilt_rows for c in report.comparisons) > 0
        # The service follows the switch by itself, and goes on consuming into green.
        assert await until(lambda: _true_if(runtime.read_slot == "green"), timeout=10)
        load_at_switch = len(published)
        await until(lambda: _true_if(len(published) >= load_at_switch + 2))
    finally:
        stop_load.set()
        await load
        await asyncio.sleep(0.5)
        stop_reads.set()
        await reading

    assert readers.failures == [], readers.failures[:5]
    assert readers.reads > 50 and readers.slots_seen == ["blue", "green"]
    assert readers.composites == {expected_composite}

    # Everything published (before, during and after the switch) reaches the green slot once.
    assert await until(lambda: _caught_up_or_none(scoring), timeout=90)
    live = runtime.read_db()
    model = ReadModel(runtime.read_model.spec, runtime.db)
    try:
        # An independent check: build blue again from offset 0 (no switch) and compare every
        # row with the live green slot, with the tests' own reader rather than the checksums.
        again = await run_rebuild(
            "scoring",
            db=runtime.db,
            bootstrap=scoring.broker.bootstrap,
            in_place=False,
            switch=False,
            show_progress=False,
        )
        assert again.verified is True, json.dumps(
            [c.as_dict() for c in again.comparisons if not c.equal], default=str, indent=1
        )
        assert not again.switched and again.slot == "blue"
        assert await snapshot(model.database("blue")) == await snapshot(live)
        assert (await model.slots())["green"].state == "active"
    finally:
        await model.dispose()


async def test_an_interrupted_rebuild_resumes_and_a_differing_one_does_not_switch(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    runtime = scoring.app.state.runtime
    stop = asyncio.Event()
    stop.set()  # asked to stop before the first batch: nothing verified, nothing switched
    first = await run_rebuild(
        "scoring",
        db=runtime.db,
        bootstrap=scoring.broker.bootstrap,
        in_place=False,
        show_progress=False,
        stop=stop,
    )
    assert first.interrupted and not first.switched and not first.folded
    model = ReadModel(runtime.read_model.spec, runtime.db)
    try:
        assert (await model.slots())["green"].state == "building"
        resumed = await run_rebuild(
            "scoring",
            db=runtime.db,
            bootstrap=scoring.broker.bootstrap,
            in_place=False,
            switch=False,
            show_progress=False,
        )
        # A slot left building but empty (stopped before anything was written) is folded.
        assert resumed.resumed and resumed.folded
        assert resumed.verified is True and not resumed.switched

        # Damage one card in the live slot: the next rebuild reports it and keeps blue.
        async with runtime.read_db().transaction() as session:
            await session.execute(
                update(t.cards)
                .where(t.cards.c.member_id == scenario.m(3), t.cards.c.year == year)
                .values(composite="12.34")
            )
        differs = await run_rebuild(
            "scoring",
            db=runtime.db,
            bootstrap=scoring.broker.bootstrap,
            in_place=False,
            show_progress=False,
        )
        assert differs.verified is False and not differs.switched
        cards = next(c for c in differs.comparisons if c.table == t.cards.name)
        assert cards.differences == 1
        described = cards.examples[0].describe()
        assert scenario.m(3) in described and "12.34" in described
        assert await model.active() == "blue" and runtime.read_slot == "blue"
    finally:
        await model.dispose()


async def _true_if(condition: bool) -> bool | None:
    return True if condition else None


async def _caught_up_or_none(scoring: ScoringService) -> bool | None:
    with contextlib.suppress(Exception):
        return True if await live_caught_up(scoring) else None
    return None


async def test_in_place_rebuild_of_a_stopped_scoring_database_matches_the_live_one(
    scoring: ScoringService,
    year: int,
    unique: str,
    database_url: str,
    pg_databases: PgDatabases | None,
    tmp_path: Path,
) -> None:
    """A second scoring database, never served (a stopped system): --in-place fills its
    active slot from offset 0; a second in-place run empties and refills it identically."""
    scenario = Scenario(unique, year)
    await seeded(scoring, scenario, people(scenario))
    assert await until(lambda: _caught_up_or_none(scoring), timeout=90)
    if database_url.startswith("postgresql"):
        assert pg_databases is not None
        url = await pg_databases.create()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'stopped.db'}"
    await asyncio.to_thread(upgrade, "scoring", url)
    db = Database(url)
    model = ReadModel(READ_MODEL, db)
    try:
        for _ in range(2):
            report = await run_rebuild(
                "scoring",
                db=db,
                bootstrap=scoring.broker.bootstrap,
                in_place=True,
                show_progress=False,
            )
            assert report.mode == "in-place" and report.slot == "blue" and not report.interrupted
            assert report.folded
            assert await snapshot(model.database("blue")) == await snapshot(
                scoring.app.state.runtime.read_db()
            )
    finally:
        await model.dispose()
        await db.dispose()
