"""Event payloads of the reviews service (DOMAIN.md section 3, "一卡四评").

Anonymity is part of this contract, not a convention: no payload here has a field that can
hold a reviewer's person id. A ballot names its reviewer only by ``reviewer_pseudonym``, a
keyed hash that is meaningless without the reviews service's per-period key, and the field
accepts nothing but such a hash, so a raw id cannot slip in by mistake. The rated members
are named by id: they are the subjects of the review, and their results are public.

Tallies, not ballots, leave the service (docs/privacy.md). Ballot events are *private*: they
are stored in the reviews service's own log and never published. What other services and
subscribers read of a period is its opening, its closing and, once closed, one
``MemberReviewed`` tally per member: counts and sums for groups large enough that no
reviewer's score can be solved for, and nothing else.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.contracts.events import Event
from shared.contracts.registry import event_type
from shared.contracts.scoring import (
    HALF_YEARS,
    QUARTERS,
    Period,
    Ref,
    ReviewKind,
    Score,
    UtcDatetime,
    Year,
)
from shared.labels import LabelledEnum

Pseudonym = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
"""A reviewer's keyed pseudonym: 64 lowercase hex digits (HMAC-SHA256)."""
Comment = Annotated[str, Field(min_length=1, max_length=500)]

REVIEW_KIND_LABELS: dict[ReviewKind, str] = {
    ReviewKind.PEER: "党员互评",
    ReviewKind.MASS: "群众评议",
    ReviewKind.BRANCH: "党支部评议",
}

PERIOD_LABELS: dict[Period, str] = {
    Period.Q1: "第一季度",
    Period.Q2: "第二季度",
    Period.Q3: "第三季度",
    Period.Q4: "第四季度",
    Period.H1: "上半年",
    Period.H2: "下半年",
}

PERIODS_OF_KIND: dict[ReviewKind, tuple[Period, ...]] = {
    ReviewKind.PEER: QUARTERS,
    ReviewKind.MASS: HALF_YEARS,
    ReviewKind.BRANCH: HALF_YEARS,
}
"""Peer reviews are held per quarter, mass and branch reviews per half-year."""


class ScopeLevel(LabelledEnum):
    """Whose members a review period covers."""

    COMPANY = "company", "全公司"
    UNIT = "unit", "二级党委"
    BRANCH = "branch", "党支部"


class BallotRole(LabelledEnum):
    """In which capacity a ballot is cast. The mass review has two: every employee of the
    branch rates all its members, and an employee paired with a member by an agreement also
    rates that member as the paired employee."""

    PEER = "peer", "党员互评"
    ALL_STAFF = "all_staff", "群众评议（全体员工）"
    PAIRED = "paired", "群众评议（结对员工）"
    BRANCH = "branch", "党支部评议"

    @property
    def kind(self) -> ReviewKind:
        return _ROLE_KINDS[self]


_ROLE_KINDS = {
    BallotRole.PEER: ReviewKind.PEER,
    BallotRole.ALL_STAFF: ReviewKind.MASS,
    BallotRole.PAIRED: ReviewKind.MASS,
    BallotRole.BRANCH: ReviewKind.BRANCH,
}


class ClosingReason(LabelledEnum):
    CLOSED_BY_ORGANIZER = "closed_by_organizer", "组织者结束评议"
    DEADLINE_PASSED = "deadline_passed", "已过截止时间"


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReviewScope(ValueObject):
    """The company, one unit, or one branch. A branch scope also names its unit, so that
    whether two scopes overlap can be decided from the scopes alone."""

    level: ScopeLevel
    unit_id: Ref | None
    branch_id: Ref | None

    @model_validator(mode="after")
    def _ids_fit_level(self) -> Self:
        expected = {
            ScopeLevel.COMPANY: (False, False),
            ScopeLevel.UNIT: (True, False),
            ScopeLevel.BRANCH: (True, True),
        }[self.level]
        if (self.unit_id is not None, self.branch_id is not None) != expected:
            raise ValueError(
                "评议范围不完整：二级党委范围须给出二级党委，党支部范围须给出党支部及其二级党委"
            )
        return self


class BallotScore(ValueObject):
    """One member's score on a ballot, with the reviewer's optional comment (for the branch
    review, the committee's assessment)."""

    member_id: Ref
    score: Score
    comment: Comment | None


@event_type("ReviewPeriodOpened", 1)
class ReviewPeriodOpened(Event):
    period_id: Ref
    kind: ReviewKind
    period: Period
    year: Year
    scope: ReviewScope
    deadline: UtcDatetime | None
    opens_on: date | None = Field(
        default=None,
        description="first day ballots are accepted (Beijing date); absent in events recorded "
        "before windows existed, which read as the period's default window",
    )
    closes_on: date | None = Field(
        default=None, description="last day ballots are accepted (Beijing date), inclusive"
    )

    @model_validator(mode="after")
    def _period_fits_kind(self) -> Self:
        if self.period not in PERIODS_OF_KIND[self.kind]:
            raise ValueError(f"{REVIEW_KIND_LABELS[self.kind]}没有{PERIOD_LABELS[self.period]}")
        if (self.opens_on is None) != (self.closes_on is None):
            raise ValueError("投票时间的开始日和结束日须同时给出")
        if self.opens_on is not None and self.closes_on is not None:
            _check_window(self.opens_on, self.closes_on)
        return self


