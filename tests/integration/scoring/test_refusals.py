"""What the scoring service refuses, with a message a person can act on. The projection is
filled directly (as the consumer would) so that each refusal is quick to reach."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.scoring.projections import apply
from shared.auth import Role
from tests.integration.scoring.conftest import NOW, ScoringService, token
from tests.integration.scoring.scenario import Scenario, as_stored
from tests.support.openapi import reads_without_token

pytestmark = pytest.mark.integration


async def filled(scoring: ScoringService, scenario: Scenario) -> None:
    runtime = scoring.app.state.runtime
    async with runtime.read_db().transaction() as session:
        await apply(session, as_stored(scenario.pledges_events() + scenario.review_events()))


async def test_only_the_branch_committee_publishes_and_only_once_a_card_exists(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    base = f"/branches/{scenario.branch}/results/{year}"
    committee = token("sec-1", Role.BRANCH_COMMITTEE, branch=scenario.branch)
    other_committee = token("sec-2", Role.BRANCH_COMMITTEE, branch="b-other")

    empty = await scoring.call("POST", f"{base}/publish", committee)
    assert empty.status_code == 409 and "还没有党员积分卡" in empty.json()["message"]

    await filled(scoring, scenario)
    refused = await scoring.call("POST", f"{base}/publish", other_committee)
    assert refused.status_code == 403 and "本支部的支委会成员" in refused.json()["message"]
    member = await scoring.call("POST", f"{base}/publish", token(scenario.m(1), Role.MEMBER))
    assert member.status_code == 403
    assert (await scoring.call("POST", f"{base}/publish", None)).status_code == 401


async def test_objections_are_the_members_own_and_only_during_the_window(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    await filled(scoring, scenario)
    base = f"/branches/{scenario.branch}/results/{year}"
    committee = token("sec-1", Role.BRANCH_COMMITTEE, branch=scenario.branch)
    m1 = token(scenario.m(1), Role.MEMBER, branch=scenario.branch)
    body = {"reason": "我的群众评议票数有误"}

    async def offered() -> tuple[bool, str | None, list[str]]:
        """What m1's card says: may she object now, why not, and her objections' outcomes."""
        card = await scoring.ok("GET", f"/members/{scenario.m(1)}/cards/{year}", m1)
        status = card["objection"]
        return (
            status["may_object"],
            status["reason"],
            [o["outcome_label"] for o in status["objections"]],
        )

    before = await scoring.call("POST", f"{base}/objections", m1, body)
    assert before.status_code == 409 and "尚未公示" in before.json()["message"]
    assert await offered() == (False, before.json()["message"], [])
    await scoring.ok("POST", f"{base}/publish", committee)
    assert await offered() == (True, None, [])

    stranger = await scoring.call("POST", f"{base}/objections", token("x-1", Role.MEMBER), body)
    assert stranger.status_code == 404 and "没有您的评议结果" in stranger.json()["message"]
    employee = await scoring.call("POST", f"{base}/objections", token("e-1", Role.EMPLOYEE), body)
    assert employee.status_code == 403

    blank = await scoring.call("POST", f"{base}/objections", m1, {"reason": "  "})
    assert blank.status_code == 422

    first = await scoring.ok("POST", f"{base}/objections", m1, body)
    second = await scoring.call("POST", f"{base}/objections", m1, body)
    assert second.status_code == 409 and "正在处理" in second.json()["message"]
    assert await offered() == (False, second.json()["message"], ["待支委会决定"])

    adjust_without_reason = await scoring.call(
        "POST",
        f"{base}/objections/{first['id']}/decision",
        committee,
        {"outcome": "adjusted", "composite": "80.00"},
    )
    assert adjust_without_reason.status_code == 422
    await scoring.ok(
        "POST", f"{base}/objections/{first['id']}/decision", committee, {"outcome": "confirmed"}
    )
    assert await offered() == (True, None, ["维持原结果"])  # decided: she may object again

    scoring.at(NOW + timedelta(days=7))
    late = await scoring.call("POST", f"{base}/objections", m1, body)
    assert late.status_code == 409 and "公示期已于" in late.json()["message"]
    assert await offered() == (False, late.json()["message"], ["维持原结果"])
    await scoring.ok("POST", f"{base}/finalize", committee)
    again = await scoring.call("POST", f"{base}/publish", committee)
    assert again.status_code == 409 and "已经定稿" in again.json()["message"]


async def test_a_policy_is_adopted_by_the_organization_department_and_not_under_final_results(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    await filled(scoring, scenario)
    admin = token("admin-1", Role.ORG_ADMIN)
    committee = token("sec-1", Role.BRANCH_COMMITTEE, branch=scenario.branch)
    current = await scoring.ok("GET", f"/policies/{year}", committee)
    assert current["policy_id"] == "default"
    body = {"year": year, "policy_id": "p-2", "policy": current["policy"]}

    assert (await scoring.call("POST", "/policies", committee, body)).status_code == 403
    wrong = {
        **body,
        "policy": {**current["policy"], "weights": {"peer": "0.5", "mass": "0.4", "branch": "0.3"}},
    }
    invalid = await scoring.call("POST", "/policies", admin, wrong)
    assert invalid.status_code == 422 and "100%" in invalid.json()["message"]

    await scoring.ok("POST", "/policies", admin, body)
    assert (await scoring.ok("GET", f"/policies/{year}", committee))["policy_id"] == "p-2"
    reused = await scoring.call("POST", "/policies", admin, body)
    assert reused.status_code == 409 and "已经使用过" in reused.json()["message"]

    base = f"/branches/{scenario.branch}/results/{year}"
    # The cards in the projection were computed under "default": publishing them now would
    # publish numbers the policy in force did not produce.
    stale = await scoring.call("POST", f"{base}/publish", committee)
    assert stale.status_code == 409 and "重新计算" in stale.json()["message"]


async def test_results_are_not_published_while_a_period_of_the_year_is_open(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    opened = [e for e in scenario.review_events() if e.event.type_name == "ReviewPeriodOpened"]
    runtime = scoring.app.state.runtime
    async with runtime.read_db().transaction() as session:
        await apply(session, as_stored(scenario.pledges_events() + opened))
    committee = token("sec-1", Role.BRANCH_COMMITTEE, branch=scenario.branch)
    base = f"/branches/{scenario.branch}/results/{year}"
    before = await scoring.event_count()

    refused = await scoring.call("POST", f"{base}/publish", committee)

    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert "还有评议期没有结束" in message
    assert f"{year}年第一季度党员互评" in message and f"{year}年下半年群众评议" in message
    assert await scoring.event_count() == before


async def test_closed_periods_keep_their_figures_when_a_policy_changes(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    await filled(scoring, scenario)
    admin = token("admin-1", Role.ORG_ADMIN)
    current = (await scoring.ok("GET", f"/policies/{year}", admin))["policy"]
    before = await scoring.event_count()

    for change, words in (
        ({"min_ballots": {"peer": 4, "mass": 3, "branch": 1}}, "最少票数"),
        ({"mass_paired_share": "0.60"}, "结对群众评议比例"),
        ({"satisfaction_threshold": "70.00"}, "满意标准"),
    ):
        body = {"year": year, "policy_id": "p-x", "policy": {**current, **change}}
        refused = await scoring.call("POST", "/policies", admin, body)
        assert refused.status_code == 409, refused.text
        assert words in refused.json()["message"]
    lax = {**current, "min_ballots": {"peer": 2, "mass": 3, "branch": 1}}
    below = await scoring.call(
        "POST", "/policies", admin, {"year": year + 1, "policy_id": "p-y", "policy": lax}
    )
    assert below.status_code == 422 and "不能少于 3 票" in below.json()["message"]
    assert await scoring.event_count() == before

    weights = {**current, "weights": {"peer": "0.20", "mass": "0.50", "branch": "0.30"}}
    await scoring.ok(
        "POST", "/policies", admin, {"year": year, "policy_id": "w", "policy": weights}
    )


async def test_every_read_but_the_public_board_needs_a_token(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    await filled(scoring, scenario)
    found = await reads_without_token(
        scoring.http,
        public={
            "/health/live",
            "/health/ready",
            "/metrics",
            "/board/branches/{branch_id}",
            "/public/branches/{branch_id}/board/{year}",
        },
        values={
            "{member_id}": scenario.m(1),
            "{branch_id}": scenario.branch,
            "{year}": str(year),
            "{fmt}": "csv",
        },
    )
    assert {path for path, code in found.items() if code != 401} == {
        "/health/live",
        "/health/ready",
        "/metrics",
        "/board/branches/{branch_id}",
        "/public/branches/{branch_id}/board/{year}",
    }
