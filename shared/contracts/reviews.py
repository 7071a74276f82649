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
    """Why a review period closed: its organizer ended it, or its deadline passed."""

    CLOSED_BY_ORGANIZER = "closed_by_organizer", "组织者结束评议"
    DEADLINE_PASSED = "deadline_passed", "已过截止时间"


class ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class ReviewScope(ValueObject):
    """The company, one unit, or one branch. A branch scope also names its unit, so that
    whether two scopes overlap can be decided from the scopes alone."""

    level: ScopeLevel
    """The scope's level (评议范围): the company, one unit, or one branch."""
    unit_id: Ref | None
    """The unit's id (二级党委编号) for a unit or branch scope; null for the company."""
    branch_id: Ref | None
    """The branch's id (党支部编号) for a branch scope; null otherwise."""

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
    """The rated party member's person id (党员编号)."""
    score: Score
    """The score given, 0 to 100 with at most two decimal places (a decimal string such as
    "87.50")."""
    comment: Comment | None
    """The reviewer's comment (评议意见), 1 to 500 characters; required in the branch review,
    optional otherwise."""


@event_type("ReviewPeriodOpened", 1, term="开启评议期")
class ReviewPeriodOpened(Event):
    """A review period was opened (开启评议期): one review (peer, mass or branch) for one
    quarter or half-year of a year, over a scope. Subscribers expect ballots for it, and its
    results only once it closes."""

    period_id: Ref
    """The review period's id (评议期编号)."""
    kind: ReviewKind
    """Which review (评议类型): peer review, mass review or branch review."""
    period: Period
    """The quarter (peer review) or half-year (mass and branch reviews) reviewed."""
    year: Year
    """The review year (年度)."""
    scope: ReviewScope
    """Whose members the period covers (评议范围): the company, a unit or a branch."""
    deadline: UtcDatetime | None
    """When the period closes by itself and is counted (截止时间), an instant in UTC; null
    when its organizer closes it."""
    opens_on: date | None = None
    """The first day ballots are accepted (投票开始日), Beijing date; null (or missing) in events
    recorded before windows existed, which read as the period's default window."""
    closes_on: date | None = None
    """The last day ballots are accepted (投票结束日), Beijing date, inclusive; null when
    ``opens_on`` is."""

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


@event_type("ReviewPeriodWindowAdjusted", 1, term="调整投票时间")
class ReviewPeriodWindowAdjusted(Event):
    """The organizer moved the days on which ballots are accepted, for the reason given; the
    new window replaces the earlier one whole."""

    period_id: Ref
    """The review period's id (评议期编号)."""
    opens_on: date
    """The new first day ballots are accepted (投票开始日), Beijing date."""
    closes_on: date
    """The new last day ballots are accepted (投票结束日), Beijing date, inclusive."""
    reason: Comment
    """Why the window was moved (调整原因), 1 to 500 characters."""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        _check_window(self.opens_on, self.closes_on)
        return self


@event_type("ReviewPeriodClosed", 1, term="结束评议期")
class ReviewPeriodClosed(Event):
    """A review period closed, ended by its organizer or because its deadline passed: no
    ballot may be cast or amended in the period from now on; it never reopens.

    The period's ``MemberReviewed`` tallies follow; until then nothing of its results is
    known outside the reviews service."""

    period_id: Ref
    """The review period's id (评议期编号)."""
    reason: ClosingReason
    """Why it closed: ended by its organizer, or its deadline passed."""


class _Ballot(Event):
    """A whole ballot as it now stands; the scores are sorted by member id so equal ballots
    have equal bytes."""

    period_id: Ref
    """The review period's id (评议期编号)."""
    period: Period
    """The quarter or half-year reviewed."""
    year: Year
    """The review year (年度)."""
    branch_id: Ref
    """The id of the reviewer's branch."""
    role: BallotRole
    """The capacity the ballot is cast in (评议身份): peer, all staff, paired employee or
    branch committee."""
    reviewer_pseudonym: Pseudonym
    """The reviewer's keyed pseudonym for this period: 64 lowercase hex digits (HMAC-SHA256),
    never a person id."""
    scores: tuple[BallotScore, ...] = Field(min_length=1)
    """The scores given, one per rated member, sorted by member id; at least one."""

    @model_validator(mode="after")
    def _one_score_per_member(self) -> Self:
        members = [entry.member_id for entry in self.scores]
        if members != sorted(set(members)):
            raise ValueError("选票中每名党员只能出现一次，并按党员编号排序")
        return self