def _check_window(opens_on: date, closes_on: date) -> None:
    if closes_on < opens_on:
        raise ValueError("投票时间的结束日不能早于开始日")


@event_type("ReviewPeriodWindowAdjusted", 1)
class ReviewPeriodWindowAdjusted(Event):
    """The organizer moved the days on which ballots are accepted, for the reason given; the
    new window replaces the earlier one whole."""

    period_id: Ref
    opens_on: date
    closes_on: date
    reason: Comment

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_window(self.opens_on, self.closes_on)
        return self


@event_type("ReviewPeriodClosed", 1)
class ReviewPeriodClosed(Event):
    """No ballot may be cast or amended in the period from now on; it never reopens."""

    period_id: Ref
    reason: ClosingReason


class _Ballot(Event):
    """A whole ballot as it now stands; the scores are sorted by member id so equal ballots
    have equal bytes."""

    period_id: Ref
    period: Period
    year: Year
    branch_id: Ref
    role: BallotRole
    reviewer_pseudonym: Pseudonym
    scores: tuple[BallotScore, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_score_per_member(self) -> Self:
        members = [entry.member_id for entry in self.scores]
        if members != sorted(set(members)):
            raise ValueError("选票中每名党员只能出现一次，并按党员编号排序")
        return self


@event_type("BallotCast", 1)
class BallotCast(_Ballot):
    """A reviewer's first ballot in a period, in one role. Private: never published."""

    private = True


@event_type("BallotAmended", 1)
class BallotAmended(_Ballot):
    """The reviewer cast again before the period closed: this ballot replaces the earlier
    one as a whole (a member left out now has no score from this reviewer). Private."""

    private = True


ANONYMOUS_GROUP_FLOOR = 3
"""No result of an anonymous group (peer reviewers, employees) is shown for fewer ballots,
whatever the policy says (DOMAIN.md section 3: "never below 3 for an anonymous group")."""


class TallyStatus(LabelledEnum):
    COUNTED = "counted", "已计入"
    INSUFFICIENT_BALLOTS = "insufficient_ballots", "票数不足，不计入"
    SINGLE_PART = "single_part", "缺少结对或全体员工评议，不计入"


def _cents(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError("分数合计必须是非负数，最多两位小数")
    return Decimal("0.00") if value.is_zero() else value.quantize(Decimal("0.01"))


class PartTally(ValueObject):
    """One part of a member's ballots in a period (the mass review's paired or all-staff
    part, or the whole of a peer or branch review), given on its own only when it has at
    least the minimum number of ballots. ``total`` is the exact sum of its scores."""

    role: BallotRole
    ballots: int = Field(ge=1)
    total: Annotated[Decimal, AfterValidator(_cents)]


@event_type("MemberReviewed", 1)
class MemberReviewed(Event):
    """A member's tally in a review period, recorded when the period closes (never before,
    and never again: a closed period is final).

    ``result`` is the period result under the policy ``policy_id`` (2 places, half up; for
    the mass review the two parts combined with the policy's paired share), present only
    when ``status`` is counted. ``parts`` are given only when every part with ballots has at
    least ``min_ballots`` of them, so a lone paired employee's score is never a figure of its
    own. ``satisfied`` (mass review) is how many scores reached ``satisfaction_threshold``,
    given only for a group of at least ``min_ballots``. ``branch_id`` is the branch the
    member belonged to when the period closed: the branch that reviewed them."""

    period_id: Ref
    kind: ReviewKind
    period: Period
    year: Year
    member_id: Ref
    branch_id: Ref
    policy_id: Ref
    min_ballots: int = Field(ge=1)
    ballots: int = Field(ge=0)
    status: TallyStatus
    result: Score | None
    parts: tuple[PartTally, ...]
    satisfied: int | None = Field(ge=0)
    satisfaction_threshold: Score | None

    @model_validator(mode="after")
    def _disclosure(self) -> Self:
        if self.period not in PERIODS_OF_KIND[self.kind]:
            raise ValueError(f"{REVIEW_KIND_LABELS[self.kind]}没有{PERIOD_LABELS[self.period]}")
        if (self.status is TallyStatus.COUNTED) != (self.result is not None):
            raise ValueError("只有计入的评议期才有结果")
        if self.ballots < self.min_ballots and (self.parts or self.satisfied is not None):
            raise ValueError("票数不足最少票数时不能给出分项或满意人数")
        if any(part.ballots < self.min_ballots for part in self.parts):
            raise ValueError("分项票数不足最少票数时不能单独给出")
        if any(part.role.kind is not self.kind for part in self.parts):
            raise ValueError("分项与评议类别不符")
        if self.parts and sum(part.ballots for part in self.parts) != self.ballots:
            raise ValueError("分项票数之和必须等于总票数")
        if (self.satisfied is None) != (self.satisfaction_threshold is None):
            raise ValueError("满意人数与满意标准必须同时给出")
        if self.satisfied is not None and (
            self.kind is not ReviewKind.MASS or self.satisfied > self.ballots
        ):
            raise ValueError("满意人数只用于群众评议，且不超过票数")
        return self
