from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.scoring.commands import AdoptScoringPolicy
from services.scoring.domain import (
    DEFAULT_ADOPTED_POLICY,
    AdoptedPolicy,
    PeriodStatus,
    adopt_policy,
    compute_card,
    evolve_policy_year,
    policy_in_force,
)
from shared.contracts.scoring import (
    Band,
    Period,
    ReviewKind,
)

from .helpers import d, full_year, member_scores, policy_with

pytestmark = pytest.mark.unit

Q1, Q2, Q3, Q4, H1, H2 = Period.Q1, Period.Q2, Period.Q3, Period.Q4, Period.H1, Period.H2


def test_composite_of_a_complete_card_by_hand() -> None:
    scores = member_scores(
        # 85, 75, 89, 61 -> annual 77.50
        peer={
            Q1: [80, 90, 85],
            Q2: [70, 75, 80],
            Q3: [88, 92, 90, 86],
            Q4: [60, 61, 62],
        },
        # H1: 0.5 x 90 + 0.5 x 82 = 86; H2: 0.5 x 75 + 0.5 x 97 = 86 -> annual 86.00
        paired={H1: [90], H2: [70, 80]},
        all_staff={H1: [80, 82, 84], H2: [95, 96, 97, 100]},
        # 88, 92 -> annual 90.00
        branch={H1: [88], H2: [92]},
    )

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    assert [p.result for p in card.peer.periods] == [d("85.00"), d("75.00"), d("89.00"), d(61)]
    assert card.peer.annual == d("77.50")
    assert [p.result for p in card.mass.periods] == [d(86), d(86)]
    assert card.mass.annual == d("86.00")
    assert card.branch.annual == d("90.00")
    # 0.30 x 77.50 + 0.40 x 86.00 + 0.30 x 90.00 = 23.25 + 34.40 + 27.00
    assert card.composite == d("84.65")
    assert card.band is not None
    assert card.band.band is Band.CRITICISM
    assert card.missing == ()
    assert card.policy_id == "default"


def test_results_are_kept_to_two_places_rounding_half_up() -> None:
    # Q1 averages 80.005 (half up: 80.01, where banker's rounding would give 80.00);
    # Q2 averages 70.333... -> 70.33; the annual result averages the shown 80.01 and 70.33.
    card = compute_card(
        member_scores(peer={Q1: ["80.01", "80.00", "80.00", "80.01"], Q2: [70, 70, 71]}),
        DEFAULT_ADOPTED_POLICY,
    )

    assert [p.result for p in card.peer.periods] == [d("80.01"), d("70.33")]
    assert card.peer.annual == d("75.17")
    assert str(card.peer.annual) == "75.17"


@pytest.mark.parametrize(
    ("score", "band"),
    [
        ("59.99", Band.UNQUALIFIED),
        ("60", Band.YELLOW_CARD),
        ("74.99", Band.YELLOW_CARD),
        ("75", Band.CRITICISM),
        ("84.99", Band.CRITICISM),
        ("85", Band.NO_AWARDS),
        ("94.99", Band.NO_AWARDS),
        ("95", Band.GOOD_STANDING),
    ],
)
def test_boundary_composites_fall_in_the_right_band(score: str, band: Band) -> None:
    card = compute_card(full_year(score), DEFAULT_ADOPTED_POLICY)

    assert card.composite == Decimal(score)
    assert card.band is not None
    assert card.band.band is band


def test_a_missing_review_leaves_no_composite_and_says_what_is_missing() -> None:
    scores = member_scores(peer={Q1: [90, 90, 90]}, all_staff={H1: [90, 90, 90]})

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    assert card.composite is None
    assert card.band is None
    assert card.missing == (ReviewKind.BRANCH,)
    assert card.missing_labels == ("缺少党支部评议结果",)
    assert card.branch.periods == ()


def test_an_empty_card_misses_all_three_reviews() -> None:
    card = compute_card(member_scores(), DEFAULT_ADOPTED_POLICY)

    assert card.missing == (ReviewKind.PEER, ReviewKind.MASS, ReviewKind.BRANCH)
    assert card.composite is None


def test_a_period_under_the_minimum_ballots_is_shown_but_does_not_count() -> None:
    scores = member_scores(peer={Q1: [100, 100], Q2: [60, 60, 60]})

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    q1, q2 = card.peer.periods
    assert (q1.status, q1.ballots, q1.result) == (PeriodStatus.INSUFFICIENT_BALLOTS, 2, None)
    assert (q2.status, q2.ballots, q2.result) == (PeriodStatus.COUNTED, 3, d(60))
    assert card.peer.annual == d(60)


def test_a_review_whose_periods_all_lack_ballots_is_missing() -> None:
    scores = member_scores(
        peer={Q1: [80, 80], Q2: []}, all_staff={H1: [80, 80, 80]}, branch={H1: [80]}
    )

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    assert [p.ballots for p in card.peer.periods] == [2, 0]
    assert card.peer.annual is None
    assert card.missing == (ReviewKind.PEER,)


def test_one_branch_review_ballot_is_enough_by_default() -> None:
    card = compute_card(member_scores(branch={H1: [77]}), DEFAULT_ADOPTED_POLICY)

    assert card.branch.annual == d(77)
    assert card.branch.min_ballots == 1