@event_type("BallotCast", 1, term="投票")
class BallotCast(_Ballot):
    """A reviewer's first ballot in a period, in one role. Private: never published."""

    private = True


@event_type("BallotAmended", 1, term="修改选票")
class BallotAmended(_Ballot):
    """The reviewer cast again before the period closed: this ballot replaces the earlier
    one as a whole (a member left out now has no score from this reviewer). Private."""

    private = True


ANONYMOUS_GROUP_FLOOR = 3
"""No result of an anonymous group (peer reviewers, employees) is shown for fewer ballots,
whatever the policy says (DOMAIN.md section 3: "never below 3 for an anonymous group")."""


class TallyStatus(LabelledEnum):
    """Whether a member's tally in a period counts: counted, too few ballots, or (mass
    review) only one of its two parts has ballots and the policy does not count it alone."""

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
    """The capacity of the part's ballots (评议身份)."""
    ballots: int = Field(ge=1)
    """How many ballots rated the member in this part (票数)."""
    total: Annotated[Decimal, AfterValidator(_cents)]
    """The exact sum of the part's scores, non-negative, at most two decimal places (a
    decimal string such as "261.50")."""


@event_type("MemberReviewed", 1, term="党员评议结果")
class MemberReviewed(Event):
    """A member's tally in a review period, recorded when the period closes (never before,
    and never again: a closed period is final). Scoring takes a counted result into the
    member's card.

    ``result`` is the period result under the policy ``policy_id`` (2 places, half up; for
    the mass review the two parts combined with the policy's paired share), present only
    when ``status`` is counted. ``parts`` are given only when every part with ballots has at
    least ``min_ballots`` of them, so a lone paired employee's score is never a figure of its
    own. ``satisfied`` (mass review) is how many scores reached ``satisfaction_threshold``,
    given only for a group of at least ``min_ballots``. ``branch_id`` is the branch the
    member belonged to when the period closed: the branch that reviewed them."""

    period_id: Ref
    """The review period's id (评议期编号)."""
    kind: ReviewKind
    """Which review (评议类型): peer review, mass review or branch review."""
    period: Period
    """The quarter or half-year reviewed."""
    year: Year
    """The review year (年度)."""
    member_id: Ref
    """The reviewed party member's person id (党员编号)."""
    branch_id: Ref
    """The id of the branch that reviewed the member (theirs when the period closed)."""
    policy_id: Ref
    """The id of the scoring policy (评分办法编号) the tally was made under."""
    min_ballots: int = Field(ge=1)
    """The fewest ballots the policy requires for this review (最少有效票数)."""
    ballots: int = Field(ge=0)
    """How many ballots rated the member in the period (有效票数)."""
    status: TallyStatus
    """Whether the tally counts: counted, too few ballots, or one mass-review part missing."""
    result: Score | None
    """The period result (评议结果), 0 to 100 with two decimal places (a decimal string such
    as "87.50"); present only when ``status`` is counted."""
    parts: tuple[PartTally, ...]
    """The tally of each part with ballots; empty unless every such part has at least
    ``min_ballots`` ballots."""
    satisfied: int | None = Field(ge=0)
    """Mass review only: how many scores reached ``satisfaction_threshold`` (满意票数);
    null for a smaller group than ``min_ballots`` and in other reviews."""
    satisfaction_threshold: Score | None
    """The score from which a mass-review score counts as satisfied (满意分数线, 0 to 100);
    present exactly when ``satisfied`` is."""

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
