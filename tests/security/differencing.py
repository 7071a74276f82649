"""The differencing attacker: what can be solved for from everything a role has read.

The attacker is as strong as we can make it: it knows every ballot's reviewer, role, period,
member and the moment it was cast or amended (a committee watching turnout, or anyone who
sees people vote), and every rule by which a figure is computed. Only the scores are
unknown. Each figure it read becomes a linear equation over the scores counted when it was
read (an average, a part's sum, a combined mass result, an annual result, a composite);
after all snapshots it asks, exactly (rational Gaussian elimination), which single score is
determined by the equations: ``e_u`` lies in the row space. Rounding is ignored in its
favour: it is treated as if every figure were exact.

A score the attacker can determine is a reviewer's score revealed; the sealed system must
leave none, and a read model that shows live averages (as main did before sealing) must
give many away, or the attacker is too weak to prove anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import SEED_POLICY, ReviewKind

Unknown = tuple[str, str, str, str, int]
"""(reviewer, member, period_id, role, version): one score as it stood in one ballot."""
Equation = dict[Unknown, Fraction]


@dataclass
class Ballots:
    """The ballot log as the attacker knows it, scores aside (kept for checking)."""

    current: dict[tuple[str, str, str], dict[str, Unknown]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    """(member, period_id, role) -> reviewer -> the unknown that counts now."""
    truth: dict[Unknown, Decimal] = field(default_factory=dict)
    versions: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))

    def cast(self, reviewer: str, period_id: str, role: str, scores: Mapping[str, Decimal]) -> None:
        """A ballot as a whole (an amendment replaces the reviewer's earlier sheet)."""
        key = (reviewer, period_id, role)
        self.versions[key] += 1
        version = self.versions[key]
        for (_, pid, r), by_reviewer in self.current.items():
            if pid == period_id and r == role:
                by_reviewer.pop(reviewer, None)
        for member, score in scores.items():
            unknown = (reviewer, member, period_id, role, version)
            self.current[(member, period_id, role)][reviewer] = unknown
            self.truth[unknown] = score

    def counted(self, member: str, period_id: str, role: str) -> list[Unknown]:
        return sorted(self.current.get((member, period_id, role), {}).values())


def mean_of(unknowns: Sequence[Unknown]) -> Equation:
    return {u: Fraction(1, len(unknowns)) for u in unknowns}


def sum_of(unknowns: Sequence[Unknown]) -> Equation:
    return dict.fromkeys(unknowns, Fraction(1))


def combine(*parts: tuple[Fraction, Equation]) -> Equation:
    out: Equation = defaultdict(Fraction)
    for weight, equation in parts:
        for unknown, coefficient in equation.items():
            out[unknown] += weight * coefficient
    return {u: c for u, c in out.items() if c}


def period_result(ballots: Ballots, member: str, period_id: str, kind: ReviewKind) -> Equation:
    """The period result's formula under the seed policy (DOMAIN.md section 3)."""
    if kind is not ReviewKind.MASS:
        role = BallotRole.PEER if kind is ReviewKind.PEER else BallotRole.BRANCH
        return mean_of(ballots.counted(member, period_id, role.value))
    paired = ballots.counted(member, period_id, BallotRole.PAIRED.value)
    staff = ballots.counted(member, period_id, BallotRole.ALL_STAFF.value)
    if paired and staff:
        share = Fraction(SEED_POLICY.mass_paired_share)
        return combine((share, mean_of(paired)), (1 - share, mean_of(staff)))
    return mean_of(paired or staff)


@dataclass
class Attacker:
    equations: list[Equation] = field(default_factory=list)
    figures: int = 0

    def learns(self, equation: Equation) -> None:
        if equation:
            self.equations.append(equation)
            self.figures += 1

    def determined(self) -> set[Unknown]:
        return determined(self.equations)


def determined(equations: Iterable[Equation]) -> set[Unknown]:
    """The unknowns whose value the equations fix: those ``u`` with ``e_u`` in the row space
    (in reduced row echelon form: a pivot row with no other entry)."""
    rows = [dict(eq) for eq in equations if eq]
    columns = sorted({u for row in rows for u in row})
    pivots: list[tuple[Unknown, dict[Unknown, Fraction]]] = []
    for column in columns:
        pick = next((row for row in rows if row.get(column)), None)
        if pick is None:
            continue
        rows.remove(pick)
        scale = pick[column]
        pivot = {u: c / scale for u, c in pick.items()}
        for others in (rows, [p for _, p in pivots]):
            for row in others:
                factor = row.get(column)
                if factor:
                    for u, c in pivot.items():
                        value = row.get(u, Fraction(0)) - factor * c
                        if value:
                            row[u] = value
                        else:
                            row.pop(u, None)
        pivots.append((column, pivot))
    return {column for column, row in pivots if set(row) == {column}}
