"""History (issue 16): a member's cards across years, and a scope's statistics side by side
with the change from the year before, on the real broker and both databases."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook

from shared.auth import Role
from shared.contracts import pledges as pl
from tests.integration.scoring.conftest import _YEARS, ScoringService, consecutive_years, token
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.test_service import people, seeded

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class LaterYear(Scenario):
    """The same branch and people in another year: pledges and needs of its own."""

    def pledge(self, n: int) -> str:
        return f"p{n}-{self.tag}-{self.year}"

    def need(self, n: int) -> str:
        return f"n{n}-{self.tag}-{self.year}"

    def pledges_events(self):  # type: ignore[no-untyped-def]
        registered = (pl.UnitRegistered, pl.BranchRegistered, pl.PersonRegistered)
        return [p for p in super().pledges_events() if not isinstance(p.event, registered)]


@pytest.fixture
def two_years() -> tuple[int, int]:
    """Two consecutive years of this test's own, and the year before them too (its history
    shows that year as without data, so no other test may use it)."""
    before = next(_YEARS)
    first, second = consecutive_years()
    assert first == before + 1
    return first, second


async def test_a_member_and_a_branch_across_two_years(
    scoring: ScoringService, two_years: tuple[int, int], unique: str
) -> None:
    first, second = two_years
    scenario = Scenario(unique, first)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    await seeded(scoring, LaterYear(unique, second), who)
    member = scenario.m(1)

    mine = await scoring.ok("GET", f"/members/{member}/cards", token(member, Role.MEMBER))
    # Other tests open company-wide periods in their years on the shared topics: every
    # branch then reviews those years, so the member has an empty roster card there too.
    others = [y for y in mine["years"] if y["year"] not in two_years]
    assert all(y["composite"] is None and y["pledges_completed"] == 0 for y in others)
    mine["years"] = [y for y in mine["years"] if y["year"] in two_years]
    assert [(y["year"], y["composite"], y["band_label"]) for y in mine["years"]] == [
        (first, "92.10", "不能参加下一年度创先争优评选"),
        (second, "92.10", "不能参加下一年度创先争优评选"),
    ]
    assert {y["branch_name"] for y in mine["years"]} == {"采油一队党支部"}
    assert mine["years"][0]["pledges_completed"] == 1
    committee = await scoring.ok("GET", f"/members/{member}/cards", who["committee"])
    assert [y["year"] for y in committee["years"] if y["year"] in two_years] == [first, second]
    stranger = token("sec-9", Role.MEMBER, Role.BRANCH_COMMITTEE, branch="b-elsewhere")
    refused = await scoring.call("GET", f"/members/{member}/cards", stranger)
    assert refused.status_code == 403 and "只有本人" in refused.json()["message"]
    peer = await scoring.call("GET", f"/members/{member}/cards", who["m2"])
    assert peer.status_code == 403
    nobody = await scoring.call("GET", "/members/m-none/cards", who["admin"])
    assert nobody.status_code == 404 and "还没有任何年度的积分卡" in nobody.json()["message"]

    # Statistics side by side: the year before the first has no data.
    query = f"scope=branch&id={scenario.branch}&from={first - 1}&to={second}"
    history = await scoring.ok("GET", f"/statistics/history?{query}", who["committee"])
    assert history["years"] == [first - 1, first, second]
    assert history["scope_name"] == "采油一队党支部"
    figures = {row["figure"]: row for row in history["figures"]}
    assert figures["pledges_completed"]["values"] == [None, 1, 1]
    assert figures["pledges_completed"]["changes"] == [None, None, 0]
    assert figures["satisfaction_rate"]["values"] == [None, "94.12", "94.12"]
    assert figures["satisfaction_rate"]["changes"] == [None, None, "0.00"]
    assert figures["band_yellow_card"]["values"] == [None, 1, 1]
    assert figures["members"]["label"] == "在册党员"
    assert figures["members"]["values"] == [None, 5, 5]
    assert figures["cards"]["values"] == [None, 5, 5]
    assert figures["exempt"]["values"] == [None, 1, 1]

    export = await scoring.call("GET", f"/statistics/history/export.xlsx?{query}", who["committee"])
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [
        "指标",
        f"{first - 1}年",
        f"{first}年",
        f"{second}年",
        f"{first}年比上年",
        f"{second}年比上年",
    ]
    assert ["完成承诺", None, 1, 1, None, 0] in rows

    # Refusals change nothing and say what to do.
    backwards = await scoring.call(
        "GET", f"/statistics/history?from={second}&to={first}", who["admin"]
    )
    assert backwards.status_code == 422 and "不能晚于" in backwards.json()["message"]
    too_many = await scoring.call("GET", "/statistics/history?from=2000&to=2030", who["admin"])
    assert too_many.status_code == 422 and "最多对比10个年度" in too_many.json()["message"]
    unknown = await scoring.call(
        "GET", f"/statistics/history?scope=branch&id=b-none&from={first}&to={second}", who["admin"]
    )
    assert unknown.status_code == 404
    other_branch = await scoring.call("GET", f"/statistics/history?{query}", stranger)
    assert other_branch.status_code == 403
