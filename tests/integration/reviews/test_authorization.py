"""Who may open and close periods, and who may rate whom: every refusal says why in Chinese
and records nothing."""

from __future__ import annotations

import asyncio

import pytest

from shared.auth import Role
from tests.integration.reviews.conftest import (
    ADMIN,
    BRANCH,
    UNIT,
    Reviews,
    token,
    token_of,
)
from tests.support.openapi import reads_without_token

pytestmark = pytest.mark.integration


def _refused(response_status: int, body: dict[str, str], status: int, fragment: str) -> None:
    assert response_status == status, (fragment, body)
    assert fragment in body["message"], body["message"]


OPENING_REFUSALS = [
    (token_of("rv-m1"), "branch", BRANCH, 403, "只有党支部委员会、二级党委或组织部才能开启评议期"),
    (token_of("rv-sec2"), "branch", BRANCH, 403, "党支部委员会只能开启本支部的评议期"),
    (token_of("rv-sec"), "unit", UNIT, 403, "由该二级党委或组织部开启"),
    (token_of("rv-sec"), "company", None, 403, "由组织部开启"),
    (ADMIN, "branch", "rv-nowhere", 404, "党支部“rv-nowhere”不存在"),
    (ADMIN, "unit", "rv-nowhere", 404, "二级党委“rv-nowhere”不存在"),
]


async def test_opening_a_period_is_refused_with_the_reason(reviews: Reviews):
    # One service for the whole table: starting one per case would dominate the run.
    before = await reviews.event_count()
    for who, scope_level, scope_id, status, fragment in OPENING_REFUSALS:
        body = {
            "kind": "peer",
            "period": "Q1",
            "year": 2024,
            "scope_level": scope_level,
            "scope_id": scope_id,
        }
        response = await reviews.call("POST", "/periods", who, body)
        _refused(response.status_code, response.json(), status, fragment)
    assert await reviews.event_count() == before


async def test_the_committee_opens_and_closes_its_own_branch_and_the_department_any_scope(
    reviews: Reviews,
):
    own = await reviews.open("peer", "Q1", who=token_of("rv-sec"))
    await reviews.open("mass", "H1", scope_level="unit", scope_id=UNIT)
    await reviews.open("branch", "H1", scope_level="company", scope_id=None)

    other = await reviews.call("POST", f"/periods/{own}/close", token_of("rv-sec2"))
    assert other.status_code == 403
    assert "党支部委员会只能结束本支部的评议期" in other.json()["message"]
    closed = await reviews.ok("POST", f"/periods/{own}/close", token_of("rv-sec"))
    assert closed["events"] == ["ReviewPeriodClosed"]
    again = await reviews.ok("POST", f"/periods/{own}/close", ADMIN)
    assert again["events"] == []


async def test_an_overlapping_period_and_an_invalid_period_are_refused(reviews: Reviews):
    await reviews.open("peer", "Q1", scope_level="unit", scope_id=UNIT)
    overlap = await reviews.call(
        "POST",
        "/periods",
        ADMIN,
        {"kind": "peer", "period": "Q1", "year": 2024, "scope_level": "branch", "scope_id": BRANCH},
    )
    assert overlap.status_code == 409
    assert "与本次评议范围重叠" in overlap.json()["message"]
    bad = await reviews.call(
        "POST",
        "/periods",
        ADMIN,
        {"kind": "mass", "period": "Q1", "year": 2024, "scope_level": "company"},
    )
    assert bad.status_code == 422
    assert "群众评议只能按上半年、下半年开启" in bad.json()["message"]


PEER, MASS, BRANCH_REVIEW = ("peer", "Q1"), ("mass", "H1"), ("branch", "H1")
COMMITTEE_WITHOUT_SEAT = token("rv-m2", Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE)
STRANGER = token("rv-stranger", Role.MEMBER, Role.EMPLOYEE)


BALLOT_REFUSALS = [
    # The token must hold the role the ballot is cast in.
    (token_of("rv-e2"), PEER, "peer", {"rv-m1": 90}, 403, "只有党员可以参加党员互评"),
    (token_of("rv-m2"), BRANCH_REVIEW, "branch", {"rv-m1": 90}, 403, "只有支委会成员"),
    # The roster decides the rest.
    (STRANGER, PEER, "peer", {"rv-m1": 90}, 403, "花名册中没有你的信息"),
    (token_of("rv-pm"), PEER, "peer", {"rv-m1": 90}, 403, "预备党员不参加党员互评"),
    (token_of("rv-gone"), PEER, "peer", {"rv-m1": 90}, 403, "吴刚已离开本单位"),
    (token_of("rv-x1"), PEER, "peer", {"rv-sec2": 90}, 403, "不在2024年第一季度党员互评的评议范围"),
    (
        COMMITTEE_WITHOUT_SEAT,
        BRANCH_REVIEW,
        "branch",
        {"rv-m1": 90},
        403,
        "只有党支部委员会成员才能进行党支部评议",
    ),
    (token_of("rv-e2"), MASS, "paired", {"rv-m1": 90}, 403, "你没有与党员签订结对协议"),
    (token_of("rv-e1"), MASS, "paired", {"rv-m2": 90}, 403, "你没有与张伟签订结对协议"),
    (token_of("rv-m2"), PEER, "all_staff", {"rv-m1": 90}, 422, "不能投“群众评议（全体员工）”票"),
    # What the ballot says.
    (token_of("rv-m2"), PEER, "peer", {"rv-m2": 90}, 422, "不能评议自己"),
    (token_of("rv-m2"), PEER, "peer", {"rv-e1": 90}, 422, "赵磊不是党员"),
    (token_of("rv-m2"), PEER, "peer", {"rv-x1": 90}, 422, "钱进不是你所在党支部的党员"),
    (token_of("rv-m2"), PEER, "peer", {"rv-gone": 90}, 422, "吴刚已离开本单位"),
    (token_of("rv-m2"), PEER, "peer", {"rv-nobody": 90}, 422, "花名册中没有编号为“rv-nobody”"),
    (token_of("rv-m2"), PEER, "peer", {"rv-m1": 101}, 422, "评分须在0到100分之间"),
    (
        token_of("rv-sec"),
        BRANCH_REVIEW,
        "branch",
        {"rv-m1": 90},
        422,
        "党支部评议须为李秀英填写评价意见",
    ),
]


