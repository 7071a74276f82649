"""End to end on the real broker: a roster and a pairing agreement recorded in the pledges
service become eligibility in the reviews service, through the pledges topic only.

Both services run in-process with their own databases, relays and (for reviews) the
checkpointed consumer. Nothing here calls the reviews service's projection directly: the
test only polls the reviews API until the member can be rated by the paired employee.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.pledges.api.deps import clock as pledges_clock
from services.pledges.app import create_app as create_pledges_app
from services.reviews.api.deps import clock as reviews_clock
from services.reviews.app import create_app as create_reviews_app
from shared.auth import Principal, Role, TokenIssuer
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.settings import DEFAULT_SECRET, Settings
from tests.conftest import PgDatabases
from tests.integration.reviews.conftest import reviews_settings

pytestmark = pytest.mark.integration

PLEDGES_NOW = datetime(2024, 3, 15, 2, 0, tzinfo=UTC)
REVIEWS_NOW = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
YEAR = 2024
WAIT_SECONDS = 60.0


def _token(person_id: str, *roles: Role, branch: str | None) -> str:
    principal = Principal(
        person_id=person_id, name=person_id, roles=frozenset(roles), branch_id=branch
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


@pytest.fixture
async def pledges_database_url(
    database_url: str, tmp_path: Path, pg_databases: PgDatabases | None
) -> str:
    """A second database of the same kind: each service has its own."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'pledges.db'}"
    assert pg_databases is not None
    return await pg_databases.create()


@pytest.fixture
async def two_services(
    database_url: str,
    pledges_database_url: str,
    broker: EmbeddedBroker,
    unique: str,
    tmp_path: Path,
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    pledges = create_pledges_app(
        Settings(
            service="pledges",
            database_url=pledges_database_url,
            broker_url=broker.bootstrap,
            group_suffix=unique,
            data_dir=tmp_path,
        )
    )
    pledges.dependency_overrides[pledges_clock] = lambda: PLEDGES_NOW
    reviews = create_reviews_app(reviews_settings(database_url, broker, unique, tmp_path))
    reviews.dependency_overrides[reviews_clock] = lambda: REVIEWS_NOW
    async with (
        pledges.router.lifespan_context(pledges),
        reviews.router.lifespan_context(reviews),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=pledges), base_url="http://pledges"
        ) as pledges_http,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=reviews), base_url="http://reviews"
        ) as reviews_http,
    ):
        yield pledges_http, reviews_http


async def _ok(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    who: str,
    headers: dict[str, str] | None = None,
    **kw: Any,
) -> Any:
    all_headers = {"Authorization": f"Bearer {who}", **(headers or {})}
    response = await http.request(method, path, headers=all_headers, **kw)
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


async def _eventually(
    attempt: Callable[[], Awaitable[httpx.Response]], *, until: int
) -> httpx.Response:
    """Repeat ``attempt`` until it answers ``until``; the last answer otherwise."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        response = await attempt()
        if response.status_code == until or asyncio.get_running_loop().time() > deadline:
            return response
        await asyncio.sleep(0.3)


async def test_a_roster_and_agreement_in_pledges_become_eligibility_in_reviews(
    two_services: tuple[httpx.AsyncClient, httpx.AsyncClient], unique: str
):
    pledges, reviews = two_services
    u = unique
    branch, member, other, employee, secretary = (
        f"b-{u}",
        f"m-{u}",
        f"m2-{u}",
        f"e-{u}",
        f"sec-{u}",
    )
    admin = _token(f"admin-{u}", Role.ORG_ADMIN, branch=None)
    sec = _token(secretary, Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE, branch=branch)
    mem = _token(member, Role.MEMBER, Role.EMPLOYEE, branch=branch)
    emp = _token(employee, Role.EMPLOYEE, branch=branch)

    # The pledges side: roster, plan, need, area, pledge, approval, pairing agreement.
    csv = (
        "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position\n"
        f"u-{u},第一采油厂党委,{branch},采油一队党支部,{secretary},王建国,member,队长,secretary\n"
        f"u-{u},第一采油厂党委,{branch},采油一队党支部,{member},李秀英,member,采油工,\n"
        f"u-{u},第一采油厂党委,{branch},采油一队党支部,{other},张伟,member,采油工,\n"
        f"u-{u},第一采油厂党委,{branch},采油一队党支部,{employee},赵磊,employee,采油工,\n"
    )
    await _ok(
        pledges,
        "POST",
        "/roster/import",
        admin,
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    plan = {
        "title": "2024年党员塑形工程活动方案",
        "summary": "承诺践诺",
        "meeting_date": "2024-01-15",
    }
    await _ok(pledges, "PUT", f"/branches/{branch}/plans/{YEAR}", sec, json=plan)
    need_id, pledge_id = f"need-{u}", f"pl-{u}"
    need = {
        "need_id": need_id,
        "branch_id": branch,
        "year": YEAR,
        "employee_id": employee,
        "problem": "夜班巡检路线缺少照明",
        "suggested_area": "safety",
    }
    await _ok(pledges, "POST", "/needs", emp, json=need)
    await _ok(pledges, "POST", f"/needs/{need_id}/classification", sec, json={"area": "safety"})
    await _ok(pledges, "PUT", f"/members/{member}/areas/{YEAR}", mem, json={"area": "safety"})
    declaration = {
        "pledge_id": pledge_id,
        "member_id": member,
        "year": YEAR,
        "area": "safety",
        "item": "夜班巡检照明改造",
        "content": "为巡检路线加装照明并建立巡检记录",
        "quantity": "12处照明点",
        "quality_standard": "全部通过安全验收",
        "due_date": "2024-09-30",
        "need_ids": [need_id],
        "paired_employee_id": employee,
    }
    await _ok(pledges, "POST", "/pledges", mem, json=declaration)
    await _ok(pledges, "POST", f"/pledges/{pledge_id}/approval", sec)
    agreement = {
        "signed_on": "2024-03-10",
        "problem": "夜班巡检照明不足",
        "q1": "勘察路线",
        "q2": "安装一半",
        "final_goal": "夜班巡检全程有照明",
    }
    await _ok(pledges, "POST", f"/pledges/{pledge_id}/agreement", sec, json=agreement)

    # The reviews side learns the branch, then the pairing, from the topic alone.
    period_id = f"rp-{u}"
    opening = {
        "period_id": period_id,
        "kind": "mass",
        "period": "H1",
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": branch,
    }
    auth_admin = {"Authorization": f"Bearer {admin}"}
    opened = await _eventually(
        lambda: reviews.post("/periods", json=opening, headers=auth_admin), until=201
    )
    assert opened.status_code == 201, opened.text

    paired_ballot = {"scores": [{"member_id": member, "score": 97}]}
    auth_emp = {"Authorization": f"Bearer {emp}"}
    cast = await _eventually(
        lambda: reviews.put(
            f"/periods/{period_id}/ballots/paired", json=paired_ballot, headers=auth_emp
        ),
        until=200,
    )
    assert cast.status_code == 200, cast.text
    assert cast.json()["outcome"] == "cast"

    # The same roster says whom the employee is not paired with.
    not_paired = await reviews.put(
        f"/periods/{period_id}/ballots/paired",
        json={"scores": [{"member_id": other, "score": 90}]},
        headers=auth_emp,
    )
    assert not_paired.status_code == 403
    assert "你没有与张伟签订结对协议" in not_paired.json()["message"]
    turnout = await _ok(reviews, "GET", f"/periods/{period_id}/turnout?branch={branch}", sec)
    staff = next(r for r in turnout["roles"] if r["role"] == "all_staff")
    assert staff["eligible"] == 4
