"""The company's and the units' review periods in the portal (/org/reviews): a unit
committee sees the company's and its own unit's periods, opens and closes its own unit's only
(whatever the form says), with turnout counts; the organization department organizes any
scope; anyone else is refused and nothing is asked of the services."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from shared.auth import Principal, Role
from tests.unit.portal.conftest import MEMBER, StartPortal

pytestmark = pytest.mark.unit

UNIT_COMMITTEE = Principal(
    person_id="uc-1",
    name="赵主任",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE, Role.UNIT_COMMITTEE}),
    unit_id="u-1",
    branch_id=None,
)
ORG = Principal(person_id="org-1", name="组织部", roles=frozenset({Role.ORG_ADMIN}))


def period(period_id: str, level: str, unit: str | None, branch: str | None = None) -> dict:
    return {
        "period_id": period_id,
        "title": f"2026年第四季度党员互评（{period_id}）",
        "kind": "peer",
        "period": "Q4",
        "year": 2026,
        "scope_level": level,
        "unit_id": unit,
        "branch_id": branch,
        "deadline": None,
        "opens_on": "2026-10-01",
        "closes_on": "2026-12-31",
        "window": "2026年10月1日至2026年12月31日",
        "closed": False,
        "closing_reason": None,
    }


PERIODS = [
    period("rp-co", "company", None),
    period("rp-u1", "unit", "u-1"),
    period("rp-u2", "unit", "u-2"),
    period("rp-b1", "branch", "u-1", "b-1"),
]


class Backend:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.asked.append(path)
        if request.method != "GET":
            self.sent.append((path, json.loads(request.content) if request.content else None))
            return httpx.Response(201, json={"id": "x", "events": []})
        if path == "/periods":
            return httpx.Response(200, json=PERIODS)
        if path == "/turnout":
            scope = request.url.params["scope"]
            counts = [
                {"period_id": p["period_id"], "title": p["title"], "kind": "peer",
                 "period": "Q4", "scope_level": p["scope_level"], "closed": False,
                 "branches": 3, "eligible": 40, "voted": 30, "percent": "75.0"}
                for p in PERIODS
            ]  # fmt: skip
            return httpx.Response(200, json={"year": 2026, "scope": scope, "periods": counts})
        if path == "/public/branches":
            return httpx.Response(
                200,
                json=[
                    {"branch_id": "b-1", "name": "采油一队党支部", "unit_id": "u-1",
                     "unit_name": "第一采油厂党委"},
                    {"branch_id": "b-9", "name": "机修队党支部", "unit_id": "u-2",
                     "unit_name": "机械厂党委"},
                ],
            )  # fmt: skip
        return httpx.Response(200, json=[])


def test_a_unit_committee_organizes_its_own_units_periods_only(portal: StartPortal) -> None:
    backend = Backend()
    client = portal(backend, UNIT_COMMITTEE)
    page = client.get("/org/reviews?year=2026")
    assert page.status_code == 200
    assert "（rp-co）" in page.text and "（rp-u1）" in page.text
    assert "（rp-u2）" not in page.text and "（rp-b1）" not in page.text
    assert 'id="close-rp-u1"' in page.text and 'id="close-rp-co"' not in page.text
    assert "已投票 30 / 应投票 40 人次（75.0%）" in page.text
    assert "/turnout" in backend.asked
    # Only its unit in the scope picker; a forged scope is replaced by its own unit.
    assert 'value="company:"' not in page.text and 'value="unit:u-2"' not in page.text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text)
    assert key is not None
    form = {"year": "2026", "kind_period": "mass:H2", "scope_ref": "company:",
            "idempotency_key": key.group(1)}  # fmt: skip
    assert client.post("/org/reviews", data=form).status_code == 303
    [(path, body)] = backend.sent
    assert path == "/periods"
    assert (body["scope_level"], body["scope_id"], body["kind"], body["period"]) == (
        "unit",
        "u-1",
        "mass",
        "H2",
    )


def test_closing_needs_the_tick(portal: StartPortal) -> None:
    backend = Backend()
    client = portal(backend, UNIT_COMMITTEE)
    unticked = client.post("/org/reviews/rp-u1/close", data={"year": "2026"})
    assert unticked.status_code == 422
    assert "请先勾选确认" in unticked.text
    assert backend.sent == []
    ticked = client.post("/org/reviews/rp-u1/close", data={"year": "2026", "confirm": "yes"})
    assert ticked.status_code == 303
    assert [path for path, _ in backend.sent] == ["/periods/rp-u1/close"]


def test_the_organization_department_organizes_the_company_and_every_unit(
    portal: StartPortal,
) -> None:
    backend = Backend()
    client = portal(backend, ORG)
    page = client.get("/org/reviews?year=2026")
    assert "（rp-co）" in page.text and "（rp-u1）" in page.text and "（rp-u2）" in page.text
    assert "（rp-b1）" not in page.text  # branch periods stay with the branch committees
    assert 'value="company:"' in page.text and 'value="unit:u-2"' in page.text
    form = {"year": "2026", "kind_period": "peer:Q4", "scope_ref": "company:"}
    assert client.post("/org/reviews", data=form).status_code == 303
    [(_, body)] = backend.sent
    assert (body["scope_level"], body["scope_id"]) == ("company", None)


def test_anyone_else_is_refused_and_nothing_is_asked(portal: StartPortal) -> None:
    backend = Backend()
    client = portal(backend, MEMBER)
    for response in (
        client.get("/org/reviews"),
        client.post("/org/reviews", data={"kind_period": "peer:Q4", "scope_ref": "company:"}),
        client.post("/org/reviews/rp-co/close", data={"confirm": "yes"}),
    ):
        assert response.status_code == 403
        assert "只有组织部和二级党委委员可以进入" in response.text
    assert backend.sent == [] and backend.asked == []
