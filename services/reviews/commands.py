"""Commands of the reviews service: what someone asks the domain to do.

Each command validates its own values, so a bad value is refused before any state is read,
with a Chinese message that names the field. Rules that need state or the roster (who may
rate whom, whether the period is still open) are the domain's, in ``services.reviews.domain``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.contracts.reviews import (
    PERIOD_LABELS,
    PERIODS_OF_KIND,
    REVIEW_KIND_LABELS,
    BallotRole,
    ScopeLevel,
)
from shared.contracts.scoring import Period, ReviewKind
from shared.text import text_problem, typed

_LABELS = {
    "period_id": "评议期编号",
    "reviewer_id": "评议人编号",
    "member_id": "被评议党员编号",
    "scope_id": "评议范围编号",
}

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_CENT = Decimal("0.01")
_MAX_SCORES = 500


def _label(info: ValidationInfo) -> str:
    field = info.field_name or ""
    return _LABELS.get(field, field)


def _ref(value: str, info: ValidationInfo) -> str:
    if not _REF.fullmatch(value):
        raise PydanticCustomError(
            "bad_ref",
            "{label}格式不正确：只能由字母、数字和 - _ . : 组成，最长64个字符",
            {"label": _label(info)},
        )
    return value


def _year(value: int) -> int:
    if not 2000 <= value <= 2100:
        raise PydanticCustomError("bad_year", "年度须在2000年到2100年之间", {})
    return value


def _score(value: Decimal) -> Decimal:
    if not value.is_finite() or not 0 <= value <= 100:
        raise PydanticCustomError("score_out_of_range", "评分须在0到100分之间", {})
    if value != value.quantize(_CENT):
        raise PydanticCustomError("score_too_precise", "评分最多保留两位小数", {})
    # One spelling per value (90 and 90.0 are both "90.00"), and never "-0.00".
    return Decimal("0.00") if value.is_zero() else value.quantize(_CENT)


def _comment(value: str) -> str:
    text = typed(value)
    if len(text) > 500:
        raise PydanticCustomError("text_too_long", "评议意见不能超过500个字", {})
    if (problem := text_problem(text)) is not None:
        raise PydanticCustomError("unsafe_text", "评议意见{problem}", {"problem": problem})
    return text


def _reason(value: str) -> str:
    text = typed(value)
    if not text:
        raise PydanticCustomError("reason_missing", "请填写调整原因", {})
    if len(text) > 500:
        raise PydanticCustomError("text_too_long", "调整原因不能超过500个字", {})
    if (problem := text_problem(text)) is not None:
        raise PydanticCustomError("unsafe_text", "调整原因{problem}", {"problem": problem})
    return text


def _blank_to_none(value: Any) -> Any:
    # Forms send an empty string for an optional field left empty.
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("naive_datetime", "截止时间须带时区，例如 +08:00", {})
    return value.astimezone(UTC)


Ref = Annotated[str, AfterValidator(_ref)]
OptionalRef = Annotated[Ref | None, BeforeValidator(_blank_to_none)]
Year = Annotated[int, AfterValidator(_year)]
# Non-finite values reach `_score`, so every bad score gets the same Chinese message.
ScoreValue = Annotated[Decimal, Field(allow_inf_nan=True), AfterValidator(_score)]
Comment = Annotated[str, AfterValidator(_comment)]
OptionalComment = Annotated[Comment | None, BeforeValidator(_blank_to_none)]
AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
OptionalDate = Annotated[date | None, BeforeValidator(_blank_to_none)]
Reason = Annotated[str, AfterValidator(_reason)]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenReviewPeriod(Command):
    """Open a review period: a review, its quarter or half-year, a year and a scope.

    ``scope_id`` is the unit's or the branch's id; the company scope has none.
    """

    period_id: Ref
    kind: ReviewKind
    period: Period
    year: Year
    scope_level: ScopeLevel
    scope_id: OptionalRef = None
    deadline: AwareDatetime | None = None
    # The window of days ballots are accepted on; both or neither (then the period's own).
    opens_on: OptionalDate = None
    closes_on: OptionalDate = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.opens_on is None) != (self.closes_on is None):
            raise PydanticCustomError(
                "window_incomplete",
                "投票时间须同时填写开始日和结束日，或都不填（按评议期本身）",
                {},
            )
        _window_ordered(self.opens_on, self.closes_on)
        allowed = PERIODS_OF_KIND[self.kind]
        if self.period not in allowed:
            raise PydanticCustomError(
                "period_does_not_fit_kind",
                "{kind}只能按{periods}开启",
                {
                    "kind": REVIEW_KIND_LABELS[self.kind],
                    "periods": "、".join(PERIOD_LABELS[period] for period in allowed),
                },
            )
        if self.scope_level is ScopeLevel.COMPANY and self.scope_id is not None:
            raise PydanticCustomError(
                "scope_id_not_expected", "全公司范围的评议期不填写评议范围编号", {}
            )
        if self.scope_level is not ScopeLevel.COMPANY and self.scope_id is None:
            raise PydanticCustomError(
                "scope_id_missing",
                "请填写评议范围编号（{level}编号）",
                {"level": self.scope_level.label},
            )
        return self


class AdjustPeriodWindow(Command):
    """Move the days a period accepts ballots on; the reason is recorded with the change."""

    period_id: Ref
    opens_on: date
    closes_on: date
    reason: Reason

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _window_ordered(self.opens_on, self.closes_on)
        return self


def _window_ordered(opens_on: date | None, closes_on: date | None) -> None:
    if opens_on is not None and closes_on is not None and closes_on < opens_on:
        raise PydanticCustomError("window_reversed", "投票时间的结束日不能早于开始日", {})


class CloseReviewPeriod(Command):
    period_id: Ref


class ScoreMember(Command):
    """One line of a ballot: the member rated, the score, and an optional comment."""

    member_id: Ref
    score: ScoreValue
    comment: OptionalComment = None


class CastBallot(Command):
    """Cast a ballot, or replace one's earlier ballot in the same period and role.

    ``reviewer_id`` is the authenticated person, filled in by the service from the token,
    never taken from the request body. It stays inside the service: the events carry the
    reviewer's pseudonym instead.
    """

    period_id: Ref
    reviewer_id: Ref
    role: BallotRole
    scores: tuple[ScoreMember, ...]

    @field_validator("scores")
    @classmethod
    def _one_line_per_member(cls, value: tuple[ScoreMember, ...]) -> tuple[ScoreMember, ...]:
        if not value:
            raise PydanticCustomError("no_scores", "评分至少填写一名党员", {})
        if len(value) > _MAX_SCORES:
            raise PydanticCustomError(
                "too_many_scores", "一张选票最多评议{limit}名党员", {"limit": _MAX_SCORES}
            )
        seen: set[str] = set()
        for line in value:
            if line.member_id in seen:
                raise PydanticCustomError(
                    "member_repeated",
                    "党员“{member}”在选票中出现了两次，每名党员只能评一次",
                    {"member": line.member_id},
                )
            seen.add(line.member_id)
        return value
