"""The pure parts of the projection: tallies to period results, and a card's row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.scoring.domain import DEFAULT_ADOPTED_POLICY, PeriodStatus
from services.scoring.projections.derive import Tally, card_row, period_results
from services.scoring.projections.pledge_states import PledgeStatus, pledge_change
from shared.contracts import pledges as pl
from shared.contracts.scoring import Period, ReviewKind

pytestmark = pytest.mark.unit


def tally(
    kind: str,
    period: str,
    *,
    status: str = "counted",
    ballots: int = 3,
    result: str | None = "90.00",
    satisfied: int | None = None,
    branch: str = "b1",
    period_id: str = "",
) -> Tally:
    return Tally(kind, period, status, ballots, result, None, None, satisfied, branch, period_id)


def test_tallies_become_period_results_and_open_periods_show_no_figure() -> None:
    found = period_results(
        [tally("peer", "Q1"), tally("mass", "H1", result="85.50"), tally("branch", "H2")],
        [{"kind": "peer", "period": "Q2"}],
    )
    peer = {p.period: p for p in found[ReviewKind.PEER]}
    assert (peer[Period.Q1].status, peer[Period.Q1].result) == ("counted", Decimal("90.00"))
    assert (peer[Period.Q2].status, peer[Period.Q2].ballots, peer[Period.Q2].result) == (
        PeriodStatus.OPEN,
        None,
        None,
    )
    assert found[ReviewKind.MASS][0].result == Decimal("85.50")


def test_a_tally_whose_period_does_not_fit_its_review_is_left_out() -> None:
    assert period_results([tally("peer", "H1")], []) == {}


def pledge(pledge_id: str, status: str, branch: str = "b-pledge") -> dict[str, Any]:
    return {"pledge_id": pledge_id, "status": status, "branch_id": branch}


def test_two_tallies_of_one_review_period_give_the_same_result_in_any_order() -> None:
    """A member transferred between branches can be tallied by both branches' periods for
    the same quarter; whichever order the rows come in, the one with more ballots counts
    (the later period id on a tie)."""
    small = tally("peer", "Q1", status="insufficient_ballots", ballots=1, result=None)
    small = small._replace(period_id="p-b")
    large = tally("peer", "Q1", ballots=4, result="88.00", period_id="p-a")
    tie = tally("peer", "Q1", ballots=4, result="91.00", period_id="p-c")
    for tallies, expected in (
        ([small, large], Decimal("88.00")),
        ([large, small], Decimal("88.00")),
        ([large, tie, small], Decimal("91.00")),
        ([tie, small, large], Decimal("91.00")),
    ):
        (only,) = period_results(tallies, [])[ReviewKind.PEER]
        assert only.result == expected, tallies


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
        tallies=[
            tally("mass", "H1", status="insufficient_ballots", ballots=2, result=None),
            tally("mass", "H2", ballots=3, result="70.00", satisfied=2),
        ],
    )
    assert row["branch_id"] == "b-pledge"  # no roster yet: the pledges' branch
    assert (row["pledges_total"], row["pledges_completed"]) == (2, 1)
    # Satisfaction counts only groups large enough to be shown (not H1's two ballots).
    assert (row["mass_satisfied"], row["mass_total"]) == (2, 3)
    assert row["composite"] is None and row["missing"] == ["peer", "branch"]
    assert row["policy_id"] == "default"


def test_the_roster_branch_wins_over_the_branch_named_by_facts() -> None:
    row = card_row(
        "m1",
        2024,
        adopted=DEFAULT_ADOPTED_POLICY,
        person={
            "branch_id": "b-roster",
            "membership": "full_member",
            "registered_on": None,
            "departed_on": None,
        },
        area=None,
        pledges=[pledge("p1", PledgeStatus.DECLARED)],
        tallies=[],
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
