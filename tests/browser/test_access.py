"""Trust in the review (issue 14), in a real browser against the real services: an employee
and a member are refused the committee's pages, the public board shows nothing unpublished
and no review figure, and a committee member cannot decide their own pledge."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import YEAR, Stack, org_admin_token, settled

pytestmark = pytest.mark.browser
COMMITTEE_PAGES = ("/committee", "/committee/needs", "/committee/ledger", "/committee/reviews",
                   "/committee/results")  # fmt: skip
# The demo company's pledges that are not public: declared, sent back for revision, approved,
# agreement signed, and withdrawn.
DEMO_UNPUBLISHED = ("设备巡检记录电子化", "班组成本核算", "青年理论学习小组", "困难职工走访",
                    "节能降耗小改小革")  # fmt: skip
DECLARED = "浏览器测试：尚未公开的承诺"
OWN = "浏览器测试：支委会成员本人的承诺"


def declare(page: Any, area: str, item: str) -> str:
    page.goto("/pledges/new")
    page.select_option("select[name=area]", area)
    page.fill("[name=item]", item)
    page.fill("[name=content]", f"{item}的内容")
    page.fill("[name=quantity]", "1项")
    page.fill("[name=quality_standard]", "合格")
    page.fill("[name=due_date]", f"{YEAR}-12-31")
    page.click("form.stack button")
    expect(page.locator("#status")).to_have_text("已申报")
    return str(page.url.split("?")[0])


def pledges_on_card(stack: Stack, member: str) -> int:
    """How many pledges (not withdrawn) the scoring service counts on the member's card."""
    url = f"{stack.services['scoring']}/branches/b-demo-1/results/{YEAR}"
    headers = {"Authorization": f"Bearer {org_admin_token()}"}
    body = httpx.get(url, headers=headers, timeout=10).json()
    return next(m["pledges_total"] for m in body["members"] if m["member_id"] == member)


def scoring_counts(stack: Stack, member: str, count: int) -> None:
    """Wait (a precondition) until the scoring service counts the member's new pledge: only
    then does its absence from the board mean something."""
    deadline = time.monotonic() + 90
    while pledges_on_card(stack, member) < count:
        if time.monotonic() > deadline:
            pytest.fail("the scoring service never learnt of the new pledge")
        time.sleep(0.5)


@pytest.mark.parametrize("person", ["d-0103", "d-0004"])  # 周强 employee, 刘洋 member
def test_committee_pages_are_refused_to_employees_and_members(as_person: Any, person: str) -> None:
    page = as_person(person)
    expect(page.locator("header nav")).not_to_contain_text("支委会")
    for path in COMMITTEE_PAGES:
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.locator("main h2")).to_have_text("没有权限")
        expect(page.locator("main .alert")).to_contain_text("您没有权限查看支委会页面")
        for item in DEMO_UNPUBLISHED:
            expect(page.locator("main")).not_to_contain_text(item)


def test_the_public_board_shows_nothing_unpublished(as_person: Any, stack: Stack) -> None:
    member = as_person("d-0004")  # 刘洋
    before = pledges_on_card(stack, "d-0004")
    pledge_url = declare(member, "management", DECLARED)
    scoring_counts(stack, "d-0004", before + 1)

    employee = as_person("d-0103")  # 周强, of the same branch
    response = employee.goto(pledge_url)
    assert response is not None and response.status in (403, 404)
    expect(employee.locator("main")).not_to_contain_text(DECLARED)

    public = as_person(None)
    for board in ("/board/b-demo-1", f"{stack.services['scoring']}/board/branches/b-demo-1"):
        public.goto(board)
        published = "抽油机保养师带徒"  # 李秀英's, public since the demo loaded
        expect(settled(public, "tr", published, published).first).to_be_visible()
        text = public.locator("body").inner_text()
        for item in (DECLARED, *DEMO_UNPUBLISHED):
            assert item not in text, (board, item)
        for word in ("票", "党员互评", "群众评议", "党支部评议", "缺少"):
            assert word not in text, (board, word)
        assert public.locator("a[href*='/cards/']").count() == 0
    old_card = httpx.get(
        f"{stack.services['scoring']}/board/members/d-0004/cards/{YEAR}", timeout=10
    )
    assert old_card.status_code == 404


def test_a_committee_member_cannot_decide_their_own_pledge(as_person: Any) -> None:
    member_of_committee = as_person("d-0002")  # 李秀英, on the committee of b-demo-1
    pledge_url = declare(member_of_committee, "production", OWN)
    own = member_of_committee.locator("#own-case")
    expect(own).to_contain_text("其他支委会成员")
    expect(own).to_contain_text("所属二级党委")
    for step in ("approval", "revision-request", "acceptance", "return"):
        expect(member_of_committee.locator(f"#step-{step}")).to_have_count(0)

    secretary = as_person("d-0001")  # 王建国 decides it
    secretary.goto(pledge_url)
    expect(secretary.locator("#step-approval")).to_be_visible()
    expect(secretary.locator("#own-case")).to_have_count(0)
