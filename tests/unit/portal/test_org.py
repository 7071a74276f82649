"""The organization's statistics page (/org) over faked services: whatever the scope and the
number of branches it makes three upstream calls (the branch list, scoring's statistics,
reviews' turnout of the scope), never one per branch or per period, and shows their
figures: signed pledges per area (most first, empty areas left out) and turnout per period."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from shared.auth import Principal, Role
from shared.contracts.pledges import ResponsibilityArea
from tests.unit.portal.conftest import StartPortal

pytestmark = pytest.mark.unit

ORG_ADMIN = Principal(person_id="org-admin", name="组织部管理员", roles=frozenset({Role.ORG_ADMIN}))
YEAR = 2026
BRANCHES = [
    {
        "branch_id": f"b-{n}",
        "name": f"采油{n}队党支部",
        "unit_id": f"u-{n % 6}",
        "unit_name": f"第{n % 6 + 1}采油厂党委",
    }
    for n in range(60)
]
SIGNED = {"production": 7, "safety": 3, "political": 3, "service": 0, "stability": 1}


def statistics(scope: str, scope_id: str | None) -> dict[str, Any]:
    return {
        "scope": scope,
        "scope_id": scope_id,
        "scope_name": "全公司",
        "year": YEAR,
        "branches": 60,
        "members": 900,
        "areas": 880,
        "pairings": 40,
        "pledges_signed": sum(SIGNED.values()),
        "pledges_completed": 5,
        "needs_submitted": 30,
        "needs_solved": 10,
        "mass_satisfied": 0,
        "mass_total": 0,
        "satisfaction_rate": None,
        "bands": [],
        "without_composite": 900,
        "pledges_signed_by_area": [
            {"area": a.value, "label": a.label, "pledges": SIGNED.get(a.value, 0)}
            for a in ResponsibilityArea
        ],
    }


def period(title: str, eligible: int, voted: int) -> dict[str, Any]:
    return {"title": title, "eligible": eligible, "voted": voted}


TURNOUT = [
    period("2026年上半年群众评议", 12, 9),
    period("2026年第一季度党员互评", 8, 3),
    period("2026年第二季度党员互评", 0, 0),
]


class Upstream:
    """The three services, faked; records every call as "host path?query"."""

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[str] = []
        self.refuse = refuse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        self.calls.append(f"{host} {path}?{request.url.query.decode()}")
        if host == self.refuse:
            return httpx.Response(403, json={"error": "forbidden", "message": "只有某某可以查看"})
        if (host, path) == ("pledges", "/public/branches"):
            return httpx.Response(200, json=BRANCHES)
        if (host, path) == ("scoring", f"/statistics/{YEAR}"):
            scope = request.url.params["scope"]
            return httpx.Response(200, json=statistics(scope, request.url.params.get("id")))
        if (host, path) == ("reviews", "/turnout"):
            return httpx.Response(200, json={"periods": TURNOUT})
        return httpx.Response(404, json={"error": "not_found", "message": "没有这个地址"})


ROW = re.compile(
    r'<div class="bar-row"><span>([^<]*)</span><span class="bar"><i[^>]*></i></span>'
    r"<span>([^<]*)</span></div>"
)


@pytest.mark.parametrize(
    ("query", "scope", "scope_id"),
    [
        ("", "company", None),
        ("&scope_ref=unit:u-1", "unit", "u-1"),
        ("&scope=branch&id=b-7", "branch", "b-7"),
    ],
)
def test_the_page_makes_three_calls_whatever_the_scope(
    portal: StartPortal, query: str, scope: str, scope_id: str | None
) -> None:
    upstream = Upstream()
    response = portal(upstream, ORG_ADMIN).get(f"/org?year={YEAR}{query}")
    assert response.status_code == 200, response.text
    tail = f"&id={scope_id}" if scope_id else ""
    assert upstream.calls == [
        "pledges /public/branches?",
        f"scoring /statistics/{YEAR}?scope={scope}{tail}",
        f"reviews /turnout?year={YEAR}&scope={scope}{tail}",
    ]


def test_the_page_shows_the_areas_and_the_turnout_it_was_given(portal: StartPortal) -> None:
    html = portal(Upstream(), ORG_ADMIN).get(f"/org?year={YEAR}").text
    rows = ROW.findall(html)
    # Areas with signed pledges, most first, ties in the areas' own order; then the bands
    # (none here) and satisfaction; then turnout per period as voted/eligible.
    assert rows[:4] == [("生产建设", "7"), ("思想政治", "3"), ("安全环保", "3"), ("稳定工作", "1")]
    assert "服务员工群众" not in html.split("综合评议档次分布")[0]
    assert rows[-3:] == [
        ("2026年上半年群众评议", "9/12"),
        ("2026年第一季度党员互评", "3/8"),
        ("2026年第二季度党员互评", "0/0"),
    ]
    assert 'style="width: 75%"' in html and 'style="width: 38%"' in html


def test_a_refusal_by_reviews_is_shown_in_chinese(portal: StartPortal) -> None:
    response = portal(Upstream(refuse="reviews"), ORG_ADMIN).get(f"/org?year={YEAR}")
    assert response.status_code == 403
    assert "只有某某可以查看" in response.text


UNIT_COMMITTEE = Principal(
    person_id="uc-1",
    name="二级党委委员",
    roles=frozenset({Role.UNIT_COMMITTEE}),
    unit_id="u-1",
)


def test_a_unit_committee_sees_its_unit_and_picks_only_its_branches(portal: StartPortal) -> None:
    upstream = Upstream()
    page = portal(upstream, UNIT_COMMITTEE).get(f"/org?year={YEAR}")
    assert page.status_code == 200, page.text
    assert f"scoring /statistics/{YEAR}?scope=unit&id=u-1" in upstream.calls
    assert f"reviews /turnout?year={YEAR}&scope=unit&id=u-1" in upstream.calls
    offered = re.findall(r'<option value="branch:(b-\d+)"', page.text)
    assert offered and all(int(b[2:]) % 6 == 1 for b in offered)
    assert "全公司</option>" not in page.text
    # The export is of the scope shown: the unit's, with its branches.
    assert f"/org/export.xlsx?year={YEAR}&amp;scope_ref=unit:u-1" in page.text
    assert "二级党委统计" in page.text


def test_the_export_is_of_the_selected_scope_and_a_unit_committee_stays_in_its_unit(
    portal: StartPortal,
) -> None:
    upstream = Upstream()
    org = portal(upstream, ORG_ADMIN)
    org.get(f"/org/export.xlsx?year={YEAR}&scope_ref=branch:b-7")
    org.get(f"/org/export.xlsx?year={YEAR}")
    unit = portal(upstream, UNIT_COMMITTEE)
    unit.get(f"/org/export.xlsx?year={YEAR}&scope_ref=company:")
    exports = [c for c in upstream.calls if "/export.xlsx" in c]
    assert exports == [
        f"scoring /statistics/{YEAR}/export.xlsx?scope=branch&id=b-7",
        f"scoring /statistics/{YEAR}/export.xlsx?scope=company",
        f"scoring /statistics/{YEAR}/export.xlsx?scope=unit&id=u-1",
    ]
