"""Signed pledges per responsibility area in the statistics of the company, a unit and a
branch, on SQLite and PostgreSQL: against the company's independently computed figures,
adding up to ``pledges_signed``, in a fixed number of queries whatever the number of
branches, and over HTTP as part of ``GET /statistics/{year}``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from services.scoring import persistence as t
from services.scoring.projections import apply
from services.scoring.projections.statistics import statistics, statistics_by_unit
from shared.auth import Role
from shared.contracts.pledges import ResponsibilityArea
from shared.db import Database
from tests.integration.scoring.conftest import ScoringService, token
from tests.integration.scoring.scenario import Planned, as_stored
from tests.integration.scoring.test_service import until
from tests.support.company import SCOPES, UNITS, Company, Recorded

pytestmark = pytest.mark.integration


def planned(recorded: list[Recorded]) -> list[Planned]:
    return [Planned(r.stream, r.branch, r.event, "pledges", r.branch, r.unit) for r in recorded]


def all_areas(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The seven areas in the order of DOMAIN.md section 1, with the portal's labels."""
    return [
        {"area": area.value, "label": area.label, "pledges": counts.get(area.value, 0)}
        for area in ResponsibilityArea
    ]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The queries over the read model meanwhile (not SQLite's BEGIN)."""
    seen: list[str] = []
    engines = {id(e): e.sync_engine for e in (db.engine, db.read_engine)}.values()

    def record(*args: Any) -> None:
        if t.PREFIX in args[2]:
            seen.append(args[2])

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_signed_pledges_per_area_for_every_scope(
    projection_db: Database, year: int, unique: str
) -> None:
    company = Company(unique, year)
    async with projection_db.transaction() as session:
        await apply(session, as_stored(planned(company.roster_events() + company.pledge_events())))

    async with projection_db.reading() as session:
        for level, key in SCOPES:
            view = await statistics(session, level, company.scope_id(level, key), year)
            assert view is not None
            shown = view.model_dump(mode="json")["pledges_signed_by_area"]
            assert shown == all_areas(company.expected_signed_by_area(level, key)), (level, key)
            assert sum(a["pledges"] for a in shown) == view.pledges_signed
        by_unit = {v.scope_id: v for v in await statistics_by_unit(session, year)}
    for unit in UNITS:
        view = by_unit[company.unit(unit)]
        shown = view.model_dump(mode="json")["pledges_signed_by_area"]
        assert shown == all_areas(company.expected_signed_by_area("unit", unit))

    # Hand-checked: production is signed three times (b1 published, b3 agreement signed and
    # acceptance requested); the declared service pledge, the withdrawn safety pledge and
    # the management pledge sent back for revision are not signed.
    expected = company.expected_signed_by_area("company", None)
    assert expected == {"production": 3, "political": 2, "safety": 1, "stability": 1}


async def test_the_company_takes_two_queries_whatever_the_number_of_branches(
    projection_db: Database, year: int, unique: str
) -> None:
    small, large = Company(f"{unique}s", year), Company(f"{unique}l", year + 100)
    async with projection_db.transaction() as session:
        await apply(session, as_stored(planned(small.roster_events() + small.pledge_events())))
        for n in range(4):
            bigger = Company(f"{unique}l{n}", large.year)
            await apply(
                session, as_stored(planned(bigger.roster_events() + bigger.pledge_events()))
            )
    counts = []
    for shown_year in (small.year, large.year):
        async with projection_db.reading() as session:
            with statements(projection_db) as seen:
                view = await statistics(session, "company", None, shown_year)
        assert view is not None
        counts.append((view.branches, len(seen)))
    assert counts == [(3, 2), (12, 2)]


async def test_the_statistics_read_carries_the_areas(
    scoring: ScoringService, year: int, unique: str
) -> None:
    company = Company(unique, year)
    await scoring.publish_inputs(planned(company.roster_events() + company.pledge_events()))
    admin = token("admin-1", Role.ORG_ADMIN)
    expected = all_areas(company.expected_signed_by_area("unit", "u2"))

    async def arrived() -> dict[str, Any] | None:
        response = await scoring.call(
            "GET", f"/statistics/{year}?scope=unit&id={company.unit('u2')}", admin
        )
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        return body if body["pledges_signed_by_area"] == expected else None

    body = await until(arrived)
    assert body is not None, "the projection did not reach the expected areas"
    assert body["scope_name"] == "第二采油厂党委" and body["pledges_signed"] == 3
    labels = [a["label"] for a in body["pledges_signed_by_area"]]
    assert labels == [
        "思想政治",
        "生产建设",
        "经营管理",
        "安全环保",
        "扶贫帮困",
        "服务员工群众",
        "稳定工作",
    ]
