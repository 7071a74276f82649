"""History in the portal (issue 16): the card page lists the member's cards of every year,
and the organization department compares years side by side and exports the comparison."""

from __future__ import annotations

import json

import httpx
import pytest

from services.portal.web import this_year
from shared.auth import Principal, Role
from tests.unit.portal.conftest import MEMBER, StartPortal

pytestmark = pytest.mark.unit
NOW = this_year()
ORG_ADMIN = Principal(person_id="org-admin", name="组织部管理员", roles=frozenset({Role.ORG_ADMIN}))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def card_year(year: int, composite: str | None, branch: str) -> dict[str, object]:
    return {
        "year": year,
        "branch_id": "b-1",
        "branch_name": branch,
        "area_label": "安全环保",
        "composite": composite,
        "band": "excellent" if composite else None,
        "band_label": "优秀" if composite else None,
        "missing_labels": [] if composite else ["缺少党员互评结果"],
        "pledges_total": 2,
        "pledges_completed": 1,
    }


HISTORY = {
    "scope": "company",
    "scope_id": None,
    "scope_name": "全公司",
    "years": [NOW - 2, NOW - 1, NOW],
    "figures": [
        {
            "figure": "pledges_completed",
            "label": "完成承诺",
            "values": [None, 10, 7],
            "changes": [None, None, -3],
        },
        {
            "figure": "satisfaction_rate",
            "label": "群众满意率(%)",
            "values": [None, "90.00", "92.50"],
            "changes": [None, None, "2.50"],
        },
    ],
}


class Services:
    def __init__(self, refuse_history: bool = False) -> None:
        self.calls: list[str] = []
        self.refuse_history = refuse_history

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        query = request.url.query.decode()
        self.calls.append(f"{request.url.host}{path}" + (f"?{query}" if query else ""))
        if path == "/review-year":
            return httpx.Response(
                200, json={"year": NOW, "calendar_year": NOW, "pending_branches": 0, "reason": ""}
            )
        if path == "/members/p-1/cards":
            years = [
                card_year(NOW - 1, "91.50", "采油一队党支部"),
                card_year(NOW, None, "采油二队党支部"),
            ]
            return httpx.Response(200, json={"member_id": "p-1", "name": "李秀英", "years": years})
        if path.startswith("/members/p-1/cards/"):
            return httpx.Response(404, json={"error": "not_found", "message": "没有积分卡"})
        if path == "/public/branches":
            return httpx.Response(200, json=[])
        if path == "/statistics/history":
            if self.refuse_history:
                return httpx.Response(
                    422,
                    json={
                        "error": "invalid_input",
                        "message": "一次最多对比10个年度，请缩小年度范围",
                    },
                )
            return httpx.Response(200, json=HISTORY)
        if path == "/statistics/history/export.xlsx":
            return httpx.Response(
                200,
                content=b"PK-xlsx",
                headers={
                    "content-type": XLSX,
                    "content-disposition": "attachment; filename=h.xlsx",
                },
            )
        return httpx.Response(404, json={"error": "not_found", "message": "没有"})


def test_the_card_page_lists_every_year_newest_first(portal: StartPortal) -> None:
    page = portal(Services(), MEMBER).get("/me/card")
    assert page.status_code == 200
    assert "历年积分卡" in page.text
    table = page.text[page.text.index('id="history-table"') :]
    assert table.index(f"{NOW}年") < table.index(f"{NOW - 1}年")
    assert f'href="/me/card?year={NOW - 1}"' in table
    assert "91.50" in table and "采油二队党支部" in table and "缺少党员互评结果" in table


def test_the_comparison_shows_values_changes_and_no_data(portal: StartPortal) -> None:
    services = Services()
    page = portal(services, ORG_ADMIN).get(f"/org/history?from={NOW - 2}&to={NOW}")
    assert page.status_code == 200
    assert f"scoring/statistics/history?scope=company&from={NOW - 2}&to={NOW}" in services.calls
    row = page.text[page.text.index('data-figure="pledges_completed"') :]
    row = row[: row.index("</tr>")]
    assert "<td>无数据</td><td>10</td><td>7</td>" in row
    assert '<td class="change">—</td><td class="change">-3</td>' in row
    rate = page.text[page.text.index('data-figure="satisfaction_rate"') :]
    assert '<td class="change">+2.50</td>' in rate[: rate.index("</tr>")]
    assert f"/org/history.xlsx?scope_ref=company%3A&amp;from={NOW - 2}&amp;to={NOW}" in page.text


def test_a_refused_comparison_is_a_page_with_the_reason(portal: StartPortal) -> None:
    page = portal(Services(refuse_history=True), ORG_ADMIN).get("/org/history?from=2000&to=2030")
    assert page.status_code == 422
    assert "一次最多对比10个年度，请缩小年度范围" in page.text
    assert 'id="history-table"' not in page.text


def test_the_comparison_exports_what_scoring_writes(portal: StartPortal) -> None:
    services = Services()
    client = portal(services, ORG_ADMIN)
    export = client.get(f"/org/history.xlsx?scope_ref=unit:u-1&from={NOW - 1}&to={NOW}")
    assert export.status_code == 200 and export.content == b"PK-xlsx"
    assert export.headers["content-type"] == XLSX
    expected = f"scoring/statistics/history/export.xlsx?scope=unit&id=u-1&from={NOW - 1}&to={NOW}"
    assert expected in services.calls
    assert json.dumps(services.calls)  # every call was recorded
