"""Two review years of one unit, end to end (issue 16): the embedded broker, the three services
and the portal as their own processes, on SQLite and on PostgreSQL, with the business clock
(``SUXING_CLOCK_FILE``) moved from March of year 1 to June of year 2.

Branch A (采油一队) has a member who transfers to branch B (作业二队) in June of year 1, one the
committee exempts (退休, through the portal), one who never acts, and one who transfers in June
of year 2. In January of year 2 A's secretary closes year 1's second-half periods and
publishes year 1's results in Chromium while year 2's plan starts. The expected cards and
statistics were worked out by hand from the scores below (each step is in the comments); the
refusals on the way (a ballot after the window, publication with open periods, a late ledger
entry without reason) answer in Chinese and change nothing.

Scores are chosen so every average is exact: a voter gives the same score to everyone they
rate, and the scores of a group are multiples of 3.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from shared.auth import Role
from shared.clock import set_clock
from tests.conftest import PgDatabases
from tests.faults.stack import ADMIN, Stack, running_stack, token

pytestmark = pytest.mark.browser
BEIJING = timezone(timedelta(hours=8))
Y1, Y2 = 2025, 2026
A, B = "b-ta", "b-tb"
ROSTER = """unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position
u-t,试验采油厂党委,b-ta,采油一队党支部,t-s1,王建国,member,队长,secretary
u-t,试验采油厂党委,b-ta,采油一队党支部,t-m1,李秀英,member,技术员,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-m2,张伟,member,采油工,member
u-t,试验采油厂党委,b-ta,采油一队党支部,t-m3,刘洋,member,采油工,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-tr,陈静,member,资料员,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-ex,杨光荣,member,老队长,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-nv,黄海,member,采油工,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-e1,赵磊,employee,采油工,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-e2,孙丽,employee,采油工,
u-t,试验采油厂党委,b-ta,采油一队党支部,t-e3,周强,employee,维修工,
u-t,试验采油厂党委,b-tb,作业二队党支部,t-s2,吴军,member,队长,secretary
u-t,试验采油厂党委,b-tb,作业二队党支部,t-b1,郑敏,member,工程师,member
u-t,试验采油厂党委,b-tb,作业二队党支部,t-b2,冯涛,member,作业工,
u-t,试验采油厂党委,b-tb,作业二队党支部,t-b3,何平,member,作业工,
u-t,试验采油厂党委,b-tb,作业二队党支部,t-f1,许亮,employee,作业工,
u-t,试验采油厂党委,b-tb,作业二队党支部,t-f2,马超,employee,司机,
u-t,试验采油厂党委,b-tb,作业二队党支部,t-f3,林芳,employee,资料员,
"""
NAMES = {line.split(",")[4]: line.split(",")[5] for line in ROSTER.splitlines()[1:] if line.strip()}
COMMITTEE = {"t-s1": A, "t-m2": A, "t-s2": B, "t-b1": B}
EMPLOYEES = {"t-e1", "t-e2", "t-e3", "t-f1", "t-f2", "t-f3"}


def bearer(person: str, branch: str) -> dict[str, str]:
    roles = [Role.EMPLOYEE]
    if person not in EMPLOYEES:
        roles.append(Role.MEMBER)
    if COMMITTEE.get(person) == branch:
        roles.append(Role.BRANCH_COMMITTEE)
    return {"Authorization": f"Bearer {token(person, *roles, branch=branch, unit='u-t')}"}


ORG = {"Authorization": f"Bearer {ADMIN}"}


class Company:
    """The services over HTTP, as the people of the test unit."""

    def __init__(self, stack: Stack, clock_file: Path) -> None:
        self.stack = stack
        self.clock_file = clock_file
        self.http = httpx.Client(timeout=60)
        self.branch_of = {p: (A if p.startswith(("t-s1", "t-m", "t-tr", "t-ex", "t-nv", "t-e"))
                              else B) for p in NAMES}  # fmt: skip

    def at(self, when: str) -> None:
        """Move the business clock of every process (Beijing time)."""
        set_clock(self.clock_file, datetime.fromisoformat(f"{when}T10:00:00+08:00"))
        time.sleep(0.05)  # a distinct modification time for the next move

    def call(
        self, who: str, method: str, service: str, path: str, body: Any = None, expect: int = 200
    ) -> Any:
        headers = ORG if who == "org" else bearer(who, self.branch_of[who])
        if isinstance(body, str):
            response = self.http.request(
                method,
                self.stack.url(service) + path,
                content=body.encode(),
                headers={**headers, "Content-Type": "text/csv; charset=utf-8"},
            )
        else:
            response = self.http.request(
                method, self.stack.url(service) + path, json=body, headers=headers
            )
        assert response.status_code == expect or (expect == 200 and response.status_code == 201), (
            f"{method} {path} as {who}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def pledge(self, member: str, year: int, area: str, item: str) -> str:
        body = {
            "member_id": member,
            "year": year,
            "area": area,
            "item": item,
            "content": f"{item}，按月推进并记入台账",
            "quantity": "全年4次",
            "quality_standard": "按期完成，经党支部验收合格",
            "due_date": f"{year}-12-31",
        }
        return str(self.call(member, "POST", "pledges", "/pledges", body)["id"])

    def approve_and_publish(self, secretary: str, pledge_id: str, on: str) -> None:
        self.call(secretary, "POST", "pledges", f"/pledges/{pledge_id}/approval", {})
        body = {"channels": ["staff_meeting", "notice_board"], "published_on": on}
        self.call(secretary, "POST", "pledges", f"/pledges/{pledge_id}/publication", body)

    def period(self, secretary: str, branch: str, kind: str, period: str, year: int) -> str:
        body = {
            "period_id": f"rp-t-{year}-{kind}-{period.lower()}-{branch}",
            "kind": kind,
            "period": period,
            "year": year,
            "scope_level": "branch",
            "scope_id": branch,
        }
        return str(self.call(secretary, "POST", "reviews", "/periods", body)["id"])

    def ballots(self, period_id: str, role: str, scores: dict[str, int], rated: list[str]) -> None:
        """Each voter gives their one score to everyone in ``rated`` but themselves."""
        for voter, score in scores.items():
            body = {
                "scores": [
                    {
                        "member_id": member,
                        "score": score,
                        "comment": "履职尽责，带头作用明显" if role == "branch" else None,
                    }
                    for member in rated
                    if member != voter
                ]
            }
            self.call(voter, "PUT", "reviews", f"/periods/{period_id}/ballots/{role}", body)

    def half_year(
        self,
        secretary: str,
        branch: str,
        half: str,
        rated: list[str],
        *,
        peer: dict[str, int],
        mass: dict[str, int],
        committee: dict[str, int],
    ) -> tuple[str, str, str]:
        """The half-year's three reviews of a branch, opened and voted (peer in its last
        quarter): the period ids, left open."""
        quarter = "Q2" if half == "H1" else "Q4"
        ids = (
            self.period(secretary, branch, "peer", quarter, Y1),
            self.period(secretary, branch, "mass", half, Y1),
            self.period(secretary, branch, "branch", half, Y1),
        )
        for period_id, role, scores in zip(
            ids, ("peer", "all_staff", "branch"), (peer, mass, committee), strict=True
        ):
            self.ballots(period_id, role, scores, rated)
        return ids

    def close(self, secretary: str, period_id: str) -> None:
        self.call(secretary, "POST", "reviews", f"/periods/{period_id}/close")

    def card(self, member: str, year: int) -> dict[str, Any]:
        return dict(self.call("org", "GET", "scoring", f"/members/{member}/cards/{year}"))

    def results(self, branch: str, year: int) -> dict[str, Any]:
        return dict(self.call("org", "GET", "scoring", f"/branches/{branch}/results/{year}"))

    def statistics(self, branch: str, year: int) -> dict[str, Any]:
        path = f"/statistics/{year}?scope=branch&id={branch}"
        return dict(self.call("org", "GET", "scoring", path))

    def wait(self, what: str, probe: Callable[[], bool], timeout: float = 90) -> None:
        """Scoring follows the other services through the broker: wait (bounded, so a broken
        stack fails) until ``probe`` sees the awaited state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if probe():
                    return
            except (AssertionError, KeyError, httpx.HTTPError):
                pass
            time.sleep(0.3)
        pytest.fail(f"scoring did not catch up: {what}")


