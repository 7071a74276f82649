from __future__ import annotations

from decimal import Decimal

import pytest

from services.scoring.domain import (
    DEFAULT_POLICY,
    Consequence,
    band_for,
    outcome_of,
)
from shared.contracts.scoring import Band, BandThresholds

pytestmark = pytest.mark.unit

BANDS = DEFAULT_POLICY.bands


@pytest.mark.parametrize(
    ("composite", "band"),
    [
        ("0", Band.UNQUALIFIED),
        ("59.99", Band.UNQUALIFIED),
        ("60", Band.YELLOW_CARD),
        ("74.99", Band.YELLOW_CARD),
        ("75", Band.CRITICISM),
        ("84.99", Band.CRITICISM),
        ("85", Band.NO_AWARDS),
        ("94.99", Band.NO_AWARDS),
        ("95", Band.GOOD_STANDING),
        ("100", Band.GOOD_STANDING),
    ],
)
def test_band_boundaries_follow_the_table(composite: str, band: Band) -> None:
    assert band_for(Decimal(composite), BANDS).band is band


def test_a_yellow_card_implies_criticism_and_no_awards() -> None:
    outcome = band_for(Decimal("70"), BANDS)

    assert outcome.band is Band.YELLOW_CARD
    assert outcome.label == "党内通报，亮黄牌"
    assert outcome.consequences == (
        Consequence.YELLOW_CARD,
        Consequence.INTRA_PARTY_CRITICISM,
        Consequence.NO_AWARDS_NEXT_YEAR,
    )
    assert outcome.consequence_labels == (
        "党内通报，亮黄牌",
        "党内批评",
        "不能参加下一年度创先争优评选",
    )


def test_an_unqualified_member_carries_every_consequence() -> None:
    assert outcome_of(Band.UNQUALIFIED).consequences == tuple(Consequence)


def test_good_standing_has_no_consequence() -> None:
    outcome = outcome_of(Band.GOOD_STANDING)

    assert outcome.consequences == ()
    assert outcome.label == "合格，可参加创先争优评选"


def test_not_eligible_band_only_bars_awards() -> None:
    assert outcome_of(Band.NO_AWARDS).consequences == (Consequence.NO_AWARDS_NEXT_YEAR,)


def test_bands_follow_the_thresholds_of_the_policy() -> None:
    stricter = BandThresholds(
        unqualified_below=Decimal("65"),
        yellow_card_below=Decimal("80"),
        criticism_below=Decimal("90"),
        no_awards_below=Decimal("98"),
    )

    assert band_for(Decimal("62"), stricter).band is Band.UNQUALIFIED
    assert band_for(Decimal("62"), BANDS).band is Band.YELLOW_CARD
