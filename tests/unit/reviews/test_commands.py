"""Commands refuse bad values before any state is read, naming the field in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.reviews.commands import CastBallot, OpenReviewPeriod, ScoreMember

pytestmark = pytest.mark.unit


def refusal(error: ValidationError) -> tuple[tuple[int | str, ...], str]:
    [detail] = error.errors()
    return detail["loc"], detail["msg"]


def open_period(**changes: Any) -> OpenReviewPeriod:
    values: dict[str, Any] = {
        "period_id": "RP-2024-peer-Q1",
        "kind": "peer",
        "period": "Q1",
        "year": 2024,
        "scope_level": "branch",
        "scope_id": "B-JB",
    }
    return OpenReviewPeriod(**(values | changes))


def line(score: str, member_id: str = "P-1002", comment: str | None = None) -> ScoreMember:
    return ScoreMember(member_id=member_id, score=Decimal(score), comment=comment)


@pytest.mark.parametrize(
    ("kind", "period", "message"),
    [
        ("peer", "H1", "党员互评只能按第一季度、第二季度、第三季度、第四季度开启"),
        ("mass", "Q2", "群众评议只能按上半年、下半年开启"),
        ("branch", "Q4", "党支部评议只能按上半年、下半年开启"),
    ],
)
def test_a_period_must_fit_its_review(kind: str, period: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(kind=kind, period=period)
    assert refusal(refused.value) == ((), message)


@pytest.mark.parametrize(("kind", "period"), [("peer", "Q3"), ("mass", "H2"), ("branch", "H1")])
def test_each_review_opens_for_its_own_periods(kind: str, period: str) -> None:
    assert open_period(kind=kind, period=period).period == period


def test_a_unit_or_branch_scope_needs_its_id() -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(scope_level="unit", scope_id="")
    assert refusal(refused.value) == ((), "请填写评议范围编号（二级党委编号）")


def test_the_company_scope_takes_no_id() -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(scope_level="company", scope_id="U-GY")
    assert refusal(refused.value) == ((), "全公司范围的评议期不填写评议范围编号")


def test_a_deadline_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(deadline=datetime(2024, 3, 31, 18, 0))
    assert refusal(refused.value) == (("deadline",), "截止时间须带时区，例如 +08:00")


def test_a_deadline_is_kept_in_utc() -> None:
    beijing = timezone(timedelta(hours=8))
    command = open_period(deadline=datetime(2024, 3, 31, 18, 0, tzinfo=beijing))
    assert command.deadline == datetime(2024, 3, 31, 10, 0, tzinfo=UTC)
    assert command.deadline is not None and command.deadline.tzinfo is UTC


def test_a_malformed_id_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(period_id="评议 1")
    loc, message = refusal(refused.value)
    assert loc == ("period_id",)
    assert message.startswith("评议期编号格式不正确")


def test_a_year_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        open_period(year=1999)
    assert refusal(refused.value) == (("year",), "年度须在2000年到2100年之间")


@pytest.mark.parametrize("score", ["-0.01", "100.01", "250", "NaN", "Infinity"])
def test_a_score_outside_0_to_100_is_refused(score: str) -> None:
    with pytest.raises(ValidationError) as refused:
        line(score)
    assert refusal(refused.value) == (("score",), "评分须在0到100分之间")


def test_a_score_has_at_most_two_decimals() -> None:
    with pytest.raises(ValidationError) as refused:
        line("89.555")
    assert refusal(refused.value) == (("score",), "评分最多保留两位小数")


@pytest.mark.parametrize(("given", "kept"), [("0", "0.00"), ("100", "100.00"), ("88.5", "88.50")])
def test_scores_on_the_boundaries_are_accepted_with_two_places(given: str, kept: str) -> None:
    assert str(line(given).score) == kept


def test_a_negative_zero_score_is_plain_zero() -> None:
    assert str(line("-0").score) == "0.00"


def test_a_blank_comment_is_no_comment_and_a_comment_is_trimmed() -> None:
    assert line("90", comment="   ").comment is None
    assert line("90", comment=" 服务热情 ").comment == "服务热情"


def test_an_overlong_comment_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        line("90", comment="好" * 501)
    assert refusal(refused.value) == (("comment",), "评议意见不能超过500个字")


def ballot(*lines: ScoreMember) -> CastBallot:
    return CastBallot(period_id="RP-1", reviewer_id="P-1001", role="peer", scores=lines)


def test_an_empty_ballot_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        ballot()
    assert refusal(refused.value) == (("scores",), "评分至少填写一名党员")


def test_a_member_may_appear_only_once_on_a_ballot() -> None:
    with pytest.raises(ValidationError) as refused:
        ballot(line("90"), line("80"))
    assert refusal(refused.value) == (
        ("scores",),
        "党员“P-1002”在选票中出现了两次，每名党员只能评一次",
    )
