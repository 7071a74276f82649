"""The review year in the portal (issue 16): review and result pages show last year while its
results are not final (the scoring service says which year), every page takes ``?year=``
with a switch, forms carry the year they were shown for, and a bad year is a page in
Chinese."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.portal.web import this_year
from shared.auth import Principal, Role
from tests.unit.portal.conftest import MEMBER, StartPortal

pytestmark = pytest.mark.unit
NOW = this_year()
LAST = NOW - 1
SECRETARY = Principal(
    person_id="c-1",
    name="王建国",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE}),
    unit_id="u-1",
    branch_id="b-1",
)
ORG_ADMIN = Principal(person_id="org-admin", name="组织部管理员", roles=frozenset({Role.ORG_ADMIN}))


def period(period_id: str, year: int, closed: bool) -> dict[str, Any]:
    return {
        "period_id": period_id,
        "title": f"{year}年{period_id}",
        "kind": "peer",
        "period": "Q4",
        "year": year,
        "scope_level": "branch",
        "branch_id": "b-1",
        "unit_id": "u-1",
        "closed": closed,
        "deadline": None,
    }


class Services:
    """Scoring says the review year is ``default``; records every call with its query."""

    def __init__(self, default: int | None, *, all_closed: bool = False) -> None:
        self.default = default
        self.all_closed = all_closed
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        query = request.url.query.decode()
        self.calls.append(f"{request.method} {host}{path}" + (f"?{query}" if query else ""))
        if path == "/review-year":
            if self.default is None:
                return httpx.Response(503, json={"error": "unavailable", "message": "暂不可用"})
            pending = self.default != NOW
            return httpx.Response(
                200,
                json={
                    "year": self.default,
                    "calendar_year": NOW,
                    "pending_branches": int(pending),
                    "reason": f"{LAST}年度本支部的评议结果尚未定稿" if pending else "已定稿",
                },
            )
        if request.method == "POST":
            return httpx.Response(201, json={"id": "x", "events": []})
        if path.startswith("/branches/b-1/results/"):
            year = int(path.rsplit("/", 1)[-1])
            return httpx.Response(
                200,
                json={
                    "branch_id": "b-1",
                    "branch_name": "一支部",
                    "year": year,
                    "members": [],
                    "publication": None,
                },
            )
        if path == "/periods":
            year = int(request.url.params["year"])
            return httpx.Response(
                200,
                json=[
                    period(f"p-{year}-a", year, self.all_closed),
                    period(f"p-{year}-b", year, True),
                ],
            )
        if path.startswith("/members/") and "/pledges" in path:
            return httpx.Response(200, json=[])
        if path.startswith("/members/") and "/areas/" in path:
            year = int(path.rsplit("/", 1)[-1])
            area = {"area": "safety", "area_label": "安全生产", "locked": year == LAST}
            return httpx.Response(200, json={"person_id": "p", "year": year, **area})
        return httpx.Response(404, json={"error": "not_found", "message": "没有"})


def test_in_january_the_results_page_shows_last_year_and_says_why(portal: StartPortal) -> None:
    services = Services(default=LAST, all_closed=True)
    page = portal(services, SECRETARY).get("/committee/results")
    assert page.status_code == 200, page.text
    assert f"GET scoring/branches/b-1/results/{LAST}" in services.calls
    assert "GET scoring/review-year?branch_id=b-1" in services.calls
    assert f"{LAST}年度综合评议结果" in page.text
    assert f"{LAST}年度本支部的评议结果尚未定稿，默认显示{LAST}年度。" in page.text
    assert f'<option value="{LAST}" selected>{LAST}年（默认）</option>' in page.text
    assert f'<input type="hidden" name="year" value="{LAST}">' in page.text
    assert 'name="confirm" value="yes" required' in page.text


def test_publishing_is_not_offered_while_a_period_of_the_year_is_open(portal: StartPortal) -> None:
    page = portal(Services(default=LAST), SECRETARY).get("/committee/results")
    assert page.status_code == 200, page.text
    assert "本年度还有评议期没有结束，暂不能公示" in page.text
    assert f"{LAST}年p-{LAST}-a" in page.text and f"p-{LAST}-b" not in page.text
    assert 'action="/committee/results/publish"' not in page.text


def test_publishing_without_the_confirmation_is_refused_and_not_sent(portal: StartPortal) -> None:
    services = Services(default=NOW, all_closed=True)
    page = portal(services, SECRETARY).post("/committee/results/publish", data={"year": str(LAST)})
    assert page.status_code == 422
    assert "请先勾选确认：这一步不能撤回" in page.text
    assert not any(call.startswith("POST") for call in services.calls)


def test_publishing_acts_on_the_year_the_form_was_shown_for(portal: StartPortal) -> None:
    services = Services(default=NOW)
    client = portal(services, SECRETARY)
    done = client.post("/committee/results/publish", data={"year": str(LAST), "confirm": "yes"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/committee/results?year={LAST}&done=")
    assert f"POST scoring/branches/b-1/results/{LAST}/publish" in services.calls


def test_a_chosen_year_is_shown_and_kept_in_links_without_asking_for_the_default(
    portal: StartPortal,
) -> None:
    services = Services(default=NOW)
    page = portal(services, SECRETARY).get(f"/committee/results?year={NOW - 3}")
    assert page.status_code == 200
    assert not any("review-year" in call for call in services.calls)
    assert f"GET scoring/branches/b-1/results/{NOW - 3}" in services.calls
    assert f'href="/committee/reviews?year={NOW - 3}"' in page.text
    assert "（默认）" not in page.text  # the default was not asked for


def test_without_an_answer_from_scoring_the_calendar_year_is_shown(portal: StartPortal) -> None:
    services = Services(default=None)
    page = portal(services, SECRETARY).get("/committee/results")
    assert page.status_code == 200
    assert f"GET scoring/branches/b-1/results/{NOW}" in services.calls


@pytest.mark.parametrize("year", ["abc", "1999", "2101", "20266"])
def test_a_bad_year_is_a_page_in_chinese_and_reads_nothing(portal: StartPortal, year: str) -> None:
    services = Services(default=NOW)
    page = portal(services, SECRETARY).get(f"/me/card?year={year}")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "地址中的参数有误：年度（2000至2100年之间的年份）" in page.text
    assert services.calls == []


def test_ballots_in_january_list_last_year_and_what_is_open_this_year(
    portal: StartPortal,
) -> None:
    services = Services(default=LAST)
    page = portal(services, MEMBER).get("/reviews")
    assert page.status_code == 200
    shown = [
        p for p in (f"p-{LAST}-a", f"p-{LAST}-b", f"p-{NOW}-a", f"p-{NOW}-b") if p in page.text
    ]
    assert shown == [f"p-{LAST}-a", f"p-{LAST}-b", f"p-{NOW}-a"]  # this year's closed one not


def test_a_past_year_of_my_pledges_is_read_only(portal: StartPortal) -> None:
    services = Services(default=NOW)
    client = portal(services, MEMBER)
    past = client.get(f"/me?year={LAST}")
    assert past.status_code == 200
    assert f"{LAST}年度已过，只能查看。" in past.text
    assert 'action="/me/area"' not in past.text and 'href="/pledges/new"' not in past.text
    assert f"GET pledges/members/p-1/pledges?year={LAST}" in services.calls
    assert "已选定：<strong>安全生产</strong>（第一项承诺已定诺" in past.text
    current = client.get("/me")
    assert 'action="/me/area"' in current.text and 'href="/pledges/new"' in current.text
    # The area already chosen is shown, and selected in the form to change it.
    assert "已选定：<strong>安全生产</strong>" in current.text
    assert '<option value="safety" selected>' in current.text


def test_the_organization_department_asks_for_the_company_review_year(
    portal: StartPortal,
) -> None:
    services = Services(default=LAST)
    portal(services, ORG_ADMIN).get("/org/policy")
    assert "GET scoring/review-year" in services.calls  # no branch: the whole company
    assert f"GET scoring/policies/{LAST}" in services.calls
