"""Event payloads of the scoring service and the value objects they embed.

Scores are ``Decimal`` normalised to exactly two decimal places (70.5 is stored as "70.50"):
pydantic writes a ``Decimal`` as a JSON string, so an event's bytes, and a replay of it, are
the same on every machine. No model here has a default for a domain value: a default would
silently give an old event a meaning it never had once the default changed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.contracts.events import Event
from shared.contracts.registry import event_type

_CENT = Decimal("0.01")


class ReviewKind(StrEnum):
    """The three reviews of "一卡四评" that make the composite: peer review (党员互评), mass
    review (群众评议) and branch review (党支部评议)."""

    PEER = "peer"
    MASS = "mass"
    BRANCH = "branch"


class Period(StrEnum):
    """Review periods: peer reviews are quarterly, mass and branch reviews half-yearly."""

    Q1 = "Q1"
    Q2 = "Q2"
    Q3 = "Q3"
    Q4 = "Q4"
    H1 = "H1"
    H2 = "H2"


QUARTERS = (Period.Q1, Period.Q2, Period.Q3, Period.Q4)
HALF_YEARS = (Period.H1, Period.H2)


class Band(StrEnum):
    """Composite bands, most severe first (DOMAIN.md section 3)."""

    UNQUALIFIED = "unqualified"
    YELLOW_CARD = "yellow_card"
    CRITICISM = "criticism"
    NO_AWARDS = "no_awards"
    GOOD_STANDING = "good_standing"


class ObjectionOutcome(StrEnum):
    """The decision on an objection: the published result is confirmed (维持原结果) or
    adjusted (调整结果)."""

    CONFIRMED = "confirmed"
    ADJUSTED = "adjusted"


def _score(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 100:
        raise ValueError("分数必须在 0 到 100 之间")
    if value != value.quantize(_CENT):
        raise ValueError("分数最多保留两位小数")
    # A negative zero would serialise as "-0.00" and break byte-identical replays.
    return Decimal("0.00") if value.is_zero() else value.quantize(_CENT)


def _weight(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0 or value > 1:
        raise ValueError("权重必须大于 0 且不超过 100%")
    if value != value.quantize(Decimal("0.0001")):
        raise ValueError("权重最多精确到 0.01%")
    return value


def _reason(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("理由不能为空")
    if len(value) > 500:
        raise ValueError("理由不能超过 500 字")
    return value


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("时间必须带时区（UTC）")
    return value.astimezone(UTC)


Score = Annotated[Decimal, AfterValidator(_score)]
"""A score on the 100-point scale, 0 to 100, exactly two decimal places."""
Weight = Annotated[Decimal, AfterValidator(_weight)]
"""A share in (0, 1], e.g. 0.30 for 30%."""
Reason = Annotated[str, AfterValidator(_reason)]
Ref = Annotated[str, Field(min_length=1, max_length=64)]
Year = Annotated[int, Field(ge=2000, le=2100)]
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


def _percent(share: Decimal) -> str:
    """A share as a readable percentage for messages: 0.95 -> "95"."""
    return f"{(share * 100).normalize():f}"


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ReviewWeights(ValueObject):
    """Weight of each review's annual result in the composite; they sum to exactly 1."""

    peer: Weight
    """The peer review's weight (党员互评权重), a share in (0, 1] with at most four decimal
    places, e.g. "0.30" for 30%."""
    mass: Weight
    """The mass review's weight (群众评议权重), a share in (0, 1], e.g. "0.40"."""
    branch: Weight
    """The branch review's weight (党支部评议权重), a share in (0, 1], e.g. "0.30"."""

    @model_validator(mode="after")
    def _sum_to_one(self) -> Self:
        total = self.peer + self.mass + self.branch
        if total != 1:
            raise ValueError(f"三项评议权重之和必须为 100%，当前为 {_percent(total)}%")
        return self

    def of(self, review: ReviewKind) -> Decimal:
        return {
            ReviewKind.PEER: self.peer,
            ReviewKind.MASS: self.mass,
            ReviewKind.BRANCH: self.branch,
        }[review]


