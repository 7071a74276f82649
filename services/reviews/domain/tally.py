"""Tallies: what a closed period says of each member, and nothing that reveals a reviewer.

When a period closes, its ballots become one ``MemberReviewed`` per member (published on the
reviews topic; the ballots themselves never leave the service). The rules, in the order they
protect the reviewers (docs/privacy.md):

- Sealed until close: nothing here runs before the period has closed.
- No group below N: a result, a part of it, a count of satisfied scores is given only for at
  least ``min_ballots`` ballots. For the anonymous reviews (peer, mass) the minimum is never
  below ``ANONYMOUS_GROUP_FLOOR`` whatever the policy says; the branch review is the
  committee's collective, recorded decision and keeps the policy's minimum (1 by default).
- Parts only when each part meets N: the mass review's paired and all-staff parts are given
  separately only if every part with ballots has at least N; otherwise only the combined
  result. With one paired employee and two all-staff ballots the member reads a figure
  that mixes the three, never the paired score, and never the all-staff average from which
  the paired score would follow.
- Counting equals disclosure: a period counts toward the composite only if its result may be
  shown, so the composite cannot carry a figure that the parts would hide.

The arithmetic is the card's (DOMAIN.md section 3): a part's result is the exact average of
its scores; the mass period combines its parts with the policy's paired share when both have
ballots; the shown result is rounded to 2 places, half up, from the exact value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from services.reviews.domain.period import ReviewPeriodState
from services.reviews.domain.results import rounded
from shared.contracts.reviews import (
    ANONYMOUS_GROUP_FLOOR,
    BallotRole,
    MemberReviewed,
    PartTally,
    TallyStatus,
)
from shared.contracts.scoring import ReviewKind, ScoringPolicy

ROLES_OF_KIND: dict[ReviewKind, tuple[BallotRole, ...]] = {
    ReviewKind.PEER: (BallotRole.PEER,),
    ReviewKind.MASS: (BallotRole.ALL_STAFF, BallotRole.PAIRED),
    ReviewKind.BRANCH: (BallotRole.BRANCH,),
}


def tally_stream(period_id: str, branch_id: str) -> str:
    """The tallies of one branch's members in a period: keyed by the branch, like the rest
    of its events, so a consumer sees a branch's facts on one partition."""
    return f"review-tally-{period_id}-{branch_id}"


def effective_minimum(kind: ReviewKind, policy: ScoringPolicy) -> int:
    """The fewest ballots for which a period's figures are given and counted."""
    minimum = policy.min_ballots.of(kind)
    if kind is ReviewKind.BRANCH:
        return minimum
    return max(minimum, ANONYMOUS_GROUP_FLOOR)


def tally_member(
    period: ReviewPeriodState,
    *,
    member_id: str,
    branch_id: str,
    scores: Mapping[BallotRole, Sequence[Decimal]],
    policy_id: str,
    policy: ScoringPolicy,
) -> MemberReviewed:
    """``scores`` are the member's counted scores in the period, by the role they were given
    in (one per ballot: amendments already resolved)."""
    if not period.closed:
        raise ValueError("a period is tallied only once it has closed")
    roles = ROLES_OF_KIND[period.kind]
    if any(role not in roles for role in scores):
        raise ValueError("a score's role does not belong to the period's review")
    by_role = {role: tuple(scores.get(role, ())) for role in roles}
    count = sum(len(values) for values in by_role.values())
    minimum = effective_minimum(period.kind, policy)
    exact: Fraction | None = None
    parts: tuple[PartTally, ...] = ()
    if count < minimum:
        status = TallyStatus.INSUFFICIENT_BALLOTS
    else:
        status, exact = _period_result(period.kind, by_role, policy)
        filled = [(role, values) for role, values in by_role.items() if values]
        if all(len(values) >= minimum for _, values in filled):
            parts = tuple(
                PartTally(role=role, ballots=len(values), total=sum(values, Decimal("0")))
                for role, values in filled
            )
    satisfied: int | None = None
    threshold: Decimal | None = None
    if period.kind is ReviewKind.MASS and count >= minimum:
        threshold = policy.satisfaction_threshold
        satisfied = sum(1 for values in by_role.values() for score in values if score >= threshold)
    return MemberReviewed(
        period_id=period.period_id,
        kind=period.kind,
        period=period.period,
        year=period.year,
        member_id=member_id,
        branch_id=branch_id,
        policy_id=policy_id,
        min_ballots=minimum,
        ballots=count,
        status=status,
        result=None if exact is None else rounded(exact),
        parts=parts,
        satisfied=satisfied,
        satisfaction_threshold=threshold,
    )


def _period_result(
    kind: ReviewKind, by_role: Mapping[BallotRole, tuple[Decimal, ...]], policy: ScoringPolicy
) -> tuple[TallyStatus, Fraction | None]:
    if kind is not ReviewKind.MASS:
        (values,) = by_role.values()
        return TallyStatus.COUNTED, _mean(values)
    paired = by_role[BallotRole.PAIRED]
    all_staff = by_role[BallotRole.ALL_STAFF]
    if paired and all_staff:
        share = Fraction(policy.mass_paired_share)
        return TallyStatus.COUNTED, share * _mean(paired) + (1 - share) * _mean(all_staff)
    if policy.mass_single_part_counts:
        return TallyStatus.COUNTED, _mean(paired or all_staff)
    return TallyStatus.SINGLE_PART, None


def _mean(values: Sequence[Decimal]) -> Fraction:
    return sum(map(Fraction, values), Fraction(0)) / len(values)
