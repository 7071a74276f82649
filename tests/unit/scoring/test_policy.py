from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from services.scoring.commands import AdoptScoringPolicy
from services.scoring.domain import (
    DEFAULT_POLICY,
    PolicyYear,
    adopt_policy,
    evolve_policy_year,
    policy_in_force,
    policy_stream,
    replay_policy_year,
)
from shared.contracts import REGISTRY, canonical_json
from shared.contracts.scoring import (
    FinalMemberResult,
    ScoringPolicy,
    ScoringPolicyAdopted,
    YearResultsFinalized,
)
from shared.errors import Conflict

from .helpers import policy_with

pytestmark = pytest.mark.unit


def adopt(year: int = 2025, policy_id: str = "p1", **changes: Any) -> AdoptScoringPolicy:
    return AdoptScoringPolicy(year=year, policy_id=policy_id, policy=policy_with(**changes))


def finalized(branch_id: str, year: int = 2025) -> YearResultsFinalized:
    return YearResultsFinalized(
        branch_id=branch_id,
        year=year,
        policy_id="p1",
        results=(
            FinalMemberResult(
                member_id="m1",
                composite=Decimal("90"),
                band="no_awards",
                missing=(),
                adjusted=False,
            ),
        ),
    )


def test_the_default_policy_is_the_seeds() -> None:
    policy = DEFAULT_POLICY

    assert (policy.weights.peer, policy.weights.mass, policy.weights.branch) == (
        Decimal("0.30"),
        Decimal("0.40"),
        Decimal("0.30"),
    )
    assert (
        policy.bands.unqualified_below,
        policy.bands.yellow_card_below,
        policy.bands.criticism_below,
        policy.bands.no_awards_below,
    ) == tuple(Decimal(bound) for bound in (60, 75, 85, 95))
    assert policy.mass_paired_share == Decimal("0.50")
    assert policy.mass_single_part_counts is True
    assert policy.min_ballots.peer == policy.min_ballots.mass == 3
    assert policy.satisfaction_threshold == 60
    assert policy.probationary_members_vote is False
    assert policy.notice_days == 7


def test_weights_must_sum_to_one_hundred_percent() -> None:
    with pytest.raises(ValidationError, match="权重之和必须为 100%，当前为 95%"):
        policy_with(weights={"peer": "0.30", "mass": "0.35", "branch": "0.30"})


def test_a_review_cannot_weigh_nothing() -> None:
    with pytest.raises(ValidationError, match="权重必须大于 0"):
        policy_with(weights={"peer": "0", "mass": "0.70", "branch": "0.30"})


def test_band_thresholds_must_increase() -> None:
    with pytest.raises(ValidationError, match="依次递增"):
        policy_with(
            bands={
                "unqualified_below": "60",
                "yellow_card_below": "85",
                "criticism_below": "75",
                "no_awards_below": "95",
            }
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_ballots": {"peer": 0, "mass": 3, "branch": 1}}, "最少票数"),
        ({"mass_paired_share": "1"}, "结对群众评议所占比例"),
        ({"notice_days": 0}, "公示期"),
        ({"satisfaction_threshold": "101"}, "0 到 100"),
    ],
)
def test_policy_values_out_of_range_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        policy_with(**changes)


def test_a_policy_has_no_silent_defaults() -> None:
    with pytest.raises(ValidationError):
        ScoringPolicy.model_validate({"notice_days": 7})


def test_without_an_adopted_policy_the_default_is_in_force() -> None:
    adopted = policy_in_force(None)

    assert adopted.policy_id == "default"
    assert adopted.policy == DEFAULT_POLICY


def test_adopting_a_policy_puts_it_in_force_for_the_year() -> None:
    event = adopt_policy(None, adopt(notice_days=10))

    state = evolve_policy_year(None, event)

    assert event == ScoringPolicyAdopted(
        year=2025, policy_id="p1", policy=policy_with(notice_days=10)
    )
    assert policy_in_force(state).policy_id == "p1"
    assert policy_in_force(state).policy.notice_days == 10


def test_a_later_adoption_replaces_the_earlier_one() -> None:
    first = adopt_policy(None, adopt(policy_id="p1"))
    state = evolve_policy_year(None, first)
    second = adopt_policy(state, adopt(policy_id="p2", notice_days=5))

    state = evolve_policy_year(state, second)

    assert policy_in_force(state).policy_id == "p2"


def test_a_policy_id_is_not_reused_within_a_year() -> None:
    state = evolve_policy_year(None, adopt_policy(None, adopt(policy_id="p1")))

    with pytest.raises(Conflict, match="已经使用过"):
        adopt_policy(state, adopt(policy_id="p1", notice_days=5))


def test_adopting_for_a_year_with_finalized_results_is_a_conflict() -> None:
    state = replay_policy_year([finalized("branch-7")])

    with pytest.raises(Conflict, match="2025年度已有 1 个支部的评议结果定稿"):
        adopt_policy(state, adopt())


def test_the_policy_fold_refuses_an_event_of_another_year() -> None:
    with pytest.raises(ValueError, match="policy stream of 2025"):
        evolve_policy_year(PolicyYear(year=2025), finalized("branch-7", year=2024))


def test_the_stream_is_per_year() -> None:
    assert policy_stream(2025) == "scoring-policy-2025"


def test_the_adoption_event_round_trips_byte_for_byte() -> None:
    event = adopt_policy(None, adopt())
    data = event.model_dump(mode="json")

    decoded = REGISTRY.decode("ScoringPolicyAdopted", 1, data)

    assert decoded == event
    assert canonical_json(decoded.model_dump(mode="json")) == canonical_json(data)
    assert data["policy"]["weights"] == {"peer": "0.30", "mass": "0.40", "branch": "0.30"}