class BandThresholds(ValueObject):
    """Upper bounds (exclusive) of the bands; a composite at or above the last is good."""

    unqualified_below: Score
    """A composite below this is an unqualified member (不合格党员); 0 to 100, two decimal
    places."""
    yellow_card_below: Score
    """A composite below this gets an internal notice, the "yellow card" (党内通报，亮黄牌)."""
    criticism_below: Score
    """A composite below this gets intra-party criticism (党内批评)."""
    no_awards_below: Score
    """A composite below this is not eligible for next year's awards
    (不能参加下一年度创先争优评选); at or above it is good standing."""

    @model_validator(mode="after")
    def _strictly_increasing(self) -> Self:
        bounds = (
            self.unqualified_below,
            self.yellow_card_below,
            self.criticism_below,
            self.no_awards_below,
        )
        if bounds[0] <= 0 or any(low >= high for low, high in pairwise(bounds)):
            raise ValueError(
                "分档界限必须大于 0 且依次递增：不合格 < 亮黄牌 < 党内批评 < 不能参评创先争优"
            )
        return self


class BallotMinimums(ValueObject):
    """Fewest ballots a review period needs for its result to count and be shown."""

    peer: int
    """The fewest ballots a member's peer-review period result needs (1 to 1000)."""
    mass: int
    """The fewest ballots a member's mass-review period result needs (1 to 1000)."""
    branch: int
    """The fewest ballots a member's branch-review period result needs (1 to 1000)."""

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if (
            min(self.peer, self.mass, self.branch) < 1
            or max(self.peer, self.mass, self.branch) > 1000
        ):
            raise ValueError("每期最少票数必须在 1 到 1000 之间")
        return self

    def of(self, review: ReviewKind) -> int:
        return {
            ReviewKind.PEER: self.peer,
            ReviewKind.MASS: self.mass,
            ReviewKind.BRANCH: self.branch,
        }[review]


class ScoringPolicy(ValueObject):
    """How a year's cards are scored. Adopted as data (an event), so replays are exact.

    ``mass_paired_share`` is the share of the paired employees' part in a mass-review period
    when both parts have ballots (the all-staff part has the rest). When only one part has
    ballots, ``mass_single_part_counts`` says whether that part alone is the period result.
    """

    weights: ReviewWeights
    """Each review's weight in the composite (四评权重); they sum to exactly 1."""
    bands: BandThresholds
    """The composite's band thresholds (档次分数线)."""
    min_ballots: BallotMinimums
    """The fewest ballots per review for a period result to count and be shown (最少有效票数)."""
    mass_paired_share: Decimal
    """The paired employees' share of a mass-review period result when both parts have ballots
    (结对员工评议所占比例), strictly between 0 and 1, e.g. "0.50"."""
    mass_single_part_counts: bool
    """Whether a mass-review period with ballots in only one part has that part as its
    result; when false such a period does not count."""
    satisfaction_threshold: Score
    """The score from which a mass-review score counts as satisfied (满意分数线), 0 to 100."""
    probationary_members_vote: bool
    """Whether probationary members (预备党员) cast peer-review ballots."""
    notice_days: int
    """How many days the published results stay open to objections (公示天数), 1 to 30."""

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        share = self.mass_paired_share
        if not share.is_finite() or not 0 < share < 1:
            raise ValueError("结对群众评议所占比例必须大于 0 且小于 100%")
        if not 1 <= self.notice_days <= 30:
            raise ValueError("公示期必须在 1 到 30 天之间")
        return self


SEED_POLICY = ScoringPolicy(
    weights=ReviewWeights(peer=Decimal("0.30"), mass=Decimal("0.40"), branch=Decimal("0.30")),
    bands=BandThresholds(
        unqualified_below=Decimal("60"),
        yellow_card_below=Decimal("75"),
        criticism_below=Decimal("85"),
        no_awards_below=Decimal("95"),
    ),
    # The branch review is given by the branch committee, or by the secretary alone in a
    # branch too small to have a committee: its reviewers are known, so a minimum that
    # protects anonymity would only leave small branches without a composite.
    min_ballots=BallotMinimums(peer=3, mass=3, branch=1),
    mass_paired_share=Decimal("0.50"),
    mass_single_part_counts=True,
    satisfaction_threshold=Decimal("60"),
    probationary_members_vote=False,
    notice_days=7,
)
"""The seed's policy (DOMAIN.md), in force for a year until another is adopted; shared by
every service that applies policy (reviews: who votes and when a result shows; scoring)."""


@event_type("ScoringPolicyAdopted", 1, term="通过评分办法")
class ScoringPolicyAdopted(Event):
    """The organization department adopted a scoring policy (评分办法) for a year: weights,
    bands, ballot minimums and the other policy values. It replaces the year's earlier policy,
    and the year's cards are scored under it from now on."""

    year: Year
    """The year the policy is for (年度)."""
    policy_id: Ref
    """The policy's id (评分办法编号), e.g. 2026-v2."""
    policy: ScoringPolicy
    """The policy's values."""


