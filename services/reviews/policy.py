"""The review rules an organization sets as policy (DOMAIN.md: "policy" values).

The organization department adopts a scoring policy per year in the scoring service; the
reviews service learns it from the scoring topic (``projections.policy``) and applies what it
needs: whether probationary members vote in the peer review, how many ballots a review's
result needs before it is shown, and, when a period closes, how its tallies are computed
(the mass review's paired share and single-part rule, the satisfaction threshold). Until a
policy is adopted for a year, the seed's applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.scoring import SEED_POLICY, ReviewKind, ScoringPolicy

SEED_POLICY_ID = "default"
"""The id scoring cites for the seed's policy (services.scoring.domain.policy)."""


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    policy_id: str = SEED_POLICY_ID
    scoring: ScoringPolicy = SEED_POLICY

    @property
    def probationary_members_vote(self) -> bool:
        return self.scoring.probationary_members_vote

    def min_ballots(self, kind: ReviewKind) -> int:
        return self.scoring.min_ballots.of(kind)


DEFAULT_POLICY = ReviewPolicy()
