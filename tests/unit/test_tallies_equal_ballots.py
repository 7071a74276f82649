"""Cards from tallies equal cards from ballots on the synthetic company-year (bench/generate).

Scoring never sees a ballot: it builds each card from the reviews service's per-period
tallies (``MemberReviewed``). This checks, member by member, that nothing is lost: the card
computed from the tallies (``period_results`` + ``card_from_periods``, what the projection
runs) equals the card computed from the individual ballots (``compute_card``, the
reference), figure by figure, and so do the statistics built from the cards. The part
counts of a mass period are compared only where the tally may show them (each part meets the
minimum), and satisfaction counts only groups that meet it: those are the disclosure rules.

``python -m tests.unit.test_tallies_equal_ballots 1`` runs the whole company-year."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from bench.generate import Enterprise, generate
from services.scoring.domain import (
    DEFAULT_ADOPTED_POLICY,
    REVIEW_PERIODS,
    MemberScores,
    card_from_periods,
    compute_card,
)
from services.scoring.projections.derive import Tally, period_results
from shared.contracts.reviews import BallotCast, BallotRole, MemberReviewed
from shared.contracts.scoring import SEED_POLICY, Period, ReviewKind

pytestmark = pytest.mark.unit

_PART = {
    BallotRole.PEER: "peer",
    BallotRole.PAIRED: "mass_paired",
    BallotRole.ALL_STAFF: "mass_all_staff",
    BallotRole.BRANCH: "branch",
}


def reference_cards(enterprise: Enterprise) -> dict[tuple[str, int], dict[str, Any]]:
    """Each member's card from the ballots (each reviewer's single ballot counts), with
    every period of the year present, ballots or not, as the tallies have them."""
    scores: dict[str, dict[str, dict[Period, list[Decimal]]]] = defaultdict(
        lambda: {part: {} for part in _PART.values()}
    )
    members = {m for branch in enterprise.branches for m in branch.members}
    for item in enterprise.events:
        if isinstance(item.event, BallotCast):
            ballot = item.event
            for line in ballot.scores:
                part = scores[line.member_id][_PART[ballot.role]]
                part.setdefault(ballot.period, []).append(line.score)
    year = enterprise.events[0].year
    out = {}
    for member in sorted(members):
        parts = scores[member]
        for kind, names in (
            (ReviewKind.PEER, ("peer",)),
            (ReviewKind.MASS, ("mass_all_staff",)),
            (ReviewKind.BRANCH, ("branch",)),
        ):
            for period in REVIEW_PERIODS[kind]:
                for name in names:
                    parts[name].setdefault(period, [])
        card = compute_card(
            MemberScores.model_validate(
                {name: {p: tuple(v) for p, v in by.items()} for name, by in parts.items()}
            ),
            DEFAULT_ADOPTED_POLICY,
        )
        minimum = SEED_POLICY.min_ballots.mass
        mass = [
            (parts["mass_paired"].get(p, []), parts["mass_all_staff"].get(p, []))
            for p in REVIEW_PERIODS[ReviewKind.MASS]
        ]
        shown = [paired + staff for paired, staff in mass if len(paired) + len(staff) >= minimum]
        threshold = SEED_POLICY.satisfaction_threshold
        out[(member, year)] = {
            "card": card,
            "satisfied": sum(1 for group in shown for s in group if s >= threshold),
            "mass_total": sum(len(group) for group in shown),
            "parts_shown": {
                p: min((len(x) for x in (paired, staff) if x), default=0) >= minimum
                for p, (paired, staff) in zip(REVIEW_PERIODS[ReviewKind.MASS], mass, strict=True)
            },
        }
    return out


def tally_cards(enterprise: Enterprise) -> dict[tuple[str, int], dict[str, Any]]:
    tallies: dict[tuple[str, int], list[Tally]] = defaultdict(list)
    for item in enterprise.events:
        if isinstance(item.event, MemberReviewed):
            t = item.event
            parts = {part.role: part.ballots for part in t.parts}
            shown = bool(parts) and t.kind is ReviewKind.MASS
            tallies[(t.member_id, t.year)].append(
                Tally(
                    t.kind.value,
                    t.period.value,
                    t.status.value,
                    t.ballots,
                    None if t.result is None else str(t.result),
                    parts.get(BallotRole.PAIRED, 0) if shown else None,
                    parts.get(BallotRole.ALL_STAFF, 0) if shown else None,
                    t.satisfied,
                    t.branch_id,
                )
            )
    out = {}
    for key, found in tallies.items():
        mass = [t for t in found if t.kind == "mass" and t.satisfied is not None]
        out[key] = {
            "card": card_from_periods(period_results(found, []), DEFAULT_ADOPTED_POLICY),
            "satisfied": sum(t.satisfied or 0 for t in mass),
            "mass_total": sum(t.ballots for t in mass),
        }
    return out


def compare(enterprise: Enterprise) -> Counter[str]:
    """Compares every card; returns counts of what was compared. Raises on a difference."""
    reference, tallied = reference_cards(enterprise), tally_cards(enterprise)
    assert set(reference) == set(tallied)
    seen: Counter[str] = Counter()
    for key, expected in reference.items():
        got = tallied[key]
        card, mine = expected["card"], got["card"]
        assert (mine.composite, mine.band, mine.missing) == (
            card.composite,
            card.band,
            card.missing,
        ), key
        for ours, theirs in zip(mine.reviews, card.reviews, strict=True):
            assert ours.annual == theirs.annual, (key, ours.review)
            for a, b in zip(ours.periods, theirs.periods, strict=True):
                assert (a.period, a.ballots, a.status, a.result) == (
                    b.period,
                    b.ballots,
                    b.status,
                    b.result,
                ), (key, ours.review, a.period)
                if ours.review is ReviewKind.MASS and expected["parts_shown"][a.period]:
                    assert (a.paired_ballots, a.all_staff_ballots) == (
                        b.paired_ballots,
                        b.all_staff_ballots,
                    )
                    seen["mass parts shown"] += 1
                seen["periods"] += 1
        assert (got["satisfied"], got["mass_total"]) == (
            expected["satisfied"],
            expected["mass_total"],
        ), key
        seen["cards"] += 1
        seen[f"band {card.band.band.value if card.band else 'none'}"] += 1
    return seen


def test_cards_from_tallies_equal_cards_from_ballots_on_the_synthetic_company() -> None:
    seen = compare(generate(11, scale=0.01))
    assert seen["cards"] > 100 and seen["periods"] == 8 * seen["cards"]
    assert seen["mass parts shown"] > 0


if __name__ == "__main__":
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    print(dict(compare(generate(1, scale=scale))))
