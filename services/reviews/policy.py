"""The review rules an organization sets as policy (DOMAIN.md: "policy" values).

The organization department adopts a scoring policy per year in the scoring service; the
reviews service learns it from the scoring topic (``projections.policy``) and applies the
two values it needs: whether probationary members vote in the peer review, and how many
ballots a review's result needs before it is shown. Until a policy is adopted for a year,
these defaults apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.scoring import SEED_POLICY, ReviewKind


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    probationary_members_vote: bool = SEED_POLICY.probationary_members_vote
    min_peer: int = SEED_POLICY.min_ballots.peer
    min_mass: int = SEED_POLICY.min_ballots.mass
    min_branch: int = SEED_POLICY.min_ballots.branch

    def min_ballots(self, kind: ReviewKind) -> int:
        match kind:
            case ReviewKind.PEER:
                return self.min_peer
            case ReviewKind.MASS:
                return self.min_mass
            case ReviewKind.BRANCH:
                return self.min_branch


DEFAULT_POLICY = ReviewPolicy()
