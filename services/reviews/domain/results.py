"""Read-side helpers over a period's counted ballots (each the ``BallotState`` its stream
folds to, so an amended ballot counts once, as amended).

A member's result is shown only once enough ballots rate them (policy, default 3): with fewer,
an average would give away individual scores, and a handful of votes is no fair measure.
The mass review's two parts are shown side by side; how they combine into the period's
result is the scoring policy's (``mass_paired_share``), computed by the scoring service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from services.reviews.domain.ballot import BallotState
from shared.contracts.reviews import BallotRole
from shared.labels import LabelledEnum

DEFAULT_MIN_BALLOTS = 3


class ResultStatus(LabelledEnum):
    AVAILABLE = "available", "已出结果"
    INSUFFICIENT_BALLOTS = "insufficient_ballots", "票数不足"


@dataclass(frozen=True, slots=True)
class PartResult:
    role: BallotRole
    ballots: int
    average: Decimal


@dataclass(frozen=True, slots=True)
class MemberPeriodResult:
    """``parts`` is empty unless the result is available; ``ballots`` is always shown."""

    member_id: str
    ballots: int
    min_ballots: int
    status: ResultStatus
    parts: tuple[PartResult, ...]

    @property
    def average(self) -> Decimal | None:
        """The result of a single-part review (peer, branch); ``None`` when insufficient or
        when the mass review's parts still have to be combined by the scoring policy."""
        return self.parts[0].average if len(self.parts) == 1 else None


@dataclass(frozen=True, slots=True)
class Turnout:
    voted: int
    eligible: int

    @property
    def percent(self) -> Decimal | None:
        """Voted out of eligible in percent, two places; ``None`` when nobody is eligible."""
        if self.eligible == 0:
            return None
        return rounded(Fraction(self.voted * 100, self.eligible))


def member_period_result(
    member_id: str, ballots: Iterable[BallotState], *, min_ballots: int = DEFAULT_MIN_BALLOTS
) -> MemberPeriodResult:
    """``ballots`` are the counted ballots of one period."""
    if min_ballots < 1:
        raise ValueError("min_ballots must be at least 1")
    scores_by_role: dict[BallotRole, list[Decimal]] = {}
    for ballot in _one_period(ballots):
        entry = ballot.score_of(member_id)
        if entry is not None:
            scores_by_role.setdefault(ballot.role, []).append(entry.score)
    count = sum(len(scores) for scores in scores_by_role.values())
    if count < min_ballots:
        return MemberPeriodResult(
            member_id=member_id,
            ballots=count,
            min_ballots=min_ballots,
            status=ResultStatus.INSUFFICIENT_BALLOTS,
            parts=(),
        )
    parts = tuple(
        PartResult(role=role, ballots=len(scores), average=_average(scores))
        for role, scores in sorted(scores_by_role.items())
    )
    return MemberPeriodResult(
        member_id=member_id,
        ballots=count,
        min_ballots=min_ballots,
        status=ResultStatus.AVAILABLE,
        parts=parts,
    )


def turnout(
    ballots: Iterable[BallotState],
    *,
    role: BallotRole,
    eligible_reviewers: int,
    branch_id: str | None = None,
) -> Turnout:
    """Distinct reviewers who voted in ``role`` (in ``branch_id``, if given) out of the
    eligible reviewers the caller counted with ``is_eligible_reviewer``.

    Per role, because the eligible reviewers differ, and a paired employee's two ballots carry
    unrelated pseudonyms that must not be matched up to count them as one person.
    """
    if eligible_reviewers < 0:
        raise ValueError("eligible_reviewers must not be negative")
    voted = {
        ballot.reviewer_pseudonym
        for ballot in _one_period(ballots)
        if ballot.role is role and (branch_id is None or ballot.branch_id == branch_id)
    }
    return Turnout(voted=len(voted), eligible=eligible_reviewers)


def _one_period(ballots: Iterable[BallotState]) -> Sequence[BallotState]:
    ballots = tuple(ballots)
    if len({ballot.period_id for ballot in ballots}) > 1:
        raise ValueError("ballots of several periods were mixed")
    return ballots


def _average(scores: Sequence[Decimal]) -> Decimal:
    return rounded(sum(map(Fraction, scores), Fraction(0)) / len(scores))


def rounded(value: Fraction) -> Decimal:
    """Two places, half up, from the exact value, as the scoring service shows its figures."""
    whole, rest = divmod(value.numerator * 100, value.denominator)
    if 2 * rest >= value.denominator:
        whole += 1
    return Decimal(whole).scaleb(-2)
