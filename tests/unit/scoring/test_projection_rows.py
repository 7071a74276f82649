"""The pure parts of the projection: ballots to scores, and a card's row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.scoring.domain import DEFAULT_ADOPTED_POLICY
from services.scoring.projections.derive import BallotScore, card_row, member_scores
from services.scoring.projections.pledge_states import PledgeStatus, pledge_change
from shared.contracts import pledges as pl
from shared.contracts.scoring import Period

pytestmark = pytest.mark.unit


def ballot(role: str, period: str, score: str, branch: str = "b1") -> BallotScore:
    return BallotScore(role=role, period=period, score=score, branch_id=branch)


def test_ballot_rows_become_scores_per_review_part_and_period() -> None:
    scores = member_scores(
        [
            ballot("peer", "Q1", "90.00"),
            ballot("paired", "H1", "95.00"),
            ballot("all_staff", "H1", "80.00"),
            ballot("branch", "H2", "70.50"),
        ]
    )
    assert scores.peer == {Period.Q1: (Decimal("90.00"),)}
    assert scores.mass_paired == {Period.H1: (Decimal("95.00"),)}
    assert scores.mass_all_staff == {Period.H1: (Decimal("80.00"),)}
    assert scores.branch == {Period.H2: (Decimal("70.50"),)}


def test_a_score_whose_period_does_not_fit_its_review_is_left_out() -> None:
    assert member_scores([ballot("peer", "H1", "90.00")]).peer == {}


def pledge(pledge_id: str, status: str, branch: str = "b-pledge") -> dict[str, Any]:
    return {"pledge_id": pledge_id, "status": status, "branch_id": branch}


def test_a_card_row_counts_live_pledges_and_says_what_is_missing() -> None:
    row = card_row(
        "m1",
        2024,
        adopted=DEFAULT_ADOPTED_POLICY,
        person=None,
        area=None,
        pledges=[
            pledge("p1", PledgeStatus.ACCEPTED),
            pledge("p2", PledgeStatus.PUBLISHED),
            pledge("p3", PledgeStatus.WITHDRAWN),
        ],
        ballots=[ballot("all_staff", "H1", "59.99"), ballot("all_staff", "H1", "60.00")],
    )
    assert row["branch_id"] == "b-pledge"  # no roster yet: the pledges' branch
    assert (row["pledges_total"], row["pledges_completed"]) == (2, 1)
    assert (row["mass_satisfied"], row["mass_total"]) == (1, 2)
    assert row["composite"] is None and row["missing"] == ["peer", "mass", "branch"]
    assert row["policy_id"] == "default"


def test_the_roster_branch_wins_over_the_branch_named_by_facts() -> None:
    row = card_row(
        "m1",
        2024,
        adopted=DEFAULT_ADOPTED_POLICY,
        person={"branch_id": "b-roster"},
        area=None,
        pledges=[pledge("p1", PledgeStatus.DECLARED)],
        ballots=[],
    )
    assert row["branch_id"] == "b-roster"


def test_pledge_steps_map_to_states_the_board_shows() -> None:
    signed = pl.PairingAgreementSigned(
        pledge_id="p1",
        member_id="m1",
        employee_id="e1",
        signed_on=date(2024, 3, 1),
        problem="x",
        quarterly_work=pl.QuarterlyWork(),
        final_goal="y",
    )
    assert pledge_change(signed) == {
        "status": PledgeStatus.AGREEMENT_SIGNED,
        "agreement_signed_on": date(2024, 3, 1),
        "paired_employee_id": "e1",
    }
    accepted = pl.PledgeAccepted(
        pledge_id="p1", need_ids=(), accepted_on=date(2024, 6, 1), comment=None
    )
    assert pledge_change(accepted)["status"] == PledgeStatus.ACCEPTED
