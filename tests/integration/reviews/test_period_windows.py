"""Dated review periods over HTTP, on SQLite and PostgreSQL: the default window of each
review, ballots refused outside it with its dates (nothing appended), the window adjusted
with a reason, the years that may be opened, opening idempotent with ``Idempotency-Key``,
and unit committees organizing their own unit's periods."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared.auth import Principal, Role, TokenIssuer
from shared.contracts.pledges import UnitRegistered
from shared.settings import DEFAULT_SECRET
from tests.integration.reviews.conftest import (
    ADMIN,
    BRANCH,
    UNIT,
    YEAR,
    Reviews,
    token_of,
)

pytestmark = pytest.mark.integration

OTHER_UNIT = "rv-u9"


def unit_committee(unit: str = UNIT) -> str:
    principal = Principal(
        person_id="rv-unit-sec",
        name="二级党委书记",
        roles=frozenset({Role.UNIT_COMMITTEE}),
        unit_id=unit,
        branch_id=None,
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


def body(kind: str, period: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "period": period,
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": BRANCH,
        **extra,
    }


async def opened_types(reviews: Reviews) -> list[str]:
    return [
        item.envelope.type
        for item in await reviews.events()
        if item.envelope.type.startswith("ReviewPeriod")
    ]


@pytest.mark.parametrize(
    ("kind", "period", "opens_on", "closes_on", "label"),
    [
        ("peer", "Q1", "2024-01-01", "2024-03-31", "2024年1月1日至2024年3月31日"),
        ("peer", "Q2", "2024-04-01", "2024-06-30", "2024年4月1日至2024年6月30日"),
        ("peer", "Q3", "2024-07-01", "2024-09-30", "2024年7月1日至2024年9月30日"),
        ("peer", "Q4", "2024-10-01", "2024-12-31", "2024年10月1日至2024年12月31日"),
        ("mass", "H1", "2024-01-01", "2024-06-30", "2024年1月1日至2024年6月30日"),
        ("mass", "H2", "2024-07-01", "2024-12-31", "2024年7月1日至2024年12月31日"),
        ("branch", "H1", "2024-01-01", "2024-06-30", "2024年1月1日至2024年6月30日"),
        ("branch", "H2", "2024-07-01", "2024-12-31", "2024年7月1日至2024年12月31日"),
    ],
)
async def test_a_period_opens_with_its_quarter_or_half_year_as_window(
    reviews: Reviews, kind: str, period: str, opens_on: str, closes_on: str, label: str
) -> None:
    period_id = await reviews.open(kind, period)
    view = await reviews.ok("GET", f"/periods/{period_id}", ADMIN)
    assert (view["opens_on"], view["closes_on"], view["window"]) == (opens_on, closes_on, label)
    (event,) = [e.event for e in await reviews.events() if e.envelope.stream.endswith(period_id)]
    assert (str(event.opens_on), str(event.closes_on)) == (opens_on, closes_on)


async def test_ballots_before_and_after_the_window_are_refused_with_its_dates(
    reviews: Reviews,
) -> None:
    period_id = await reviews.open("peer", "Q2")  # the clock is in Q1
    before = await reviews.event_count()
    refused = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == (
        "本评议期投票时间为2024年4月1日至2024年6月30日，尚未开始，现在不能投票或修改选票"
    )
    reviews.now[0] = datetime(2024, 6, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 June in Beijing
    cast = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert cast.status_code == 200, cast.text
    after_cast = await reviews.event_count()
    assert after_cast == before + 1
    reviews.now[0] = datetime(2024, 6, 30, 16, 0, tzinfo=UTC)  # 00:00 on 1 July in Beijing
    for who in ("rv-m1", "rv-m3"):  # an amendment and a first ballot
        late = await reviews.cast(token_of(who), period_id, "peer", {"rv-m2": 80})
        assert late.status_code == 422, late.text
        assert "本评议期投票时间为2024年4月1日至2024年6月30日，已过" in late.json()["message"]
    assert await reviews.event_count() == after_cast


async def test_the_organizer_adjusts_the_window_with_a_reason(reviews: Reviews) -> None:
    period_id = await reviews.open("peer", "Q1", who=token_of("rv-sec"))
    reviews.now[0] = datetime(2024, 4, 5, 2, 0, tzinfo=UTC)
    late = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert late.status_code == 422 and "2024年1月1日至2024年3月31日" in late.json()["message"]
    before = await reviews.event_count()

    path = f"/periods/{period_id}/window"
    window = {"opens_on": "2024-01-01", "closes_on": "2024-04-10"}
    for reason in (None, "   "):
        refused = await reviews.call("POST", path, token_of("rv-sec"), {**window, "reason": reason})
        assert refused.status_code == 422, refused.text
        assert "请填写调整原因" in refused.json()["message"]
    other = await reviews.call("POST", path, token_of("rv-sec2"), {**window, "reason": "延长"})
    assert other.status_code == 403 and "只能调整本支部的评议期" in other.json()["message"]
    too_early = {"opens_on": "2023-12-01", "closes_on": "2024-04-10", "reason": "延长"}
    refused = await reviews.call("POST", path, token_of("rv-sec"), too_early)
    assert refused.status_code == 422
    assert "投票时间不能早于评议期本身开始的2024年1月1日" in refused.json()["message"]
    assert await reviews.event_count() == before

    reason = "清明节假期，延长投票至4月10日"
    answer = await reviews.ok("POST", path, token_of("rv-sec"), {**window, "reason": reason})
    assert answer["events"] == ["ReviewPeriodWindowAdjusted"]
    again = await reviews.ok("POST", path, token_of("rv-sec"), {**window, "reason": reason})
    assert again["events"] == []
    (adjusted,) = [
        e for e in await reviews.events() if e.envelope.type == "ReviewPeriodWindowAdjusted"
    ]
    assert adjusted.event.reason == reason
    assert adjusted.envelope.actor.ref == "rv-sec"
    view = await reviews.ok("GET", f"/periods/{period_id}", ADMIN)
    assert view["window"] == "2024年1月1日至2024年4月10日"
    cast = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert cast.status_code == 200, cast.text

    await reviews.ok("POST", f"/periods/{period_id}/close", token_of("rv-sec"))
    closed = await reviews.call("POST", path, token_of("rv-sec"), {**window, "reason": reason})
    assert closed.status_code == 409 and "不能再调整投票时间" in closed.json()["message"]


async def test_a_deadline_beyond_the_window_is_refused(reviews: Reviews) -> None:
    before = await reviews.event_count()
    late = body("peer", "Q1", deadline="2024-04-01T00:00:01+08:00")
    refused = await reviews.call("POST", "/periods", ADMIN, late)
    assert refused.status_code == 422
    assert "截止时间晚于投票时间（2024年1月1日至2024年3月31日）" in refused.json()["message"]
    assert await reviews.event_count() == before
    fits = body("peer", "Q1", deadline="2024-04-01T00:00:00+08:00")
    assert (await reviews.call("POST", "/periods", ADMIN, fits)).status_code == 201


async def test_an_explicit_window_is_given_at_opening(reviews: Reviews) -> None:
    explicit = body("mass", "H1", opens_on="2024-03-01", closes_on="2024-07-15")
    answer = await reviews.ok("POST", "/periods", ADMIN, explicit)
    view = await reviews.ok("GET", f"/periods/{answer['id']}", ADMIN)
    assert view["window"] == "2024年3月1日至2024年7月15日"
    half = body("branch", "H1", opens_on="2024-03-01")
    refused = await reviews.call("POST", "/periods", ADMIN, half)
    assert refused.status_code == 422 and "同时填写开始日和结束日" in refused.json()["message"]


@pytest.mark.parametrize(("year", "status"), [(2022, 422), (2023, 201), (2025, 201), (2026, 422)])
async def test_only_last_this_and_next_year_open(reviews: Reviews, year: int, status: int) -> None:
    before = await reviews.event_count()
    response = await reviews.call("POST", "/periods", ADMIN, body("peer", "Q4", year=year))
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["message"] == (
            f"只能开启去年、今年或明年的评议期（2023年至2025年），不能开启{year}年的评议期"
        )
        assert await reviews.event_count() == before


async def test_opening_is_idempotent_with_an_idempotency_key(reviews: Reviews) -> None:
    request = body("peer", "Q1")
    headers = {"Idempotency-Key": "open-q1-rv-b1"}
    first = await reviews.call("POST", "/periods", ADMIN, request, headers=headers)
    assert first.status_code == 201, first.text
    count = await reviews.event_count()
    again = await reviews.call("POST", "/periods", ADMIN, request, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert await reviews.event_count() == count
    assert await opened_types(reviews) == ["ReviewPeriodOpened"]

    other = await reviews.call("POST", "/periods", ADMIN, body("peer", "Q2"), headers=headers)
    assert other.status_code == 409
    assert "幂等键“open-q1-rv-b1”已用于另一个不同内容的请求" in other.json()["message"]
    # Without the key a retry is a second request, refused as the same slot.
    retried = await reviews.call("POST", "/periods", ADMIN, request)
    assert retried.status_code == 409
    # Keys are per person: another organizer's same key is their own.
    mine = await reviews.call(
        "POST",
        "/periods",
        token_of("rv-sec2"),
        body("peer", "Q1", scope_id="rv-b2"),
        headers=headers,
    )
    assert mine.status_code == 201, mine.text
    assert mine.json()["id"] != first.json()["id"]
    assert await reviews.event_count() == count + 1


async def test_a_unit_committee_organizes_its_own_units_periods(reviews: Reviews) -> None:
    committee = unit_committee()
    unit_body = body("mass", "H1", scope_level="unit", scope_id=UNIT)
    answer = await reviews.ok("POST", "/periods", committee, unit_body)
    period_id = answer["id"]
    window = {"opens_on": "2024-01-01", "closes_on": "2024-07-10", "reason": "与年中总结会同步"}
    adjusted = await reviews.ok("POST", f"/periods/{period_id}/window", committee, window)
    assert adjusted["events"] == ["ReviewPeriodWindowAdjusted"]
    closed = await reviews.ok("POST", f"/periods/{period_id}/close", committee)
    assert closed["events"][0] == "ReviewPeriodClosed"
    roles = {
        e.envelope.actor.role
        for e in await reviews.events()
        if e.envelope.stream == f"review-period-{period_id}"
    }
    assert roles == {"unit_committee"}


async def test_a_unit_committee_is_refused_other_scopes(reviews: Reviews) -> None:
    await reviews.feed(
        [(f"unit-{OTHER_UNIT}", UnitRegistered(unit_id=OTHER_UNIT, name="第二采油厂党委"))]
    )
    before = await reviews.event_count()
    cases = [
        (unit_committee(), body("peer", "Q1", scope_level="unit", scope_id=OTHER_UNIT)),
        (unit_committee(), body("peer", "Q1", scope_level="company", scope_id=None)),
        (unit_committee(), body("peer", "Q1")),
        (unit_committee(OTHER_UNIT), body("peer", "Q1", scope_level="unit", scope_id=UNIT)),
    ]
    for who, request in cases:
        response = await reviews.call("POST", "/periods", who, request)
        assert response.status_code == 403, response.text
        assert "二级党委只能开启本单位" in response.json()["message"]
    period_id = await reviews.open("peer", "Q2", scope_level="unit", scope_id=UNIT)
    window = {"opens_on": "2024-04-01", "closes_on": "2024-07-10", "reason": "延长"}
    for action, payload in (("window", window), ("close", None)):
        response = await reviews.call(
            "POST", f"/periods/{period_id}/{action}", unit_committee(OTHER_UNIT), payload
        )
        assert response.status_code == 403, response.text
        assert "二级党委只能" in response.json()["message"]
    assert await reviews.event_count() == before + 1
