"""The points card's numbers: period results, annual review results, composite and band.

Rules (DOMAIN.md section 3, under the policy in force):
- A period's result is the average of the scores given in it (one final score per reviewer:
  amendments are resolved by the caller). A period with fewer ballots than the policy's
  minimum for that review has no result: it is shown as "票数不足" and does not count.
- Mass review: the paired employees' part and the all-staff part are averaged separately and
  combined with ``mass_paired_share`` when both have ballots; when only one has, it is the
  period result if ``mass_single_part_counts``. The minimum applies to the period's ballots
  of both parts together, because the paired part alone rarely has more than one or two.
- A review's annual result is the average of its counted period results; without any it is
  missing. The composite is the weighted sum of the three annual results, and a member
  missing any review has no composite and the card lists what is missing (never a zero).
- Rounding: see ``rounding`` (2 places, half up, each shown figure from the shown ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Self

from pydantic import BaseModel, ConfigDict, model_validator

from services.scoring.domain.bands import BandOutcome, band_for
from services.scoring.domain.policy import AdoptedPolicy
from services.scoring.domain.rounding import mean, round_half_up
from shared.contracts.scoring import HALF_YEARS, QUARTERS, Period, ReviewKind, Score

REVIEW_LABELS: dict[ReviewKind, str] = {
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

REVIEW_PERIODS: dict[ReviewKind, tuple[Period, ...]] = {
    ReviewKind.PEER: QUARTERS,
    ReviewKind.MASS: HALF_YEARS,
    ReviewKind.BRANCH: HALF_YEARS,
}

_ORDER = {period: index for index, period in enumerate(Period)}

Ballots = Mapping[Period, tuple[Score, ...]]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemberScores(_Frozen):
    """One member's final scores for one year, per review and period. A period absent here
    was not held (yet) and is not shown; a period present with no scores had no ballots."""

    peer: Ballots = {}
    mass_paired: Ballots = {}
    mass_all_staff: Ballots = {}
    branch: Ballots = {}

    @model_validator(mode="after")
    def _periods_fit_reviews(self) -> Self:
        for name, ballots, review in (
            ("peer", self.peer, ReviewKind.PEER),
            ("mass_paired", self.mass_paired, ReviewKind.MASS),
            ("mass_all_staff", self.mass_all_staff, ReviewKind.MASS),
            ("branch", self.branch, ReviewKind.BRANCH),
        ):
            allowed = REVIEW_PERIODS[review]
            wrong = [period for period in ballots if period not in allowed]
            if wrong:
                names = "、".join(PERIOD_LABELS[p] for p in allowed)
                raise ValueError(f"{REVIEW_LABELS[review]}（{name}）只按{names}进行")
        return self

    def mass_scores(self) -> tuple[Decimal, ...]:
        """Every mass-review score of the year, both parts (for the satisfaction rate)."""
        return tuple(
            score
            for part in (self.mass_paired, self.mass_all_staff)
            for scores in part.values()
            for score in scores
        )


class PeriodStatus(StrEnum):
    COUNTED = "counted"
    INSUFFICIENT_BALLOTS = "insufficient_ballots"
    SINGLE_PART = "single_part"
    """Mass review only: one part had no ballots and the policy needs both."""
    OPEN = "open"
    """The period is still open: sealed, so no figure of it exists yet (not even a count)."""


PERIOD_STATUS_LABELS: dict[PeriodStatus, str] = {
    PeriodStatus.COUNTED: "已计入",
    PeriodStatus.INSUFFICIENT_BALLOTS: "票数不足，不计入",
    PeriodStatus.SINGLE_PART: "缺少结对或全体员工评议，不计入",
    PeriodStatus.OPEN: "评议进行中",
}


class PeriodResult(_Frozen):
    period: Period
    ballots: int | None
    """None while the period is open."""
    status: PeriodStatus
    result: Decimal | None
    paired_ballots: int | None = None
    """Mass review only, as is ``all_staff_ballots``."""
    all_staff_ballots: int | None = None


class ReviewResult(_Frozen):
    review: ReviewKind
    weight: Decimal
    min_ballots: int
    periods: tuple[PeriodResult, ...]
    annual: Decimal | None


class CardResult(_Frozen):
    policy_id: str
    peer: ReviewResult
    mass: ReviewResult
    branch: ReviewResult
    composite: Decimal | None
    band: BandOutcome | None
    missing: tuple[ReviewKind, ...]

    @property
    def reviews(self) -> tuple[ReviewResult, ReviewResult, ReviewResult]:
        return (self.peer, self.mass, self.branch)

    @property
    def missing_labels(self) -> tuple[str, ...]:
        return tuple(f"缺少{REVIEW_LABELS[review]}结果" for review in self.missing)


def compute_card(scores: MemberScores, adopted: AdoptedPolicy) -> CardResult:
    """The card from a member's individual scores: the reference the tallies are checked
    against (the service itself never sees a ballot, see ``card_from_periods``)."""
    policy = adopted.policy
    return card_from_periods(
        {
            ReviewKind.PEER: _simple_periods(scores.peer, policy.min_ballots.peer),
            ReviewKind.MASS: _mass_periods(scores, adopted),
            ReviewKind.BRANCH: _simple_periods(scores.branch, policy.min_ballots.branch),
        },
        adopted,
    )


def card_from_periods(
    periods: Mapping[ReviewKind, Sequence[PeriodResult]], adopted: AdoptedPolicy
) -> CardResult:
    """The card from each review's period results (the reviews service's tallies of closed
    periods, and the open periods as such): annual results, composite and band."""
    policy = adopted.policy
    peer, mass, branch = (
        _review(kind, sorted(periods.get(kind, ()), key=lambda p: _ORDER[p.period]), adopted)
        for kind in (ReviewKind.PEER, ReviewKind.MASS, ReviewKind.BRANCH)
    )
    reviews = (peer, mass, branch)
    missing = tuple(review.review for review in reviews if review.annual is None)
    composite: Decimal | None = None
    band: BandOutcome | None = None
    if not missing:
        weighted = (
            Fraction(review.weight) * Fraction(review.annual)
            for review in reviews
            if review.annual is not None
        )
        composite = round_half_up(sum(weighted, Fraction(0)))
        band = band_for(composite, policy.bands)
    return CardResult(
        policy_id=adopted.policy_id,
        peer=peer,
        mass=mass,
        branch=branch,
        composite=composite,
        band=band,
        missing=missing,
    )


def _review(
    review: ReviewKind, periods: Sequence[PeriodResult], adopted: AdoptedPolicy
) -> ReviewResult:
    counted = [p.result for p in periods if p.result is not None]
    return ReviewResult(
        review=review,
        weight=adopted.policy.weights.of(review),
        min_ballots=adopted.policy.min_ballots.of(review),
        periods=tuple(periods),
        annual=round_half_up(mean(counted)) if counted else None,
    )


def _simple_periods(ballots: Ballots, minimum: int) -> list[PeriodResult]:
    results = []
    for period in sorted(ballots, key=_ORDER.__getitem__):
        scores = ballots[period]
        enough = len(scores) >= minimum
        results.append(
            PeriodResult(
                period=period,
                ballots=len(scores),
                status=PeriodStatus.COUNTED if enough else PeriodStatus.INSUFFICIENT_BALLOTS,
                result=round_half_up(mean(scores)) if enough else None,
            )
        )
    return results


def _mass_periods(scores: MemberScores, adopted: AdoptedPolicy) -> list[PeriodResult]:
    policy = adopted.policy
    share = Fraction(policy.mass_paired_share)
    results = []
    for period in sorted({*scores.mass_paired, *scores.mass_all_staff}, key=_ORDER.__getitem__):
        paired = scores.mass_paired.get(period, ())
        all_staff = scores.mass_all_staff.get(period, ())
        exact: Fraction | None = None
        if len(paired) + len(all_staff) < policy.min_ballots.mass:
            status = PeriodStatus.INSUFFICIENT_BALLOTS
        elif paired and all_staff:
            status = PeriodStatus.COUNTED
            exact = share * mean(paired) + (1 - share) * mean(all_staff)
        elif policy.mass_single_part_counts:
            status = PeriodStatus.COUNTED
            exact = mean(paired or all_staff)
        else:
            status = PeriodStatus.SINGLE_PART
        results.append(
            PeriodResult(
                period=period,
                ballots=len(paired) + len(all_staff),
                status=status,
                result=None if exact is None else round_half_up(exact),
                paired_ballots=len(paired),
                all_staff_ballots=len(all_staff),
            )
        )
    return results
