"""Turnout of a year in the company, a unit or a branch (``GET /turnout``), on SQLite and
PostgreSQL: the figures of every scope against the company's independently computed
expectations and against the per-branch turnout summed, who may read which scope, counts
only (no name, no score), a fixed number of queries, and a period whose key is destroyed.

The service runs without its consumer: the roster is applied straight through the
projection, so no event another test published on the shared topics reaches the company
scope."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, insert

from services.reviews.api.deps import clock
from services.reviews.app import spec
from services.reviews.handlers import destroy_expired_keys
from services.reviews.projections import apply
from shared.auth import Role
from shared.contracts import pledges as pl
from shared.eventstore.tables import consumer_offsets
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.service import create_service_app
from shared.settings import Settings
from tests.integration.reviews.conftest import ADMIN, YEAR, Reviews, reviews_settings, stored
from tests.support.company import (
    PERIODS,
    ROSTER,
    SCOPES,
    VOTES,
    Company,
    Recorded,
    issue,
)
from tests.support.periods import voting_moment

pytestmark = pytest.mark.integration


def as_items(recorded: list[Recorded]) -> list[tuple[str, Any]]:
    return [(r.stream, r.event) for r in recorded]


async def seed(reviews: Reviews, company: Company) -> None:
    """The roster and pledges, the four periods, the ballots, then a voter departs."""
    await reviews.feed(as_items(company.roster_events() + company.pledge_events()))
    # Each ballot is cast inside its period's window; the test's clock is restored after.
    started = reviews.now[0]
    reviews.now[0] = voting_moment("Q1", company.year)
    for period in PERIODS:
        body = {
            "period_id": company.period(period.key),
            "kind": period.kind,
            "period": period.period,
            "year": company.year,
            "scope_level": period.level,
            "scope_id": company.scope_id(period.level, period.scope),
        }
        await reviews.ok("POST", "/periods", ADMIN, body)
    plans = {period.key: period for period in PERIODS}
    for period_key, role, branch, reviewer, rated in VOTES:
        reviews.now[0] = voting_moment(plans[period_key].period, company.year)
        lines = [
            {
                "member_id": company.person(branch, member),
                "score": 90,
                "comment": "履职尽责" if role == "branch" else None,
            }
            for member in rated
        ]
        await reviews.ok(
            "PUT",
            f"/periods/{company.period(period_key)}/ballots/{role}",
            company.token(branch, reviewer),
            {"scores": lines},
        )
    reviews.now[0] = started
    await reviews.feed(as_items(company.departures()))


def without_consumer(settings: Settings) -> FastAPI:
    """The reviews service with no consumer: its roster is only what the test applies."""
    return create_service_app(replace(spec(), consumes=()), settings)


@pytest.fixture
async def company_reviews(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> AsyncIterator[tuple[Reviews, Company]]:
    app = without_consumer(reviews_settings(database_url, broker, unique, tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reviews"
        ) as http,
    ):
        reviews = Reviews(app=app, http=http)
        app.dependency_overrides[clock] = lambda: reviews.now[0]
        company = Company(unique, YEAR)
        await seed(reviews, company)
        yield reviews, company


def path(company: Company, level: str, key: str | None) -> str:
    scope_id = company.scope_id(level, key)
    return f"/turnout?year={YEAR}&scope={level}" + (f"&id={scope_id}" if scope_id else "")


def figures(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        p["period_id"]: {
            "branches": p["branches"],
            "eligible": p["eligible"],
            "voted": p["voted"],
            "roles": {r["role"]: (r["eligible"], r["voted"]) for r in p["roles"]},
        }
        for p in view["periods"]
    }


async def per_branch_sum(
    reviews: Reviews, branches: list[str], *, year: int = YEAR
) -> dict[str, dict[str, Any]]:
    """What the portal used to assemble: the per-branch turnout of every covered branch,
    one call each, summed per period."""
    found: dict[str, dict[str, Any]] = {}
    for period in await reviews.ok("GET", f"/periods?year={year}", ADMIN):
        roles: dict[str, tuple[int, int]] = {}
        covered = 0
        for branch in branches:
            response = await reviews.call(
                "GET", f"/periods/{period['period_id']}/turnout?branch={branch}", ADMIN
            )
            if response.status_code == 422:  # not in the period's scope
                continue
            assert response.status_code == 200, response.text
            covered += 1
            for r in response.json()["roles"]:
                e, v = roles.get(r["role"], (0, 0))
                roles[r["role"]] = (e + r["eligible"], v + r["voted"])
        if covered:
            found[period["period_id"]] = {
                "branches": covered,
                "eligible": sum(e for e, _ in roles.values()),
                "voted": sum(v for _, v in roles.values()),
                "roles": roles,
            }
    return found


async def test_every_scope_sums_its_branches_as_expected_and_as_the_per_branch_turnout(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    names = [p.name for people in ROSTER.values() for p in people]
    ids = [company.person(b, p.key) for b, people in ROSTER.items() for p in people]
    for level, key in SCOPES:
        response = await reviews.call("GET", path(company, level, key), ADMIN)
        assert response.status_code == 200, response.text
        view = response.json()
        expected = company.expected_turnout(level, key)
        assert figures(view) == expected, (level, key)
        assert view["branches"] == len(company.branches_in(level, key))
        assert all(p["matched"] for p in view["periods"])
        # Counts only: no name, no person id, no score, no list of who has not voted.
        assert not any(text in response.text for text in names + ids)
        assert not {"not_voted", "score", "scores", "average"} & _keys(view)
        in_scope = [company.branch(b) for b in company.branches_in(level, key)]
        assert await per_branch_sum(reviews, in_scope) == expected, (level, key)

    # Hand-checked: the company-wide peer review of Q1 covers all three branches; eligible
    # are the full members who did not leave (b1 3, b2 2, b3 3), of whom 2 + 0 + 1 voted
    # (吴刚 voted, then left: counted nowhere).
    company_view = await reviews.ok("GET", path(company, "company", None), ADMIN)
    q1 = next(p for p in company_view["periods"] if p["period_id"] == company.period("P1"))
    assert (q1["eligible"], q1["voted"], q1["percent"]) == (8, 3, "37.50")
    assert q1["title"] == f"{YEAR}年第一季度党员互评"
    # The unit-wide mass review of u1 in unit u2: not there at all.
    u2 = await reviews.ok("GET", path(company, "unit", "u2"), ADMIN)
    assert company.period("P2") not in {p["period_id"] for p in u2["periods"]}
    # The periods come in the order of the period list.
    listed = [p["period_id"] for p in await reviews.ok("GET", f"/periods?year={YEAR}", ADMIN)]
    assert [p["period_id"] for p in company_view["periods"]] == listed


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_each_committee_reads_its_own_scope_only(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    unit_committee = issue("uc-1", Role.UNIT_COMMITTEE, unit=company.unit("u1"), branch=None)
    b1_committee = company.token("b1", "sec")
    member = company.token("b1", "m1")
    allowed = {
        ADMIN: set(SCOPES),
        unit_committee: {("unit", "u1"), ("branch", "b1"), ("branch", "b2")},
        b1_committee: {("branch", "b1")},
        member: set(),
    }
    for who, scopes in allowed.items():
        for level, key in SCOPES:
            response = await reviews.call("GET", path(company, level, key), who)
            if (level, key) in scopes:
                assert response.status_code == 200, (level, key, response.text)
                continue
            assert response.status_code == 403, (level, key, response.text)
            assert response.json()["message"].startswith("只有组织部管理员"), response.text
    other_unit = await reviews.call("GET", path(company, "unit", "u2"), unit_committee)
    assert other_unit.json()["message"] == (
        "只有组织部管理员或本单位的二级党委成员可以查看二级党委的参评情况"
    )

    assert (await reviews.call("GET", path(company, "company", None), None)).status_code == 401
    unknown = await reviews.call("GET", f"/turnout?year={YEAR}&scope=unit&id=nowhere", ADMIN)
    assert (unknown.status_code, unknown.json()["message"]) == (404, "没有找到该二级党委")
    # An unknown branch is refused to a unit committee like any other unit's branch.
    hidden = await reviews.call(
        "GET", f"/turnout?year={YEAR}&scope=branch&id=nowhere", unit_committee
    )
    assert hidden.status_code == 403
    without_id = await reviews.call("GET", f"/turnout?year={YEAR}&scope=branch", ADMIN)
    assert without_id.status_code == 422
    assert without_id.json()["message"] == "查看二级党委或党支部的参评情况时必须给出其编号（id）"
    bad_scope = await reviews.call("GET", f"/turnout?year={YEAR}&scope=team", ADMIN)
    assert bad_scope.status_code == 422 and "请求内容有误" in bad_scope.json()["message"]


@contextmanager
def statements(reviews: Reviews) -> Iterator[list[str]]:
    """The SQL statements over the service's own tables meanwhile (not the relay's polling
    of the outbox, which runs beside)."""
    seen: list[str] = []
    db = reviews.runtime.db
    engines = {id(e): e.sync_engine for e in (db.engine, db.read_engine)}.values()

    def record(*args: Any) -> None:
        if "rv_" in args[2]:
            seen.append(args[2])

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_a_scope_takes_the_same_few_queries_whatever_its_size(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    counts = {}
    for level, key in (("company", None), ("unit", "u1"), ("branch", "b3")):
        with statements(reviews) as seen:
            await reviews.ok("GET", path(company, level, key), ADMIN)
        counts[level] = len(seen)
    # The periods, the scope's branches, the periods' flags (counted, keyed), the stored
    # counts summed, and the stamp the answer is kept under, read before and after; a unit
    # or branch is looked up first. Nothing per branch or per period, no roster, no sheet.
    assert counts["unit"] == counts["branch"] == counts["company"] + 1 == 7, counts
    # Asked again with nothing changed: the periods and the stamp.
    with statements(reviews) as seen:
        await reviews.ok("GET", path(company, "company", None), ADMIN)
    assert len(seen) == 2, seen


async def test_a_kept_answer_follows_the_periods_the_keys_and_the_roster(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    company_path = path(company, "company", None)
    first = await reviews.ok("GET", company_path, ADMIN)
    assert await reviews.ok("GET", company_path, ADMIN) == first

    q1 = company.period("P1")
    body = {"scores": [{"member_id": company.person("b1", "m1"), "score": 88}]}
    await reviews.ok("PUT", f"/periods/{q1}/ballots/peer", company.token("b1", "m2"), body)
    cast = await reviews.ok("GET", company_path, ADMIN)
    voted = {p["period_id"]: p["voted"] for p in cast["periods"]}
    assert voted == {p["period_id"]: p["voted"] + (p["period_id"] == q1) for p in first["periods"]}

    await reviews.ok("POST", f"/periods/{q1}/close", ADMIN)
    closed = await reviews.ok("GET", company_path, ADMIN)
    assert next(p for p in closed["periods"] if p["period_id"] == q1)["closed"]

    await destroy_expired_keys(
        db=reviews.runtime.db, now=reviews.now[0] + timedelta(days=1), retention=timedelta(0)
    )
    counted = await reviews.ok("GET", company_path, ADMIN)
    assert not next(p for p in counted["periods"] if p["period_id"] == q1)["matched"]

    # A voter of P2 leaves, as the consumer applies it: with its offsets.
    p2 = company.period("P2")
    before = next(p for p in counted["periods"] if p["period_id"] == p2)
    departure = pl.PersonDeparted(
        person_id=company.person("b2", "e1"),
        branch_id=company.branch("b2"),
        departed_on=date(YEAR, 5, 1),
        reason="调离",
    )
    async with reviews.runtime.db.transaction() as session:
        await apply(session, stored([(f"person-{departure.person_id}", departure)]))
        await session.execute(
            insert(consumer_offsets).values(
                consumer="reviews",
                topic="suxing.pledges",
                partition=0,
                next_offset=1,
                updated_at=reviews.now[0],
            )
        )
    after = next(
        p for p in (await reviews.ok("GET", company_path, ADMIN))["periods"] if p["period_id"] == p2
    )
    assert (after["eligible"], after["voted"]) == (before["eligible"] - 1, before["voted"] - 1)


async def test_a_period_whose_key_is_destroyed_counts_its_ballots(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    q1 = company.period("P1")
    await reviews.ok("POST", f"/periods/{q1}/close", ADMIN)
    destroyed = await destroy_expired_keys(
        db=reviews.runtime.db, now=reviews.now[0] + timedelta(days=1), retention=timedelta(0)
    )
    assert destroyed == [q1]

    view = await reviews.ok("GET", path(company, "company", None), ADMIN)
    period = next(p for p in view["periods"] if p["period_id"] == q1)
    # No one can tell any more which ballot is whose: the four peer ballots cast (吴刚's
    # included) are counted as they stand, and the answer says so.
    ballots = sum(1 for v in VOTES if v[0] == "P1")
    assert (period["matched"], period["eligible"], period["voted"]) == (False, 8, ballots)
    others = [p for p in view["periods"] if p["period_id"] != q1]
    assert all(p["matched"] for p in others)