@pytest.fixture(params=["sqlite", "postgresql"])
def company(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases | None
) -> Iterator[Company]:
    urls = None
    if request.param == "postgresql":
        if pg_databases is None:
            pytest.fail("PostgreSQL is required for this test (SUXING_TEST_POSTGRES_URL)")
        # In a thread: Playwright's sync API keeps an event loop running in this one.
        with ThreadPoolExecutor(1) as pool:
            urls = {
                n: pool.submit(asyncio.run, pg_databases.create()).result()
                for n in ("pledges", "reviews", "scoring")
            }
    clock_file = tmp_path / "clock"
    set_clock(clock_file, datetime(Y1, 3, 3, 10, tzinfo=BEIJING))
    env = {"SUXING_CLOCK_FILE": str(clock_file)}
    with running_stack(tmp_path, database_urls=urls, env=env, portal=True) as stack:
        yield Company(stack, clock_file)


def sign_in(browser: Browser, portal: str, person: str) -> Page:
    context = browser.new_context(base_url=portal, viewport={"width": 1280, "height": 900},
                                  locale="zh-CN")  # fmt: skip
    page = context.new_page()
    page.goto("/signin")
    page.select_option("select[name=person_id]", person)
    page.click("form[action='/signin'] button")
    expect(page.locator("h2").first).to_contain_text("您好")
    return page


