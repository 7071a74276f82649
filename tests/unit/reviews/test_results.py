"""Results shown per member and period only with enough ballots; turnout per role."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.reviews.domain import (
    DEFAULT_MIN_BALLOTS,
    BallotState,
    PartResult,
    ResultStatus,
    Turnout,
    is_eligible_reviewer,
    member_period_result,
    turnout,
)
from shared.contracts.reviews import BallotRole
from tests.unit.reviews.examples import (
    CHEN,
    LI,
    LIU,
    OTHER_BRANCH,
    PAIRINGS,
    PERIOD_OF_ROLE,
    ROSTER,
    SUN,
    WANG,
    ZHAO,
    ballot,
    cast_ballot,
)

pytestmark = pytest.mark.unit


def peer_ballots() -> list[BallotState]:
    return [
        cast_ballot(ballot(WANG, BallotRole.PEER, {LIU: "90", CHEN: "80"})),
        cast_ballot(ballot(CHEN, BallotRole.PEER, {LIU: "85", WANG: "95"})),
        cast_ballot(
            ballot(
                ZHAO.__class__(**{**ZHAO.__dict__}) if False else LIU,
                BallotRole.PEER,
                {WANG: "70", CHEN: "75"},
            )
        ),
    ]


def test_the_default_minimum_is_three_ballots() -> None:
    assert DEFAULT_MIN_BALLOTS == 3


def test_a_member_with_fewer_ballots_than_the_minimum_shows_insufficient_ballots() -> None:
    result = member_period_result(LIU.person_id, peer_ballots())
    assert result.ballots == 2
    assert result.status is ResultStatus.INSUFFICIENT_BALLOTS
    assert result.status.label == "票数不足"
    assert result.parts == ()
    assert result.average is None


def test_a_member_with_enough_ballots_gets_the_average_of_the_scores() -> None:
    third = cast_ballot(ballot(ZHAO, BallotRole.PEER, {LIU: "88"}), probationary_members_vote=True)
    result = member_period_result(LIU.person_id, [*peer_ballots(), third])
    assert result.status is ResultStatus.AVAILABLE
    assert result.status.label == "已出结果"
    assert result.ballots == 3
    assert result.average == Decimal("87.67")


def test_the_minimum_is_a_policy() -> None:
    result = member_period_result(LIU.person_id, peer_ballots(), min_ballots=2)
    assert result.average == Decimal("87.50")
    with pytest.raises(ValueError, match="at least 1"):
        member_period_result(LIU.person_id, peer_ballots(), min_ballots=0)


def test_an_amended_ballot_counts_once_as_amended() -> None:
    first = cast_ballot(ballot(WANG, BallotRole.PEER, {LIU: "60", CHEN: "80"}))
    amended = cast_ballot(ballot(WANG, BallotRole.PEER, {LIU: "90", CHEN: "80"}), state=first)
    others = peer_ballots()[1:]
    result = member_period_result(LIU.person_id, [amended, *others], min_ballots=2)
    assert result.ballots == 2
    assert result.average == Decimal("87.50")


def test_the_mass_review_shows_the_paired_and_all_staff_parts_side_by_side() -> None:
    ballots = [
        cast_ballot(ballot(LI, BallotRole.ALL_STAFF, {LIU: "90"})),
        cast_ballot(ballot(SUN, BallotRole.ALL_STAFF, {LIU: "81"})),
        cast_ballot(ballot(LI, BallotRole.PAIRED, {LIU: "99"})),
    ]
    result = member_period_result(LIU.person_id, ballots)
    assert result.status is ResultStatus.AVAILABLE
    assert result.parts == (
        PartResult(role=BallotRole.ALL_STAFF, ballots=2, average=Decimal("85.50")),
        PartResult(role=BallotRole.PAIRED, ballots=1, average=Decimal("99.00")),
    )
    # Combining the parts is the scoring policy's job.
    assert result.average is None


def test_averages_round_half_up_to_two_places() -> None:
    ballots = [
        cast_ballot(ballot(LI, BallotRole.ALL_STAFF, {LIU: "70.01"})),
        cast_ballot(ballot(SUN, BallotRole.ALL_STAFF, {LIU: "70.24"})),
    ]
    result = member_period_result(LIU.person_id, ballots, min_ballots=2)
    assert result.parts[0].average == Decimal("70.13")


def test_ballots_of_different_periods_cannot_be_mixed() -> None:
    mass = cast_ballot(ballot(LI, BallotRole.ALL_STAFF, {LIU: "90"}))
    with pytest.raises(ValueError, match="several periods"):
        member_period_result(LIU.person_id, [*peer_ballots(), mass])


def test_turnout_counts_distinct_reviewers_who_voted_out_of_the_eligible() -> None:
    result = turnout(peer_ballots(), role=BallotRole.PEER, eligible_reviewers=4)
    assert result == Turnout(voted=3, eligible=4)
    assert result.percent == Decimal("75.00")


def test_turnout_is_per_role_and_may_be_per_branch() -> None:
    ballots = [
        cast_ballot(ballot(LI, BallotRole.ALL_STAFF, {LIU: "90"})),
        cast_ballot(ballot(LI, BallotRole.PAIRED, {LIU: "99"})),
        cast_ballot(ballot(SUN, BallotRole.ALL_STAFF, {LIU: "81"})),
    ]
    assert turnout(ballots, role=BallotRole.ALL_STAFF, eligible_reviewers=6).voted == 2
    assert turnout(ballots, role=BallotRole.PAIRED, eligible_reviewers=1).percent == Decimal(
        "100.00"
    )
    elsewhere = turnout(
        ballots, role=BallotRole.ALL_STAFF, eligible_reviewers=3, branch_id=OTHER_BRANCH
    )
    assert elsewhere == Turnout(voted=0, eligible=3)


def test_turnout_with_nobody_eligible_has_no_percentage() -> None:
    assert turnout([], role=BallotRole.BRANCH, eligible_reviewers=0).percent is None


def test_the_eligible_reviewers_are_counted_by_the_ballot_rules() -> None:
    def eligible(role: BallotRole, *, probationary: bool = False) -> set[str]:
        period = PERIOD_OF_ROLE[role]
        return {
            person.person_id
            for person in ROSTER.values()
            if is_eligible_reviewer(
                person,
                role=role,
                period=period,
                paired_members=PAIRINGS.get(person.person_id, frozenset()),
                probationary_members_vote=probationary,
            )
        }

    assert eligible(BallotRole.PEER) == {"P-1001", "P-1002", "P-1003"}
    assert eligible(BallotRole.PEER, probationary=True) == {"P-1001", "P-1002", "P-1003", "P-1004"}
    assert eligible(BallotRole.ALL_STAFF) == {
        "P-1001",
        "P-1002",
        "P-1003",
        "P-1004",
        "P-2001",
        "P-2002",
    }
    assert eligible(BallotRole.PAIRED) == {"P-2001"}
    assert eligible(BallotRole.BRANCH) == {"P-1001"}
