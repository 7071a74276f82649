"""The organization's statistics page against the real scoring and reviews services, on
SQLite and PostgreSQL (the branch list, the pledges service's only part in the page, is
faked).

For the company, a unit and a branch the page shows the figures the company's rules give
(tests/support/company.py) and the turnout the portal used to assemble from one call per
period and branch; its area chart now counts signed pledges only, so it differs from the old
one exactly by the pledges not yet approved. And it gets there in three upstream calls,
counted through httpx event hooks."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.portal.app import create_app as create_portal
from services.portal.web import COOKIE
from services.reviews.api.deps import clock as reviews_clock
from shared.auth import Role
from shared.contracts.pledges import ResponsibilityArea
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.settings import Settings
from tests.conftest import PgDatabases
from tests.integration.reviews.conftest import ADMIN, Reviews, reviews_settings
from tests.integration.reviews.test_scope_turnout import per_branch_sum, seed, without_consumer
from tests.integration.scoring.conftest import ScoringService
from tests.integration.scoring.test_service import until
from tests.integration.scoring.test_statistics_by_area import planned
from tests.support.company import PLEDGES, SIGNED_STATES, UNITS, Company, issue

pytestmark = pytest.mark.integration

ROW = re.compile(
    r'<div class="bar-row"><span>([^<]*)</span><span class="bar"><i[^>]*></i></span>'
    r"<span>([^<]*)</span></div>"
)


@pytest.fixture
async def reviews_database_url(
    database_url: str, tmp_path: Path, pg_databases: PgDatabases | None
) -> str:
    """A second database of the same kind: each service has its own."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'reviews.db'}"
    assert pg_databases is not None
    return await pg_databases.create()


@dataclass
class Page:
    portal: httpx.AsyncClient
    reviews: Reviews
    company: Company
    calls: list[str]


@pytest.fixture
async def page(
    scoring: ScoringService,
    reviews_database_url: str,
    broker: EmbeddedBroker,
    unique: str,
    year: int,
    tmp_path: Path,
) -> AsyncIterator[Page]:
    company = Company(unique, year)
    await scoring.publish_inputs(planned(company.roster_events() + company.pledge_events()))
    admin = issue("admin-1", Role.ORG_ADMIN, unit=None, branch=None)
    signed = sum(company.expected_signed_by_area("company", None).values())

    async def consumed() -> bool | None:
        response = await scoring.call("GET", f"/statistics/{year}", admin)
        return True if response.json()["pledges_signed"] == signed else None

    assert await until(consumed), "scoring did not consume the company's pledges"

    settings = reviews_settings(reviews_database_url, broker, f"{unique}r", tmp_path / "reviews")
    reviews_app = without_consumer(settings)
    calls: list[str] = []

    async def record(request: httpx.Request) -> None:
        calls.append(f"{request.url.host} {request.url.path}")

    def branches(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/public/branches", request.url
        return httpx.Response(
            200,
            json=[
                {
                    "branch_id": company.branch(branch),
                    "name": branch_name,
                    "unit_id": company.unit(unit),
                    "unit_name": unit_name,
                }
                for unit, (unit_name, in_unit) in UNITS.items()
                for branch, branch_name in in_unit.items()
            ],
        )

    portal = create_portal(Settings(service="portal"))
    async with (
        reviews_app.router.lifespan_context(reviews_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=reviews_app), base_url="http://reviews"
        ) as reviews_http,
    ):
        reviews = Reviews(app=reviews_app, http=reviews_http)
        reviews_app.dependency_overrides[reviews_clock] = lambda: reviews.now[0]
        await seed(reviews, company)
        upstream = {
            "pledges": httpx.MockTransport(branches),
            "reviews": httpx.ASGITransport(app=reviews_app),
            "scoring": httpx.ASGITransport(app=scoring.app),
        }
        portal.state.http = {
            name: httpx.AsyncClient(
                transport=transport, base_url=f"http://{name}", event_hooks={"request": [record]}
            )
            for name, transport in upstream.items()
        }
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=portal),
            base_url="http://portal",
            cookies={COOKIE: admin},
        ) as http:
            yield Page(http, reviews, company, calls)
        for client in portal.state.http.values():
            await client.aclose()