def figures(card: dict[str, Any]) -> tuple[Any, ...]:
    """What the hand-checked table holds of a card."""
    return (
        card["branch_id"],
        card["area"],
        card["composite"],
        card["band"],
        tuple(card["missing_labels"]),
        card["exempt"],
    )


def stats(s: dict[str, Any]) -> dict[str, Any]:
    keys = ("members", "cards", "exempt", "areas", "pledges_signed", "pledges_completed",
            "mass_satisfied", "mass_total", "satisfaction_rate", "without_composite")  # fmt: skip
    figures = {k: s[k] for k in keys}
    figures["bands"] = {b["band"]: b["count"] for b in s["bands"] if b["count"]}
    return figures


PEER, MASS, BRANCH = "党员互评", "群众评议", "党支部评议"


def test_two_review_years_with_a_transfer_an_exemption_and_a_member_who_never_acts(
    company: Company, browser: Browser
) -> None:
    c = company
    # --- Year 1, March: the roster, plans, areas and pledges. ---
    c.call("org", "POST", "pledges", "/roster/import", ROSTER)
    for branch, secretary in ((A, "t-s1"), (B, "t-s2")):
        plan = {"title": f"{Y1}年党员塑形工程活动方案", "summary": "承诺践诺",
                "meeting_date": f"{Y1}-02-20"}  # fmt: skip
        c.call(secretary, "PUT", "pledges", f"/branches/{branch}/plans/{Y1}", plan)
    areas = {"t-s1": "safety", "t-m1": "production", "t-m2": "service", "t-m3": "management",
             "t-tr": "production", "t-s2": "safety", "t-b1": "production", "t-b2": "hardship",
             "t-b3": "service"}  # fmt: skip
    for person, area in areas.items():
        c.call(person, "PUT", "pledges", f"/members/{person}/areas/{Y1}", {"area": area})
    p_m1 = c.pledge("t-m1", Y1, "production", "抽油机保养师带徒")
    c.approve_and_publish("t-s1", p_m1, f"{Y1}-03-03")
    p_m2 = c.pledge("t-m2", Y1, "service", "困难职工走访")
    c.approve_and_publish("t-s1", p_m2, f"{Y1}-03-03")
    c.pledge("t-m3", Y1, "management", "班组成本核算")  # declared, never approved
    p_tr = c.pledge("t-tr", Y1, "production", "资料电子化")
    c.approve_and_publish("t-s1", p_tr, f"{Y1}-03-03")

    # --- Year 1, June: A's first-half reviews, closed before the transfer. ---
    c.at(f"{Y1}-06-10")
    first_half = c.half_year(
        "t-s1", A, "H1", ["t-s1", "t-m1", "t-m2", "t-m3", "t-tr"],
        peer={"t-s1": 90, "t-m1": 84, "t-m2": 96, "t-m3": 78},
        mass={"t-e1": 50, "t-e2": 90, "t-e3": 85},
        committee={"t-s1": 92, "t-m2": 88},
    )  # fmt: skip
    for period_id in first_half:
        c.close("t-s1", period_id)

    # --- Year 1, 20 June: 陈静 moves to B; her approved pledge is handed over. ---
    c.at(f"{Y1}-06-20")
    c.call("org", "POST", "pledges", "/roster/people/t-tr/transfer", {"to_branch_id": B})
    c.branch_of["t-tr"] = B
    handed = c.call("t-s2", "GET", "pledges", f"/pledges/{p_tr}")
    assert handed["branch_id"] == B
    c.wait("陈静's card goes with her", lambda: c.card("t-tr", Y1)["branch_id"] == B)

    # --- Year 1, December: the second half in both branches; 杨光荣 exempted in the portal. ---
    c.at(f"{Y1}-12-10")
    secretary = sign_in(browser, c.stack.url("portal"), "t-s1")
    secretary.goto(f"/committee/results?year={Y1}")
    row = secretary.locator("#results-table tr", has_text="杨光荣")
    row.locator("summary", has_text="登记免评").click()
    row.locator("select[name=reason]").select_option("retired")
    row.locator("input[name=evidence]").fill("退休审批表（2025年5月）")
    row.locator("button", has_text="登记免评").click()
    expect(secretary.locator(".notice")).to_contain_text("已登记免评")
    c.wait("the exemption", lambda: c.card("t-ex", Y1)["exempt"])

    _, h2a, _ = c.half_year(
        "t-s1", A, "H2", ["t-s1", "t-m1", "t-m2", "t-m3"],
        peer={"t-s1": 96, "t-m1": 90, "t-m2": 84, "t-m3": 72},
        mass={"t-e1": 95, "t-e2": 65, "t-e3": 80},
        committee={"t-s1": 86, "t-m2": 94},
    )  # fmt: skip
    second_half_b = c.half_year(
        "t-s2", B, "H2", ["t-s2", "t-b1", "t-b2", "t-b3", "t-tr"],
        peer={"t-s2": 90, "t-b1": 84, "t-b2": 96, "t-b3": 78},
        mass={"t-f1": 70, "t-f2": 80, "t-f3": 90},
        committee={"t-s2": 96, "t-b1": 90},
    )  # fmt: skip
    c.call("t-s1", "POST", "pledges", f"/pledges/{p_m1}/ledger",
           {"month": f"{Y1}-11", "assessment": "on_track", "note": None})  # fmt: skip

    # --- Year 2, 5 January: year 1's open work, year 2's plan. ---
    c.at(f"{Y2}-01-05")
    # Refusals change nothing. A ballot after the window (its dates in the message):
    late = c.call("t-e1", "PUT", "reviews", f"/periods/{h2a}/ballots/all_staff",
                  {"scores": [{"member_id": "t-m1", "score": 10}]}, expect=422)  # fmt: skip
    assert "2025年12月31日" in late["message"], late
    # A month's ledger entry is on time until the end of the next month: October's is late,
    # refused without a reason (nothing recorded), then recorded with one.
    version = c.call("t-s1", "GET", "pledges", f"/pledges/{p_m1}")["version"]
    october = {"month": f"{Y1}-10", "assessment": "on_track", "note": None}
    refused = c.call("t-s1", "POST", "pledges", f"/pledges/{p_m1}/ledger", october, expect=422)
    assert "补记" in refused["message"] and "2025年11月30日" in refused["message"], refused
    assert c.call("t-s1", "GET", "pledges", f"/pledges/{p_m1}")["version"] == version
    c.call("t-s1", "POST", "pledges", f"/pledges/{p_m1}/ledger",
           {**october, "late_reason": "纸质台账补录"})  # fmt: skip
    # Publication while periods are open: refused by the service, with the list.
    still_open = c.call("t-s1", "POST", "scoring", f"/branches/{A}/results/{Y1}/publish",
                        expect=409)  # fmt: skip
    assert "评议期" in still_open["message"], still_open
    # Year 2 starts: A's plan and one member's area; one of B's too.
    plan = {"title": f"{Y2}年党员塑形工程活动方案", "summary": "承诺践诺",
            "meeting_date": f"{Y2}-01-04"}  # fmt: skip
    c.call("t-s1", "PUT", "pledges", f"/branches/{A}/plans/{Y2}", plan)
    c.call("t-m2", "PUT", "pledges", f"/members/t-m2/areas/{Y2}", {"area": "service"})
    c.call("t-b2", "PUT", "pledges", f"/members/t-b2/areas/{Y2}", {"area": "hardship"})

    # The portal opens on year 1 (its results are not final) and the secretary finishes it.
    secretary.goto("/committee/results")
    expect(secretary.locator("h2").first).to_contain_text(f"{Y1}年度")
    expect(secretary.locator("#open-periods")).to_contain_text("下半年")
    secretary.goto("/committee/reviews")
    expect(secretary.locator("h2").first).to_contain_text(f"{Y1}年度评议期")
    close = secretary.locator("form[action$='/close']")
    expect(close).to_have_count(3)
    close.first.locator("button").click()  # without the tick: nothing happens
    expect(close).to_have_count(3)
    while close.count():
        close.first.locator("input[name=confirm]").check()
        close.first.locator("button").click()
        expect(secretary.locator(".notice")).to_have_text("评议期已结束")
        secretary.goto("/committee/reviews")
    for period_id in second_half_b:
        c.close("t-s2", period_id)
    deadline = time.monotonic() + 90
    while True:
        secretary.goto("/committee/results")
        if secretary.locator("#open-periods").count() == 0 or time.monotonic() > deadline:
            break
        secretary.wait_for_timeout(500)
    publish = secretary.locator("form[action='/committee/results/publish']")
    publish.locator("input[name=confirm]").check()
    publish.locator("button").click()
    expect(secretary.locator(".notice")).to_have_text("评议结果已公示")
    c.call("t-s2", "POST", "scoring", f"/branches/{B}/results/{Y1}/publish")

    # --- Year 1 as the hand-checked table says. ---
    # A: Q2 peer voters 90/84/96/78, Q4 96/90/84/72 (nobody rates themselves): 王建国 86 and
    # 82 → 84; 李秀英 88, 84 → 86; 张伟 84, 86 → 85; 刘洋 90, 90 → 90. Mass H1 (50+90+85)/3
    # = 75, H2 (95+65+80)/3 = 80 → 77.5. Branch H1 92/88, H2 86/94 (the two committee
    # members): 王建国 88, 94 → 91; 张伟 92, 86 → 89; the others 90.
    # Composite 0.3 peer + 0.4 mass + 0.3 branch: 王建国 25.2+31+27.3 = 83.5; 李秀英
    # 25.8+31+27 = 83.8; 张伟 25.5+31+26.7 = 83.2; 刘洋 27+31+27 = 85.
    # B (second half only): peer 90/84/96/78: 吴军 86, 郑敏 88, 冯涛 84, 何平 90, 陈静 87;
    # mass (70+80+90)/3 = 80; branch 96/90: 吴军 90, 郑敏 96, the others 93. 吴军
    # 25.8+32+27 = 84.8; 郑敏 26.4+32+28.8 = 87.2; 冯涛 25.2+32+27.9 = 85.1; 何平 27+32+27.9
    # = 86.9. 陈静 (moved in June; her card is B's, every tally of the year counts): peer A
    # Q2 348/4 = 87 and B Q4 87 → 87; mass 75, 80 → 77.5; branch A H1 90, B H2 93 → 91.5;
    # 26.1+31+27.45 = 84.55.
    none: tuple[str, ...] = ()
    reviews = ("缺少党员互评结果", "缺少群众评议结果", "缺少党支部评议结果")
    all_missing = ("未选择责任区", *reviews)
    year1 = {
        "t-s1": (A, "safety", "83.50", "criticism", none, None),
        "t-m1": (A, "production", "83.80", "criticism", none, None),
        "t-m2": (A, "service", "83.20", "criticism", none, None),
        "t-m3": (A, "management", "85.00", "no_awards", none, None),
        "t-ex": (A, None, None, None, none, "retired"),
        "t-nv": (A, None, None, None, all_missing, None),
        "t-s2": (B, "safety", "84.80", "criticism", none, None),
        "t-b1": (B, "production", "87.20", "no_awards", none, None),
        "t-b2": (B, "hardship", "85.10", "no_awards", none, None),
        "t-b3": (B, "service", "86.90", "no_awards", none, None),
        "t-tr": (B, "production", "84.55", "criticism", none, None),
    }
    c.wait("year 1's cards", lambda: c.card("t-tr", Y1)["composite"] == "84.55")
    assert {m: figures(c.card(m, Y1)) for m in year1} == year1
    # Statistics: A's members are those whose card it keeps (陈静's is B's); satisfaction
    # counts the mass scores of those cards: H1 4 members x 2 of 3 (50 < 60), H2 4 x 3 of 3
    # → 20/24. B: H2 5 x 3 of 3, and 陈静's H1 tally from A, 2 of 3 → 17/18.
    year1_stats = {
        A: {"members": 6, "cards": 6, "exempt": 1, "areas": 4, "pledges_signed": 2,
            "pledges_completed": 0, "mass_satisfied": 20, "mass_total": 24,
            "satisfaction_rate": "83.33",
            "bands": {"criticism": 3, "no_awards": 1}, "without_composite": 1},
        B: {"members": 5, "cards": 5, "exempt": 0, "areas": 5, "pledges_signed": 1,
            "pledges_completed": 0, "mass_satisfied": 17, "mass_total": 18,
            "satisfaction_rate": "94.44",
            "bands": {"criticism": 2, "no_awards": 3}, "without_composite": 0},
    }  # fmt: skip
    assert {b: stats(c.statistics(b, Y1)) for b in (A, B)} == year1_stats
    published = c.results(A, Y1)
    assert published["publication"] is not None
    assert [m["member_id"] for m in published["members"]] and "t-tr" not in {
        m["member_id"] for m in published["members"]
    }

    # --- Year 2, June: 李秀英 moves to B; year 1 of A does not change. ---
    c.at(f"{Y2}-06-15")
    before = (c.results(A, Y1), c.statistics(A, Y1), c.card("t-m1", Y1))
    c.call("org", "POST", "pledges", "/roster/people/t-m1/transfer", {"to_branch_id": B})
    c.branch_of["t-m1"] = B
    c.wait("李秀英's year 2 card in B", lambda: c.card("t-m1", Y2)["branch_id"] == B)
    assert (c.results(A, Y1), c.statistics(A, Y1), c.card("t-m1", Y1)) == before
    history = c.call("org", "GET", "scoring", "/members/t-m1/cards")
    assert [(y["year"], y["branch_id"]) for y in history["years"]] == [(Y1, A), (Y2, B)]
    # Year 2 so far: every member on a roster of a review year has a card that names what
    # is missing; the exemption was for year 1 only.
    year2 = {
        "t-m2": (A, "service", None, None, reviews, None),
        "t-ex": (A, None, None, None, all_missing, None),
        "t-nv": (A, None, None, None, all_missing, None),
        "t-m1": (B, None, None, None, all_missing, None),
        "t-tr": (B, None, None, None, all_missing, None),
    }
    assert {m: figures(c.card(m, Y2)) for m in year2} == year2
    year2_stats = {
        A: {"members": 5, "cards": 5, "exempt": 0, "areas": 1},
        B: {"members": 6, "cards": 6, "exempt": 0, "areas": 1},
    }
    got = {b: stats(c.statistics(b, Y2)) for b in (A, B)}
    assert {b: {k: got[b][k] for k in year2_stats[b]} for b in got} == year2_stats