async def test_a_ballot_is_refused_with_the_reason_and_records_nothing(reviews: Reviews):
    periods = {review: await reviews.open(*review) for review in (PEER, MASS, BRANCH_REVIEW)}
    before = await reviews.event_count()

    for who, review, role, scores, status, fragment in BALLOT_REFUSALS:
        response = await reviews.cast(who, periods[review], role, scores)
        _refused(response.status_code, response.json(), status, fragment)

    assert await reviews.event_count() == before


ELIGIBLE = [
    (token_of("rv-m2"), PEER, "peer", {"rv-m1": 90, "rv-sec": 95, "rv-pm": 88}),
    (token_of("rv-e2"), MASS, "all_staff", {"rv-m1": 90, "rv-m2": 85}),
    (token_of("rv-m3"), MASS, "all_staff", {"rv-m1": 90}),
    (token_of("rv-e1"), MASS, "paired", {"rv-m1": 97}),
    (token_of("rv-sec"), BRANCH_REVIEW, "branch", {"rv-m1": 93}),
]


async def test_eligible_reviewers_cast_their_ballots(reviews: Reviews):
    periods = {review: await reviews.open(*review) for review in (PEER, MASS, BRANCH_REVIEW)}
    for who, review, role, scores in ELIGIBLE:
        response = await reviews.cast(who, periods[review], role, scores, comment="工作扎实")
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "cast"
        assert response.json()["events"] == ["BallotCast"]
    types = [item.event.type_name for item in await reviews.events()]
    assert types.count("BallotCast") == len(ELIGIBLE)


async def test_reports_are_for_the_branch_committee_and_the_department(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    for who in (token_of("rv-m1"), token_of("rv-sec2")):
        response = await reviews.call("GET", f"/periods/{period_id}/turnout?branch={BRANCH}", who)
        assert response.status_code == 403
        assert (
            "只有本支部的支委会成员或组织部管理员可以查看本支部的参评情况"
            in response.json()["message"]
        )
    other = await reviews.call("GET", "/members/rv-m2/results?year=2024", token_of("rv-m1"))
    assert other.status_code == 403
    assert "查看其他党员的评议结果" in other.json()["message"]
    for who in (token_of("rv-sec"), ADMIN):
        await reviews.ok("GET", f"/periods/{period_id}/turnout?branch={BRANCH}", who)
        await reviews.ok("GET", f"/branches/{BRANCH}/overview?period={period_id}", who)
    await reviews.ok("GET", "/members/rv-m1/results?year=2024", token_of("rv-m1"))
    unauthenticated = await reviews.call("GET", f"/periods/{period_id}", None)
    assert unauthenticated.status_code == 401


async def test_two_overlapping_periods_opened_at_once_leave_one(reviews: Reviews):
    def body(n: int, level: str, scope_id: str | None) -> dict[str, object]:
        return {
            "period_id": f"rp-race-{n}",
            "kind": "branch",
            "period": "H2",
            "year": 2024,
            "scope_level": level,
            "scope_id": scope_id,
        }

    first, second = await asyncio.gather(
        reviews.call("POST", "/periods", ADMIN, body(1, "unit", UNIT)),
        reviews.call("POST", "/periods", ADMIN, body(2, "branch", BRANCH)),
    )

    assert sorted([first.status_code, second.status_code]) == [201, 409]
    types = [item.event.type_name for item in await reviews.events()]
    assert types.count("ReviewPeriodOpened") == 1


async def test_every_read_needs_a_token(reviews: Reviews):
    """Nothing of a review is public: an unauthenticated read answers 401, whatever it is."""
    found = await reads_without_token(
        reviews.http,
        public={"/health/live", "/health/ready", "/metrics"},
        values={
            "{period_id}": "p",
            "{role}": "peer",
            "{code}": "AAAAA-AAAAA",
            "{member_id}": "rv-m1",
            "{branch_id}": BRANCH,
        },
    )
    assert {path: code for path, code in found.items() if code != 401} == {
        "/health/live": 200,
        "/health/ready": 200,
        "/metrics": 200,
    }
