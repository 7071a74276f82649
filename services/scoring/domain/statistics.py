"""Pure statistics the projections aggregate per branch, unit and company (DOMAIN.md section 4).

Both keep counts rather than rates: a unit's rate is recomputed from its branches' summed
counts, because an average of rates would weigh a small branch like a large one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.scoring.domain.rounding import percentage
from shared.contracts.scoring import Band, ScoringPolicy


@dataclass(frozen=True)
class SatisfactionTally:
    satisfied: int = 0
    total: int = 0

    @property
    def rate(self) -> Decimal | None:
        """Satisfied share in percent, 2 places half up; None when nobody was rated."""
        return percentage(self.satisfied, self.total)

    def __add__(self, other: SatisfactionTally) -> SatisfactionTally:
        return SatisfactionTally(self.satisfied + other.satisfied, self.total + other.total)


def satisfaction_tally(scores: Iterable[Decimal], policy: ScoringPolicy) -> SatisfactionTally:
    """Mass-review scores at or above the policy's threshold count as satisfied."""
    satisfied = total = 0
    for score in scores:
        total += 1
        if score >= policy.satisfaction_threshold:
            satisfied += 1
    return SatisfactionTally(satisfied, total)


@dataclass(frozen=True)
class BandDistribution:
    counts: Mapping[Band, int] = field(default_factory=dict)
    without_composite: int = 0

    def count(self, band: Band) -> int:
        return self.counts.get(band, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.without_composite

    def share(self, band: Band) -> Decimal | None:
        """The band's share of all members, composite or not, in percent."""
        return percentage(self.count(band), self.total)

    def __add__(self, other: BandDistribution) -> BandDistribution:
        return BandDistribution(
            counts={band: self.count(band) + other.count(band) for band in Band},
            without_composite=self.without_composite + other.without_composite,
        )


def band_distribution(bands: Iterable[Band | None]) -> BandDistribution:
    """How many members fall in each band; None is a member without a composite."""
    tally = Counter(bands)
    return BandDistribution(
        counts={band: tally[band] for band in Band},
        without_composite=tally[None],
    )
