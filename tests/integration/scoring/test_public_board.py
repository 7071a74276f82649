"""The public board, HTML and JSON (for the web portal): what is published, without sign-in,
and nothing else: no pledge that is not public, no review or period figure, no ballot count,
no objection. A member's card is not public."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.contracts import Event
from shared.contracts import pledges as pl
from tests.integration.scoring.conftest import ScoringService
from tests.integration.scoring.scenario import HOSTILE, Planned, Scenario
from tests.integration.scoring.test_service import people, seeded, until

pytestmark = pytest.mark.integration
PUBLIC = ("published", "acceptance_requested", "returned", "accepted")
NOT_PUBLIC = {
    4: "申报中的承诺事项",  # declared
    5: "退回修改的承诺事项",  # sent back for revision
    6: "已定诺未公开的承诺事项",  # approved, not yet published
}
ON_TRACK = pl.LedgerAssessment.ON_TRACK
WITHDRAWN = "承诺项目3"  # the scenario's p3
# Keys of the card and the committee's views that must never reach the board.
SECRET_KEYS = {
    "reviews",
    "periods",
    "ballots",
    "paired_ballots",
    "all_staff_ballots",
    "annual",
    "peer",
    "mass",
    "branch_review",
    "missing",
    "missing_labels",
    "objections",
    "adjusted",
    "consequences",
}


def unpublished_pledges(scenario: Scenario) -> list[Planned]:
    """p4 declared, p5 sent back for revision, p6 approved: none of them public. p6 also has
    a ledger entry, which the pledges service would refuse; the board must not rely on that."""
    y, area = scenario.year, pl.ResponsibilityArea.PRODUCTION
    events: list[tuple[int, Event]] = []
    for n, item in NOT_PUBLIC.items():
        member = scenario.m(2 if n == 5 else 1)
        terms = {"item": item, "content": f"{item}的内容", "quantity": "1项"}
        declared = pl.PledgeDeclared(
            pledge_id=scenario.pledge(n),
            member_id=member,
            branch_id=scenario.branch,
            year=y,
            area=area,
            **terms,
            quality_standard="合格",
            due_date=date(y, 11, 30),
            need_ids=(),
            paired_employee_id=None,
        )
        events.append((n, declared))
    p2, p5, p6 = scenario.pledge(2), scenario.pledge(5), scenario.pledge(6)

    def entry(pledge_id: str, month: int, note: str | None) -> pl.LedgerEntryRecorded:
        return pl.LedgerEntryRecorded(
            pledge_id=pledge_id, month=f"{y}-{month:02d}", assessment=ON_TRACK, note=note
        )

    events += [
        (5, pl.PledgeRevisionRequested(pledge_id=p5, reasons=("请写明目标",))),
        (6, pl.PledgeApproved(pledge_id=p6, member_id=scenario.m(1), year=y, area=area)),
        (6, entry(p6, 5, "未公开台账")),
        # A later entry of a public pledge: once it is on the board, so is everything above.
        (2, entry(p2, 7, None)),
    ]
    return [
        Planned(f"pledge-{scenario.pledge(n)}", scenario.branch, event, "pledges",
                scenario.branch, scenario.unit)
        for n, event in events
    ]  # fmt: skip


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


async def per_review_figures(scoring: ScoringService, scenario: Scenario, admin: str) -> set[str]:
    """Every review and period figure on the members' cards, as text."""
    figures: set[str] = set()
    for n in (1, 2, 3):
        card = await scoring.ok("GET", f"/members/{scenario.m(n)}/cards/{scenario.year}", admin)
        for review in card["reviews"]:
            figures |= {review["annual"]} | {p["result"] for p in review["periods"]}
    figures.discard(None)
    return figures


