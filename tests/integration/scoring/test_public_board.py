"""The public board as JSON (for the web portal): what is published, without sign-in, and
without the objections."""

from __future__ import annotations

import pytest

from tests.integration.scoring.conftest import ScoringService
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.test_service import people, seeded

pytestmark = pytest.mark.integration


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
    assert all(p["status"] in ("published", "acceptance_requested", "returned", "accepted")
               for p in before["pledges"])  # fmt: skip
    assert all(len(p["ledger"]) == 1 and p["ledger"][0]["month"] == f"{year}-05"
               for p in before["ledger"])  # fmt: skip

    base = f"/branches/{scenario.branch}/results/{year}"
    await scoring.ok("POST", f"{base}/publish", who["committee"])
    await scoring.ok("POST", f"{base}/objections", who["m2"], {"reason": "互评票数统计有误"})
    after = await scoring.ok("GET", path, None)
    publication = after["publication"]
    assert {r["member_id"] for r in publication["results"]} == {
        scenario.m(1),
        scenario.m(2),
        scenario.m(3),
    }
    assert publication["objections"] == []  # the member's and the committee's business

    december = await scoring.ok("GET", f"/public/branches/{scenario.branch}/board/{year}", None)
    assert december["month"] == f"{year}-12"
    unknown = await scoring.call("GET", f"/public/branches/b-none/board/{year}", None)
    assert unknown.status_code == 404 and unknown.json()["message"] == "没有找到该党支部"
    other_year = await scoring.call("GET", f"{path[: path.index('?')]}?month={year + 1}-01", None)
    assert other_year.status_code == 404
