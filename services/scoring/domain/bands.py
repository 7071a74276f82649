"""Bands on the composite and what each one means for the member (DOMAIN.md section 3)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from shared.contracts.scoring import Band, BandThresholds


class Consequence(StrEnum):
    UNQUALIFIED_MEMBER = "unqualified_member"
    YELLOW_CARD = "yellow_card"
    INTRA_PARTY_CRITICISM = "intra_party_criticism"
    NO_AWARDS_NEXT_YEAR = "no_awards_next_year"


BAND_LABELS: dict[Band, str] = {
    Band.UNQUALIFIED: "不合格党员",
    Band.YELLOW_CARD: "党内通报，亮黄牌",
    Band.CRITICISM: "党内批评",
    Band.NO_AWARDS: "不能参加下一年度创先争优评选",
    Band.GOOD_STANDING: "合格，可参加创先争优评选",
}

CONSEQUENCE_LABELS: dict[Consequence, str] = {
    Consequence.UNQUALIFIED_MEMBER: "认定为不合格党员",
    Consequence.YELLOW_CARD: "党内通报，亮黄牌",
    Consequence.INTRA_PARTY_CRITICISM: "党内批评",
    Consequence.NO_AWARDS_NEXT_YEAR: "不能参加下一年度创先争优评选",
}

# Most severe first: a band carries its own consequence and every milder one after it.
_SEVERITY: tuple[tuple[Band, Consequence | None], ...] = (
    (Band.UNQUALIFIED, Consequence.UNQUALIFIED_MEMBER),
    (Band.YELLOW_CARD, Consequence.YELLOW_CARD),
    (Band.CRITICISM, Consequence.INTRA_PARTY_CRITICISM),
    (Band.NO_AWARDS, Consequence.NO_AWARDS_NEXT_YEAR),
    (Band.GOOD_STANDING, None),
)


class BandOutcome(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    band: Band
    label: str
    consequences: tuple[Consequence, ...]

    @property
    def consequence_labels(self) -> tuple[str, ...]:
        return tuple(CONSEQUENCE_LABELS[consequence] for consequence in self.consequences)


def band_of(composite: Decimal, thresholds: BandThresholds) -> Band:
    """The most severe band whose bound the composite is below; bounds are exclusive."""
    bounds = (
        (thresholds.unqualified_below, Band.UNQUALIFIED),
        (thresholds.yellow_card_below, Band.YELLOW_CARD),
        (thresholds.criticism_below, Band.CRITICISM),
        (thresholds.no_awards_below, Band.NO_AWARDS),
    )
    for bound, band in bounds:
        if composite < bound:
            return band
    return Band.GOOD_STANDING


def outcome_of(band: Band) -> BandOutcome:
    position = next(i for i, (b, _) in enumerate(_SEVERITY) if b is band)
    consequences = tuple(c for _, c in _SEVERITY[position:] if c is not None)
    return BandOutcome(band=band, label=BAND_LABELS[band], consequences=consequences)


def band_for(composite: Decimal, thresholds: BandThresholds) -> BandOutcome:
    """The band of a composite with its label and every consequence it implies."""
    return outcome_of(band_of(composite, thresholds))
