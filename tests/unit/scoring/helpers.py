"""Small builders shared by the scoring domain tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from services.scoring.domain import DEFAULT_POLICY, MemberScores
from shared.contracts.scoring import Period, ScoringPolicy

Raw = Mapping[Period, Sequence[str | int]]


def d(value: str | int) -> Decimal:
    return Decimal(value)


def _ballots(raw: Raw) -> dict[Period, tuple[Decimal, ...]]:
    return {period: tuple(Decimal(score) for score in scores) for period, scores in raw.items()}


def member_scores(
    *,
    peer: Raw | None = None,
    paired: Raw | None = None,
    all_staff: Raw | None = None,
    branch: Raw | None = None,
) -> MemberScores:
    return MemberScores(
        peer=_ballots(peer or {}),
        mass_paired=_ballots(paired or {}),
        mass_all_staff=_ballots(all_staff or {}),
        branch=_ballots(branch or {}),
    )


def full_year(score: str | int) -> MemberScores:
    """Every period of every review with three identical ballots."""
    three = [score] * 3
    return member_scores(
        peer={q: three for q in (Period.Q1, Period.Q2, Period.Q3, Period.Q4)},
        all_staff={h: three for h in (Period.H1, Period.H2)},
        branch={h: three for h in (Period.H1, Period.H2)},
    )


def policy_with(**changes: object) -> ScoringPolicy:
    """The default policy with some fields changed, validated like any adopted policy."""
    return ScoringPolicy.model_validate({**DEFAULT_POLICY.model_dump(), **changes})