async def test_the_board_json_shows_pledges_ledger_and_published_results_to_anyone(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    path = f"/public/branches/{scenario.branch}/board/{year}?month={year}-05"

    before = await scoring.ok("GET", path, None)
    assert before["branch_name"] == "采油一队党支部"
    assert before["month"] == f"{year}-05"
    assert before["publication"] is None
    assert before["pledges"], "the scenario publishes pledges"
    assert all(p["status"] in PUBLIC for p in before["pledges"])
    assert all(len(p["ledger"]) == 1 and p["ledger"][0]["month"] == f"{year}-05"
               for p in before["ledger"])  # fmt: skip

    base = f"/branches/{scenario.branch}/results/{year}"
    await scoring.ok("POST", f"{base}/publish", who["committee"])
    await scoring.ok("POST", f"{base}/objections", who["m2"], {"reason": "互评票数统计有误"})
    after = await scoring.ok("GET", path, None)
    publication = after["publication"]
    # m4 never acted: published without a composite; m5 is exempt: not reviewed, not published.
    assert {r["member_id"] for r in publication["results"]} == {
        scenario.m(1),
        scenario.m(2),
        scenario.m(3),
        scenario.m(4),
    }
    assert {(r["composite"], r["band"]) for r in publication["results"]} == {
        ("92.10", "no_awards"),
        ("71.00", "yellow_card"),
        (None, None),
    }
    assert "objections" not in publication  # the member's and the committee's business

    december = await scoring.ok("GET", f"/public/branches/{scenario.branch}/board/{year}", None)
    assert december["month"] == f"{year}-12"
    unknown = await scoring.call("GET", f"/public/branches/b-none/board/{year}", None)
    assert unknown.status_code == 404 and unknown.json()["message"] == "没有找到该党支部"
    other_year = await scoring.call("GET", f"{path[: path.index('?')]}?month={year + 1}-01", None)
    assert other_year.status_code == 404


async def test_the_board_shows_nothing_unpublished_and_no_review_figure(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    await scoring.publish_inputs(unpublished_pledges(scenario))
    board = f"/public/branches/{scenario.branch}/board/{year}"
    july = f"{board}?month={year}-07"

    async def sentinel_shown() -> Any:
        board = await scoring.ok("GET", july, None)
        return board if board["ledger"] else None

    assert await until(sentinel_shown) is not None, "the projection did not take the pledges"
    base = f"/branches/{scenario.branch}/results/{year}"
    await scoring.ok("POST", f"{base}/publish", who["committee"])
    await scoring.ok("POST", f"{base}/objections", who["m2"], {"reason": "互评票数统计有误"})
    secret = await per_review_figures(scoring, scenario, who["admin"])
    card = await scoring.call("GET", f"/members/{scenario.m(1)}/cards/{year}", who["admin"])
    assert NOT_PUBLIC[4] in card.text and "未公开台账" in card.text  # known, but not public
    assert {"92.00", "65.00", "88.00"} <= secret  # the scenario's review results

    pages = {
        "json": await scoring.call("GET", f"{board}?month={year}-05", None),
        "html": await scoring.call(
            "GET", f"/board/branches/{scenario.branch}?year={year}&month={year}-05", None
        ),
    }
    for kind, response in pages.items():
        assert response.status_code == 200, (kind, response.text)
        text = response.text
        assert "92.10" in text and "71.00" in text, kind  # the published composites
        for item in (*NOT_PUBLIC.values(), WITHDRAWN, "未公开台账", "请写明目标"):
            assert item not in text, (kind, item)
        for figure in secret:
            assert figure not in text, (kind, figure)
        assert "互评票数统计有误" not in text, kind  # the objection
    body = pages["json"].json()
    assert {p["pledge_id"] for p in body["pledges"]} == {scenario.pledge(1), scenario.pledge(2)}
    assert {p["pledge_id"] for p in body["ledger"]} == {scenario.pledge(1), scenario.pledge(2)}
    assert not keys_of(body) & SECRET_KEYS, keys_of(body) & SECRET_KEYS
    html = pages["html"].text
    for word in ("票", "党员互评", "群众评议", "党支部评议", "缺少", "异议复核", "/cards/"):
        assert word not in html, word
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html  # m3's name, escaped
    assert HOSTILE not in html


async def test_a_members_card_is_not_a_public_page(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    member = scenario.m(1)
    old = await scoring.call("GET", f"/board/members/{member}/cards/{year}", None)
    assert old.status_code == 404
    signed = await scoring.call("GET", f"/board/members/{member}/cards/{year}", who["admin"])
    assert signed.status_code == 404
    anonymous = await scoring.call("GET", f"/members/{member}/cards/{year}", None)
    assert anonymous.status_code == 401
    other_member = await scoring.call("GET", f"/members/{member}/cards/{year}", who["m2"])
    assert other_member.status_code == 403