class MemberResult(ValueObject):
    """A member's published result. No composite means reviews are missing, never zero."""

    member_id: Ref
    """The party member's person id (党员编号)."""
    composite: Score | None
    """The composite (综合得分), 0 to 100 with two decimal places (a decimal string such as
    "87.50"); null when a review's results are missing."""
    band: Band | None
    """The composite's band (档次); present exactly when ``composite`` is."""
    missing: tuple[ReviewKind, ...]
    """The reviews without a result for the year (缺少的评议); empty when there is a
    composite."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.composite is None) != (self.band is None):
            raise ValueError("综合得分与档次必须同时给出或同时为空")
        if self.composite is None and not self.missing:
            raise ValueError("没有综合得分时必须说明缺少哪项评议")
        if self.composite is not None and self.missing:
            raise ValueError("有综合得分时不应列出缺少的评议")
        return self


class FinalMemberResult(MemberResult):
    """A member's final result for the year, and whether an objection changed it."""

    adjusted: bool
    """Whether the committee changed the published result after an objection."""


def _unique_members(results: tuple[MemberResult, ...]) -> None:
    ids = [result.member_id for result in results]
    if len(ids) != len(set(ids)):
        raise ValueError("同一党员的结果只能出现一次")


@event_type("BranchResultsPublished", 1, term="公示评议结果")
class BranchResultsPublished(Event):
    """The branch committee made the year's results public; objections are open until
    ``notice_ends_at`` (exclusive). ``bands`` are the thresholds the bands came from, so an
    adjustment during the notice period is banded the same way."""

    branch_id: Ref
    """The id of the branch whose results are published (党支部编号)."""
    year: Year
    """The review year (年度)."""
    policy_id: Ref
    """The id of the scoring policy (评分办法编号) the results were computed under."""
    bands: BandThresholds
    """The band thresholds the bands came from."""
    notice_starts_at: UtcDatetime
    """When the notice period (公示期) starts, an instant in UTC."""
    notice_ends_at: UtcDatetime
    """When the notice period ends (exclusive), an instant in UTC; objections close then."""
    results: tuple[MemberResult, ...]
    """Each member's published result, at most one per member."""

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.notice_ends_at <= self.notice_starts_at:
            raise ValueError("公示期结束时间必须晚于开始时间")
        _unique_members(self.results)
        return self


@event_type("ResultObjectionRaised", 1, term="提出异议")
class ResultObjectionRaised(Event):
    """A member objected to their own published result during the notice period (提出异议);
    the results cannot be finalized until the objection is decided."""

    branch_id: Ref
    """The id of the branch whose published results are objected to."""
    year: Year
    """The review year (年度)."""
    objection_id: Ref
    """The objection's id (异议编号)."""
    member_id: Ref
    """The person id of the member whose result it is, who raised the objection (党员编号)."""
    reason: Reason
    """The member's reason (异议理由), 1 to 500 characters."""


@event_type("ResultObjectionDecided", 1, term="异议决定")
class ResultObjectionDecided(Event):
    """The committee's decision on an objection; ``result`` is the member's result after it.

    Decided by another committee member or the unit committee, never by the member concerned.
    An adjusted result replaces the published one (subscribers show it)."""

    branch_id: Ref
    """The id of the branch whose results were objected to."""
    year: Year
    """The review year (年度)."""
    objection_id: Ref
    """The id of the objection decided (异议编号)."""
    outcome: ObjectionOutcome
    """The decision: confirmed (维持原结果) or adjusted (调整结果)."""
    reason: Reason | None
    """The reason for the decision (调整原因), 1 to 500 characters; required when adjusted."""
    result: MemberResult
    """The member's result after the decision."""

    @model_validator(mode="after")
    def _adjustment_explained(self) -> Self:
        if self.outcome is ObjectionOutcome.ADJUSTED and (
            self.reason is None or self.result.composite is None
        ):
            raise ValueError("调整结果必须给出理由和新的综合得分")
        return self


@event_type("YearResultsFinalized", 1, term="评议结果定稿")
class YearResultsFinalized(Event):
    """The branch's results for the year are final; awards and HR act on these.

    Recorded once the notice period is over and every objection is decided (by the committee,
    or by the scheduler); nothing of the year's results changes after it."""

    branch_id: Ref
    """The id of the branch whose results are final (党支部编号)."""
    year: Year
    """The review year (年度)."""
    policy_id: Ref
    """The id of the scoring policy (评分办法编号) the results were computed under."""
    results: tuple[FinalMemberResult, ...]
    """Each member's final result, at most one per member, sorted by member id."""

    @model_validator(mode="after")
    def _valid(self) -> Self:
        _unique_members(self.results)
        return self
