"""Tallies: a closed period's figures per member, with the disclosure rules of
DOMAIN.md section 3 (sealed until close, no group below N, parts only when each meets N)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from pydantic import ValidationError

from services.reviews.domain.tally import effective_minimum, tally_member
from shared.contracts.reviews import BallotRole, MemberReviewed, PartTally, TallyStatus
from shared.contracts.scoring import SEED_POLICY, BallotMinimums, ReviewKind
from tests.unit.reviews.examples import BRANCH_H1, LIU, MASS_H1, PEER_Q1

pytestmark = pytest.mark.unit


def _d(*values: str) -> list[Decimal]:
    return [Decimal(v) for v in values]


def _tally(period, scores, policy=SEED_POLICY):  # type: ignore[no-untyped-def]
    return tally_member(
        replace(period, closed=True),
        member_id=LIU.person_id,
        branch_id=LIU.branch_id,
        scores=scores,
        policy_id="default",
        policy=policy,
    )


def test_an_open_period_is_never_tallied() -> None:
    with pytest.raises(ValueError, match="only once it has closed"):
        tally_member(
            PEER_Q1,
            member_id=LIU.person_id,
            branch_id=LIU.branch_id,
            scores={},
            policy_id="default",
            policy=SEED_POLICY,
        )


def test_a_peer_period_gives_the_exact_average_rounded_half_up_and_the_sum() -> None:
    tally = _tally(PEER_Q1, {BallotRole.PEER: _d("90", "85", "88.5")})
    assert (tally.status, tally.result, tally.ballots) == (
        TallyStatus.COUNTED,
        Decimal("87.83"),
        3,
    )
    assert tally.parts == (PartTally(role=BallotRole.PEER, ballots=3, total=Decimal("263.50")),)
    assert tally.satisfied is None


def test_two_peer_ballots_give_no_figure_but_their_count() -> None:
    tally = _tally(PEER_Q1, {BallotRole.PEER: _d("90", "40")})
    assert (tally.status, tally.result, tally.parts, tally.ballots) == (
        TallyStatus.INSUFFICIENT_BALLOTS,
        None,
        (),
        2,
    )


def test_a_policy_minimum_below_three_does_not_lower_the_floor_of_anonymous_groups() -> None:
    lax = SEED_POLICY.model_copy(update={"min_ballots": BallotMinimums(peer=1, mass=2, branch=1)})
    assert effective_minimum(ReviewKind.PEER, lax) == 3
    assert effective_minimum(ReviewKind.MASS, lax) == 3
    assert effective_minimum(ReviewKind.BRANCH, lax) == 1
    assert _tally(PEER_Q1, {BallotRole.PEER: _d("90", "40")}, lax).result is None


def test_the_branch_review_is_a_collective_decision_and_shows_from_one_ballot() -> None:
    tally = _tally(BRANCH_H1, {BallotRole.BRANCH: _d("93")})
    assert (tally.result, tally.min_ballots) == (Decimal("93.00"), 1)


def test_one_paired_and_two_all_staff_ballots_give_only_the_combined_result() -> None:
    paired, staff = Decimal("50"), _d("90", "80")
    tally = _tally(MASS_H1, {BallotRole.PAIRED: [paired], BallotRole.ALL_STAFF: staff})
    exact = Fraction(1, 2) * Fraction(paired) + Fraction(1, 2) * Fraction(170, 2)
    assert tally.result == Decimal(str(float(exact))).quantize(Decimal("0.01"))
    assert tally.parts == ()
    # Neither the paired score nor the all-staff average is a figure of its own.
    text = tally.model_dump_json()
    assert "85" not in text.replace("67.50", "")
    assert (tally.satisfied, tally.ballots) == (2, 3)


def test_parts_are_given_separately_when_each_meets_the_minimum() -> None:
    tally = _tally(
        MASS_H1,
        {BallotRole.PAIRED: _d("70", "80", "90"), BallotRole.ALL_STAFF: _d("60", "60", "90")},
    )
    assert {part.role: part.total for part in tally.parts} == {
        BallotRole.ALL_STAFF: Decimal("210.00"),
        BallotRole.PAIRED: Decimal("240.00"),
    }
    assert tally.result == Decimal("75.00")


def test_a_single_part_counts_when_the_policy_says_so_and_otherwise_not() -> None:
    staff = {BallotRole.ALL_STAFF: _d("70", "80", "90")}
    assert _tally(MASS_H1, staff).result == Decimal("80.00")
    strict = SEED_POLICY.model_copy(update={"mass_single_part_counts": False})
    tally = _tally(MASS_H1, staff, strict)
    assert (tally.status, tally.result) == (TallyStatus.SINGLE_PART, None)
    assert tally.satisfied == 3


def test_satisfaction_is_not_given_for_a_group_below_the_minimum() -> None:
    tally = _tally(MASS_H1, {BallotRole.PAIRED: _d("40")})
    assert (tally.satisfied, tally.satisfaction_threshold) == (None, None)


def test_the_contract_refuses_a_part_below_the_minimum() -> None:
    good = _tally(
        MASS_H1,
        {BallotRole.PAIRED: _d("70", "80", "90"), BallotRole.ALL_STAFF: _d("60", "60", "90")},
    )
    data = good.model_dump()
    data["parts"] = [{"role": "paired", "ballots": 1, "total": "50.00"}]
    data["ballots"] = 1
    with pytest.raises(ValidationError, match="最少票数"):
        MemberReviewed.model_validate(data)


def test_a_member_nobody_rated_is_tallied_with_no_ballots() -> None:
    tally = _tally(PEER_Q1, {})
    assert (tally.ballots, tally.status, tally.result) == (
        0,
        TallyStatus.INSUFFICIENT_BALLOTS,
        None,
    )
