"""The unit committee (二级党委, issue 16) oversees the branches of its unit: their results,
cards and statistics, and objections escalated to it; nothing of another unit, and not the
company (real broker, both databases)."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.integration.scoring.conftest import ScoringService, token
from tests.integration.scoring.scenario import Scenario
from tests.integration.scoring.test_service import people, seeded

pytestmark = pytest.mark.integration


async def test_the_unit_committee_reads_its_branches_and_decides_escalated_objections(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    ours = token("uc-1", Role.UNIT_COMMITTEE, unit=scenario.unit)
    other = token("uc-9", Role.UNIT_COMMITTEE, unit="u-elsewhere")
    base = f"/branches/{scenario.branch}/results/{year}"
    reads = (
        base,
        f"{base}/export.csv",
        f"/members/{scenario.m(1)}/cards/{year}",
        f"/members/{scenario.m(1)}/cards",
        f"/statistics/{year}?scope=unit&id={scenario.unit}",
        f"/statistics/{year}?scope=branch&id={scenario.branch}",
        f"/statistics/history?scope=unit&id={scenario.unit}&from={year}&to={year}",
    )
    for path in reads:
        assert (await scoring.call("GET", path, ours)).status_code == 200, path
        refused = await scoring.call("GET", path, other)
        assert refused.status_code == 403, path
        assert "二级党委" in refused.json()["message"], path
    results = await scoring.ok("GET", base, ours)
    assert len(results["members"]) == 5  # every party member on the roster
    company = await scoring.call("GET", f"/statistics/{year}", ours)
    assert company.status_code == 403  # the company is the organization department's

    # A committee member objects to their own result: their unit committee decides it.
    await scoring.ok("POST", f"{base}/publish", who["committee"])
    secretary = token(scenario.m(2), Role.MEMBER, Role.BRANCH_COMMITTEE, branch=scenario.branch)
    objection = await scoring.ok(
        "POST", f"{base}/objections", secretary, {"reason": "本人的互评结果有误"}
    )
    decision = f"{base}/objections/{objection['id']}/decision"
    own = await scoring.call("POST", decision, secretary, {"outcome": "confirmed"})
    assert own.status_code in (403, 409)  # no one judges their own case
    stranger = await scoring.call("POST", decision, other, {"outcome": "confirmed"})
    assert stranger.status_code == 403
    decided = await scoring.ok("POST", decision, ours, {"outcome": "confirmed"})
    assert decided["events"] == ["ResultObjectionDecided"]
    stored = await scoring.events(f"branch-results-{scenario.branch}-{year}")
    assert stored[-1].envelope.type == "ResultObjectionDecided"
    assert stored[-1].envelope.actor.role == "unit_committee"
