"""Carry-over (结转, issue 16) as scoring counts it, on the real broker and both databases:
the year's card and statistics keep the carried-over pledge as signed and not completed
(they do not move), and the next year's card and statistics count the pledge that
continues it; the year's public board keeps it, labelled 已结转."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.contracts import pledges as pl
from tests.integration.scoring.conftest import ScoringService, consecutive_years
from tests.integration.scoring.scenario import Planned, Scenario
from tests.integration.scoring.test_service import people, seeded, until

pytestmark = pytest.mark.integration


async def test_the_year_keeps_it_signed_not_completed_and_the_next_counts_its_successor(
    scoring: ScoringService, unique: str
) -> None:
    year, _ = consecutive_years()  # the next year is this test's too
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    stats_path = f"/statistics/{{}}?scope=branch&id={scenario.branch}"
    before = await scoring.ok("GET", stats_path.format(year), who["committee"])

    member, old, new = scenario.m(2), scenario.pledge(2), f"{scenario.pledge(2)}-{year + 1}"
    due = date(year + 1, 6, 30)
    events = [
        Planned(
            f"member-year-{member}-{year + 1}",
            scenario.branch,
            pl.ResponsibilityAreaChosen(
                person_id=member, year=year + 1, area=pl.ResponsibilityArea.PRODUCTION
            ),
            "pledges",
            scenario.branch,
            scenario.unit,
        ),
        Planned(
            f"pledge-{old}",
            scenario.branch,
            pl.PledgeCarriedOver(
                pledge_id=old, to_pledge_id=new, to_year=year + 1, due_date=due, reason="顺延"
            ),
            "pledges",
            scenario.branch,
            scenario.unit,
        ),
        Planned(
            f"pledge-{new}",
            scenario.branch,
            pl.PledgeCarriedIn(
                pledge_id=new,
                from_pledge_id=old,
                member_id=member,
                branch_id=scenario.branch,
                year=year + 1,
                area=pl.ResponsibilityArea.PRODUCTION,
                item="承诺项目2",
                content="为巡检路线加装照明",
                quantity="12处",
                quality_standard="通过验收",
                due_date=due,
                paired_employee_id=None,
                agreement=None,
                channels=(pl.PublicationChannel.NOTICE_BOARD,),
                published_on=date(year, 3, 12),
            ),
            "pledges",
            scenario.branch,
            scenario.unit,
        ),
    ]
    await scoring.publish_inputs(events)

    async def next_card() -> dict[str, Any] | None:
        response = await scoring.call("GET", f"/members/{member}/cards/{year + 1}", who["admin"])
        return response.json() if response.status_code == 200 else None

    card = await until(next_card)
    assert card is not None, "the next year's card did not appear"
    assert [(p["pledge_id"], p["status"], p["status_label"]) for p in card["pledges"]] == [
        (new, "published", "已公开")
    ]
    assert card["area"] == "production"

    this = await scoring.ok("GET", f"/members/{member}/cards/{year}", who["admin"])
    assert [(p["pledge_id"], p["status"], p["status_label"]) for p in this["pledges"]] == [
        (old, "carried_over", "已结转")
    ]
    # The year's figures do not move: still signed, not completed.
    after = await scoring.ok("GET", stats_path.format(year), who["committee"])
    for figure in ("pledges_signed", "pledges_completed", "pairings", "members"):
        assert after[figure] == before[figure], figure
    assert (after["pledges_signed"], after["pledges_completed"]) == (2, 1)
    following = await scoring.ok("GET", stats_path.format(year + 1), who["committee"])
    assert (following["pledges_signed"], following["pledges_completed"]) == (1, 0)
    # The branch reviews the next year too: every member on its roster has a card then.
    assert (following["members"], following["areas"]) == (5, 1)

    # The year's public board keeps the published pledge, labelled as carried over; the
    # next year's shows its continuation.
    boards = f"/public/branches/{scenario.branch}/board/{{}}"
    board = await scoring.ok("GET", boards.format(year), None)
    shown = {p["pledge_id"]: p["status_label"] for p in board["pledges"]}
    assert shown[old] == "已结转" and new not in shown
    board = await scoring.ok("GET", boards.format(year + 1), None)
    assert [p["pledge_id"] for p in board["pledges"]] == [new]

    history = await scoring.ok("GET", f"/members/{member}/cards", who["admin"])
    years = {y["year"]: y for y in history["years"]}
    assert (years[year]["pledges_total"], years[year]["pledges_completed"]) == (1, 0)
    assert (years[year + 1]["pledges_total"], years[year + 1]["pledges_completed"]) == (1, 0)
