from __future__ import annotations

from decimal import Decimal

import pytest

from services.scoring.domain import (
    DEFAULT_POLICY,
    BandDistribution,
    SatisfactionTally,
    band_distribution,
    satisfaction_tally,
)
from shared.contracts.scoring import Band, Period

from .helpers import d, member_scores, policy_with

pytestmark = pytest.mark.unit


def test_a_score_at_the_threshold_counts_as_satisfied() -> None:
    tally = satisfaction_tally([d("59.99"), d(60), d(100), d(30)], DEFAULT_POLICY)

    assert tally == SatisfactionTally(satisfied=2, total=4)
    assert tally.rate == Decimal("50.00")


def test_the_satisfaction_threshold_is_policy() -> None:
    strict = policy_with(satisfaction_threshold="80")

    assert satisfaction_tally([d(70), d(80), d(90)], strict).satisfied == 2
    assert satisfaction_tally([d(70), d(80), d(90)], DEFAULT_POLICY).satisfied == 3


def test_no_mass_scores_means_no_rate_rather_than_zero() -> None:
    assert satisfaction_tally([], DEFAULT_POLICY).rate is None


def test_rates_of_larger_scopes_come_from_summed_counts() -> None:
    company = SatisfactionTally(98, 100) + SatisfactionTally(1, 2)

    # 99 / 102 = 97.0588...; the average of the two rates (74.50) would be wrong.
    assert company == SatisfactionTally(99, 102)
    assert company.rate == Decimal("97.06")


def test_the_rate_counts_both_parts_of_the_mass_review() -> None:
    scores = member_scores(paired={Period.H1: [50]}, all_staff={Period.H1: [60, 70, 80]})

    assert satisfaction_tally(scores.mass_scores(), DEFAULT_POLICY).rate == Decimal("75.00")


def test_band_distribution_counts_members_and_those_without_a_composite() -> None:
    distribution = band_distribution(
        [Band.GOOD_STANDING, Band.GOOD_STANDING, Band.YELLOW_CARD, None]
    )

    assert distribution.count(Band.GOOD_STANDING) == 2
    assert distribution.count(Band.YELLOW_CARD) == 1
    assert distribution.count(Band.UNQUALIFIED) == 0
    assert distribution.without_composite == 1
    assert distribution.total == 4
    assert distribution.share(Band.GOOD_STANDING) == Decimal("50.00")


def test_band_distributions_add_up() -> None:
    total = band_distribution([Band.CRITICISM]) + band_distribution([Band.CRITICISM, None])

    assert total.count(Band.CRITICISM) == 2
    assert total.without_composite == 1
    assert total == band_distribution([Band.CRITICISM, Band.CRITICISM, None])


def test_an_empty_distribution_has_no_shares() -> None:
    assert BandDistribution().share(Band.NO_AWARDS) is None
