"""The review rules the service applies when no scoring policy has been adopted."""

from __future__ import annotations

import pytest

from services.reviews.policy import DEFAULT_POLICY, ReviewPolicy
from shared.contracts.scoring import SEED_POLICY, BallotMinimums, ReviewKind

pytestmark = pytest.mark.unit


def test_by_default_the_seed_policy_applies_as_in_scoring():
    # Probationary members do not vote; peer and mass results need 3 ballots, the branch
    # review (given by the committee) 1: the same defaults the scoring service computes with.
    assert DEFAULT_POLICY.probationary_members_vote is False
    assert [DEFAULT_POLICY.min_ballots(kind) for kind in ReviewKind] == [3, 3, 1]


def test_each_review_has_its_own_minimum():
    minimums = BallotMinimums(peer=2, mass=5, branch=1)
    policy = ReviewPolicy(scoring=SEED_POLICY.model_copy(update={"min_ballots": minimums}))
    assert policy.min_ballots(ReviewKind.PEER) == 2
    assert policy.min_ballots(ReviewKind.MASS) == 5
    assert policy.min_ballots(ReviewKind.BRANCH) == 1