def charts(html: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(area rows, turnout rows) as the page shows them."""
    areas_part, rest = html.split("<h3>综合评议档次分布</h3>")
    turnout_part = rest.split("<h3>参评率</h3>")[1]
    return ROW.findall(areas_part), ROW.findall(turnout_part)


async def old_turnout(page: Page, level: str, key: str | None) -> list[tuple[str, str]]:
    """The turnout rows as the portal assembled them before: per period, one call per
    covered branch of the scope, summed."""
    branches = [page.company.branch(b) for b in page.company.branches_in(level, key)]
    summed = await per_branch_sum(page.reviews, branches, year=page.company.year)
    listed = await page.reviews.ok("GET", f"/periods?year={page.company.year}", ADMIN)
    return [
        (p["title"], f"{summed[p['period_id']]['voted']}/{summed[p['period_id']]['eligible']}")
        for p in listed
        if p["period_id"] in summed
    ]


def old_areas(company: Company, level: str, key: str | None) -> Counter[str]:
    """The area chart as it was: every pledge of the scope's branches not withdrawn, as the
    pledges service listed them."""
    return Counter(
        plan.area.label
        for plan in PLEDGES
        if plan.branch in company.branches_in(level, key) and plan.status != "withdrawn"
    )


@pytest.mark.parametrize(("level", "key"), [("company", None), ("unit", "u1"), ("branch", "b3")])
async def test_the_page_shows_the_scope_figures_in_three_calls(
    page: Page, level: str, key: str | None
) -> None:
    company = page.company
    query = f"?year={company.year}&scope={level}"
    if key:
        query += f"&id={company.scope_id(level, key)}"
    page.calls.clear()
    response = await page.portal.get(f"/org{query}")
    assert response.status_code == 200, response.text
    assert page.calls == [
        "pledges /public/branches",
        f"scoring /statistics/{company.year}",
        "reviews /turnout",
    ]

    areas, turnout = charts(response.text)
    signed = {
        ResponsibilityArea(code).label: n
        for code, n in company.expected_signed_by_area(level, key).items()
    }
    assert dict(areas) == {label: str(n) for label, n in signed.items()}
    assert [int(n) for _, n in areas] == sorted((int(n) for _, n in areas), reverse=True)
    not_yet_approved = Counter(
        plan.area.label
        for plan in PLEDGES
        if plan.branch in company.branches_in(level, key)
        and plan.status not in SIGNED_STATES | {"withdrawn"}
    )
    assert old_areas(company, level, key) - not_yet_approved == Counter(signed)

    expected = company.expected_turnout(level, key)
    listed = await page.reviews.ok("GET", f"/periods?year={company.year}", ADMIN)
    assert turnout == [
        (p["title"], f"{expected[p['period_id']]['voted']}/{expected[p['period_id']]['eligible']}")
        for p in listed
        if p["period_id"] in expected
    ]
    assert turnout == await old_turnout(page, level, key)


async def test_a_unit_committee_cannot_read_another_units_turnout(page: Page) -> None:
    company = page.company
    token = issue("uc-2", Role.UNIT_COMMITTEE, unit=company.unit("u2"), branch=None)
    response = await page.reviews.call(
        "GET", f"/turnout?year={company.year}&scope=unit&id={company.unit('u1')}", token
    )
    assert response.status_code == 403
    assert "二级党委成员" in response.json()["message"]
    own = await page.reviews.ok(
        "GET", f"/turnout?year={company.year}&scope=unit&id={company.unit('u2')}", token
    )
    assert [p["voted"] for p in own["periods"]] == [
        e["voted"] for e in company.expected_turnout("unit", "u2").values()
    ]