def test_mass_review_halves_are_paired_and_all_staff() -> None:
    scores = member_scores(paired={H1: [70]}, all_staff={H1: [90, 95, 100]})

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    (h1,) = card.mass.periods
    # 0.5 x 70 + 0.5 x 95
    assert h1.result == d("82.50")
    assert (h1.ballots, h1.paired_ballots, h1.all_staff_ballots) == (4, 1, 3)


def test_mass_review_with_only_all_staff_ballots_uses_that_part() -> None:
    card = compute_card(member_scores(all_staff={H2: [80, 85, 90]}), DEFAULT_ADOPTED_POLICY)

    (h2,) = card.mass.periods
    assert (h2.period, h2.result, h2.paired_ballots) == (H2, d(85), 0)


def test_mass_review_with_only_paired_ballots_uses_that_part() -> None:
    card = compute_card(member_scores(paired={H1: [60, 70, 80]}), DEFAULT_ADOPTED_POLICY)

    assert card.mass.periods[0].result == d(70)


def test_mass_minimum_counts_both_parts_together() -> None:
    short = member_scores(paired={H1: [100]}, all_staff={H1: [50]})
    enough = member_scores(paired={H1: [100]}, all_staff={H1: [50, 60]})

    assert compute_card(short, DEFAULT_ADOPTED_POLICY).mass.periods[0].status is (
        PeriodStatus.INSUFFICIENT_BALLOTS
    )
    # 0.5 x 100 + 0.5 x 55
    assert compute_card(enough, DEFAULT_ADOPTED_POLICY).mass.periods[0].result == d("77.50")


def test_a_policy_may_require_both_mass_parts() -> None:
    both_required = AdoptedPolicy(
        policy_id="both-parts",
        policy=policy_with(mass_single_part_counts=False),
    )
    scores = member_scores(all_staff={H1: [80, 85, 90]}, paired={H2: [60]}, branch={H2: [70]})

    card = compute_card(scores, both_required)

    assert [p.status for p in card.mass.periods] == [
        PeriodStatus.SINGLE_PART,
        PeriodStatus.INSUFFICIENT_BALLOTS,
    ]
    assert card.mass.annual is None
    assert ReviewKind.MASS in card.missing


def test_the_paired_share_is_policy() -> None:
    quarter = AdoptedPolicy(
        policy_id="paired-25",
        policy=policy_with(mass_paired_share=Decimal("0.25")),
    )
    scores = member_scores(paired={H1: [60]}, all_staff={H1: [100, 100]})

    # 0.25 x 60 + 0.75 x 100
    assert compute_card(scores, quarter).mass.periods[0].result == d(90)


def test_periods_are_listed_in_calendar_order() -> None:
    scores = member_scores(peer={Q4: [1, 1, 1], Q1: [2, 2, 2], Q3: [3, 3, 3]})

    card = compute_card(scores, DEFAULT_ADOPTED_POLICY)

    assert [p.period for p in card.peer.periods] == [Q1, Q3, Q4]


def test_a_policy_change_between_years_changes_the_composite_of_the_same_scores() -> None:
    scores = member_scores(peer={Q1: [80, 80, 80]}, all_staff={H1: [90, 90, 90]}, branch={H1: [70]})
    mass_heavy = policy_with(weights={"peer": "0.25", "mass": "0.50", "branch": "0.25"})
    year_2025 = evolve_policy_year(
        None,
        adopt_policy(None, AdoptScoringPolicy(year=2025, policy_id="p-2025", policy=mass_heavy)),
    )

    card_2024 = compute_card(scores, policy_in_force(None))
    card_2025 = compute_card(scores, policy_in_force(year_2025))

    # 0.30 x 80 + 0.40 x 90 + 0.30 x 70 = 81.00; 0.25 x 80 + 0.50 x 90 + 0.25 x 70 = 82.50
    assert (card_2024.composite, card_2024.policy_id) == (d(81), "default")
    assert (card_2025.composite, card_2025.policy_id) == (d("82.50"), "p-2025")


def test_the_card_records_weights_and_minimums_used() -> None:
    card = compute_card(full_year(90), DEFAULT_ADOPTED_POLICY)

    assert [(r.review, r.weight, r.min_ballots) for r in card.reviews] == [
        (ReviewKind.PEER, d("0.30"), 3),
        (ReviewKind.MASS, d("0.40"), 3),
        (ReviewKind.BRANCH, d("0.30"), 1),
    ]


def test_a_peer_review_cannot_be_half_yearly() -> None:
    with pytest.raises(ValidationError, match="党员互评"):
        member_scores(peer={H1: [80, 80, 80]})


def test_a_mass_review_cannot_be_quarterly() -> None:
    with pytest.raises(ValidationError, match="群众评议"):
        member_scores(all_staff={Q2: [80, 80, 80]})


@pytest.mark.parametrize(
    ("score", "message"),
    [("100.01", "0 到 100"), ("-1", "0 到 100"), ("80.001", "两位小数"), ("NaN", "finite")],
)
def test_scores_out_of_range_are_refused(score: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        member_scores(branch={H1: [score]})


def test_mass_scores_lists_both_parts() -> None:
    scores = member_scores(paired={H1: [50]}, all_staff={H1: [60, 70], H2: [80]})

    assert sorted(scores.mass_scores()) == [d(50), d(60), d(70), d(80)]
