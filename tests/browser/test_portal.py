"""The portal in a real browser against the real services: a pledge through its whole life,
a mass-review ballot cast and amended, results published and shown on the public board, and
screenshots of the main pages at desktop and phone width (docs/screenshots/)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, YEAR, settled

pytestmark = pytest.mark.browser
ITEM = "班组节能降耗攻关"


def field_error(page: Page, name: str) -> Any:
    return page.locator(f"label.field.invalid:has([name='{name}']) .error")


def status_of(page: Page) -> Any:
    return page.locator("#status")


def test_a_pledge_is_declared_returned_revised_approved_published_ledgered_and_accepted(
    as_person: Any,
) -> None:
    member = as_person("d-0004")  # 刘洋, area 经营管理
    committee = as_person("d-0001")  # 王建国, branch secretary

    member.goto("/pledges/new")
    member.select_option("select[name=area]", "management")
    member.fill("[name=content]", "组织班组开展节能降耗攻关，每月总结")
    member.fill("[name=quantity]", "每月1次")
    member.fill("[name=quality_standard]", "月度能耗同比下降")
    member.fill("[name=due_date]", f"{YEAR}-12-31")
    member.click("form.stack button")
    # The item was left empty: the service's reason is next to it, and nothing typed is lost.
    expect(field_error(member, "item")).to_be_visible()
    expect(member.locator("[name=content]")).to_have_value("组织班组开展节能降耗攻关，每月总结")
    expect(member.locator("[name=due_date]")).to_have_value(f"{YEAR}-12-31")
    member.fill("[name=item]", ITEM)
    member.click("form.stack button")
    expect(status_of(member)).to_have_text("已申报")
    pledge_url = member.url.split("?")[0]

    committee.goto(pledge_url)
    committee.fill("#step-revision-request textarea[name=reasons]", "请写明节约的电量目标")
    committee.click("#step-revision-request button")
    expect(status_of(committee)).to_have_text("退回修改")

    member.goto(pledge_url)
    expect(member.locator("dl.facts")).to_contain_text("请写明节约的电量目标")
    member.fill("#step-revision [name=quantity]", "每月1次，全年节电5000千瓦时")
    member.click("#step-revision button")
    expect(status_of(member)).to_have_text("已申报")

    committee.goto(pledge_url)
    committee.click("#step-approval button")
    # Approval cannot be undone: without ticking what will happen the browser does not send it.
    expect(status_of(committee)).to_have_text("已申报")
    committee.check("#step-approval input[name=confirm]")
    committee.click("#step-approval button")
    expect(status_of(committee)).to_have_text("已定诺")
    committee.check("#step-publication input[value=notice_board]")
    committee.click("#step-publication button")
    expect(status_of(committee)).to_have_text("已公开")

    committee.goto("/committee/ledger")
    row = committee.locator("#ledger-table tr", has_text=ITEM)
    row.locator("select[name=assessment]").select_option("on_track")
    row.locator("input[name=note]").fill("已开展本月攻关")
    row.locator("button").click()
    expect(committee.locator(".notice")).to_have_text("台账已记录")
    expect(committee.locator("#ledger-table tr", has_text=ITEM)).to_contain_text("按计划推进")

    member.goto(pledge_url)
    member.fill("#step-acceptance-request textarea[name=summary]", "全年节电5200千瓦时")
    member.click("#step-acceptance-request button")
    expect(status_of(member)).to_have_text("申请验收")

    committee.goto(pledge_url)
    committee.fill("#step-acceptance [name=comment]", "经核实达到目标")
    committee.click("#step-acceptance button")
    expect(status_of(committee)).to_have_text("已验收")

    public = as_person(None)
    public.goto("/board/b-demo-1")
    expect(settled(public, "#pledges tr", "已验收", ITEM)).to_contain_text("已验收")
    expect(public.locator("#ledger tr", has_text=ITEM)).to_contain_text("按计划推进")


def test_a_mass_review_ballot_is_cast_and_amended(as_person: Any) -> None:
    employee = as_person("d-0103", PHONE)  # 周强, no ballot yet in the open H2 mass review
    employee.goto("/reviews")
    employee.click(f"a[href='/reviews/rp-{YEAR}-mass-h2-b-demo-1/all_staff']")
    scores = employee.locator("input[name^='score-']")
    expect(scores).to_have_count(5)
    for index in range(5):
        scores.nth(index).fill(str(90 + index))
    scores.nth(0).fill("150")
    employee.click("form.ballot button")
    # Refused: the reason is shown and every score typed is still there.
    expect(employee.locator(".alert")).to_have_text("未能提交：评分须在0到100分之间")
    expect(employee.locator(".row.invalid")).to_contain_text("王建国")
    expect(employee.locator(".row.invalid .error")).to_have_text("评分须在0到100分之间")
    expect(scores.nth(0)).to_have_value("150")
    expect(scores.nth(4)).to_have_value("94")
    scores.nth(0).fill("88")
    employee.click("form.ballot button")
    expect(employee.locator(".notice")).to_contain_text("选票已保存")
    employee.reload()
    expect(scores.nth(0)).to_have_value("88.00")
    expect(employee.locator("section")).to_contain_text("您已投票")

    scores.nth(0).fill("79.5")
    employee.click("form.ballot button")
    expect(employee.locator(".notice")).to_contain_text("选票已保存")
    expect(scores.nth(0)).to_have_value("79.50")
    expect(scores.nth(1)).to_have_value("91.00")

    committee = as_person("d-0001")
    committee.goto(f"/committee/reviews/rp-{YEAR}-mass-h2-b-demo-1")
    all_staff = committee.locator("[data-role=all_staff]")
    expect(all_staff).to_contain_text("3/8")  # the demo's two ballots and this one
    expect(all_staff).to_contain_text("尚未投票")
    expect(all_staff).not_to_contain_text("周强")  # no longer among those yet to vote
    # While the period is open its results are sealed: the turnout only.
    expect(committee.locator("#period-sealed")).to_be_visible()
    expect(committee.locator("#period-results")).to_have_count(0)


def close_open_periods(committee: Page) -> None:
    """Results are sealed until every review period of the year has closed."""
    committee.goto("/committee/reviews")
    close = committee.locator("form[action$='/close']")
    while close.count():
        form = close.first
        form.locator("input[name=confirm]").check()
        form.locator("button").click()
        expect(committee.locator(".notice")).to_have_text("评议期已结束")
        committee.goto("/committee/reviews")


def publish(committee: Page) -> None:
    """Publish once the scoring service has learnt that the periods closed (it follows the
    reviews service through the broker; until then it refuses, saying which are open)."""
    deadline = time.monotonic() + 90
    while True:
        committee.goto("/committee/results")
        expect(committee.locator("#results-table")).to_contain_text("李秀英")
        expect(committee.locator("#open-periods")).to_have_count(0)
        committee.check("form[action='/committee/results/publish'] input[name=confirm]")
        committee.click("form[action='/committee/results/publish'] button")
        if committee.locator(".notice").count() or time.monotonic() > deadline:
            break
        expect(committee.locator(".alert")).to_contain_text("评议期没有结束")
        committee.wait_for_timeout(500)
    expect(committee.locator(".notice")).to_have_text("评议结果已公示")


def test_results_are_published_and_shown_on_the_board(as_person: Any) -> None:
    committee = as_person("d-0001")
    close_open_periods(committee)
    publish(committee)
    expect(committee.locator("section").first).to_contain_text("公示期")

    public = as_person(None, PHONE)
    public.goto("/board/b-demo-1")
    results = settled(public, "#results", "李秀英")
    expect(results).to_contain_text("公示期至")
    expect(results).to_contain_text("李秀英")
    expect(results.locator("tbody tr")).to_have_count(5)


PAGES = (
    ("signin", None, "/signin"),
    ("home-member", "d-0004", "/"),
    ("board", None, "/board/b-demo-1"),
    ("my-pledges", "d-0004", "/me"),
    ("declare-pledge", "d-0004", "/pledges/new"),
    ("points-card", "d-0002", "/me/card"),
    ("need", "d-0103", "/needs/new"),
    ("ballot", "d-0102", f"/reviews/rp-{YEAR}-mass-h2-b-demo-1/all_staff"),
    ("committee", "d-0001", "/committee"),
    ("needs", "d-0001", "/committee/needs"),
    ("ledger", "d-0001", "/committee/ledger"),
    ("review-periods", "d-0001", "/committee/reviews"),
    ("results", "d-0001", "/committee/results"),
    ("statistics", "org-admin", "/org"),
    ("policy", "org-admin", "/org/policy"),
)


def test_screenshots_of_the_main_pages(as_person: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        pages: dict[str | None, Page] = {}
        for name, person, path in PAGES:
            page = pages.get(person) or pages.setdefault(person, as_person(person, viewport))
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, (name, path)
            expect(page.locator("main")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 2 * len(PAGES)
