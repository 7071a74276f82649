"""Property: the card's composite equals a direct computation from the same ballots.

The reference below is written independently of the domain code: plain ``Decimal`` with a
60-digit context (the domain uses exact ``Fraction``s), following DOMAIN.md section 3 and the
rounding rule (2 places, half up, each shown figure computed from the shown ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from services.scoring.domain import AdoptedPolicy, MemberScores, compute_card, round_half_up
from services.scoring.domain.rounding import mean
from shared.contracts.scoring import HALF_YEARS, QUARTERS, Period, ScoringPolicy

from .helpers import policy_with

pytestmark = pytest.mark.unit

CENT = Decimal("0.01")

scores = st.integers(min_value=0, max_value=10_000).map(lambda cents: Decimal(cents) / 100)


def ballots(periods: Sequence[Period]) -> st.SearchStrategy[dict[Period, list[Decimal]]]:
    # Per period: mostly enough ballots to count, sometimes too few, sometimes not held.
    counted = st.lists(scores, min_size=3, max_size=8)
    short = st.lists(scores, max_size=2)
    per_period = st.one_of(st.none(), counted, counted, short)
    return st.tuples(*(per_period for _ in periods)).map(
        lambda drawn: {p: s for p, s in zip(periods, drawn, strict=True) if s is not None}
    )


@st.composite
def policies(draw: st.DrawFn) -> ScoringPolicy:
    peer = draw(st.integers(min_value=1, max_value=98))
    mass = draw(st.integers(min_value=1, max_value=99 - peer))
    return policy_with(
        weights={
            "peer": Decimal(peer) / 100,
            "mass": Decimal(mass) / 100,
            "branch": Decimal(100 - peer - mass) / 100,
        },
        min_ballots={
            "peer": draw(st.integers(1, 4)),
            "mass": draw(st.integers(1, 4)),
            "branch": draw(st.integers(1, 3)),
        },
        mass_paired_share=draw(st.sampled_from(["0.50", "0.25", "0.60", "0.33"])),
        mass_single_part_counts=draw(st.booleans()),
    )


def rounded(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def average(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def annual(period_results: Sequence[Decimal]) -> Decimal | None:
    return rounded(average(period_results)) if period_results else None


def simple_annual(raw: Mapping[Period, list[Decimal]], minimum: int) -> Decimal | None:
    return annual([rounded(average(s)) for s in raw.values() if len(s) >= minimum])


def mass_annual(
    paired: Mapping[Period, list[Decimal]],
    all_staff: Mapping[Period, list[Decimal]],
    policy: ScoringPolicy,
) -> Decimal | None:
    share = policy.mass_paired_share
    results = []
    for period in set(paired) | set(all_staff):
        p, a = paired.get(period, []), all_staff.get(period, [])
        if len(p) + len(a) < policy.min_ballots.mass:
            continue
        if p and a:
            results.append(rounded(share * average(p) + (1 - share) * average(a)))
        elif policy.mass_single_part_counts:
            results.append(rounded(average(p or a)))
    return annual(results)


@settings(max_examples=300)
@given(
    policy=policies(),
    peer=ballots(QUARTERS),
    paired=ballots(HALF_YEARS),
    all_staff=ballots(HALF_YEARS),
    branch=ballots(HALF_YEARS),
)
def test_composite_equals_a_direct_computation(
    policy: ScoringPolicy,
    peer: dict[Period, list[Decimal]],
    paired: dict[Period, list[Decimal]],
    all_staff: dict[Period, list[Decimal]],
    branch: dict[Period, list[Decimal]],
) -> None:
    member = MemberScores(
        peer={k: tuple(v) for k, v in peer.items()},
        mass_paired={k: tuple(v) for k, v in paired.items()},
        mass_all_staff={k: tuple(v) for k, v in all_staff.items()},
        branch={k: tuple(v) for k, v in branch.items()},
    )

    card = compute_card(member, AdoptedPolicy(policy_id="random", policy=policy))

    with localcontext(prec=60):
        expected = {
            "peer": simple_annual(peer, policy.min_ballots.peer),
            "mass": mass_annual(paired, all_staff, policy),
            "branch": simple_annual(branch, policy.min_ballots.branch),
        }
        weights = {
            "peer": policy.weights.peer,
            "mass": policy.weights.mass,
            "branch": policy.weights.branch,
        }
        present = {k: v for k, v in expected.items() if v is not None}
        composite = (
            rounded(sum((weights[k] * v for k, v in present.items()), Decimal(0)))
            if len(present) == 3
            else None
        )

    assert (card.peer.annual, card.mass.annual, card.branch.annual) == (
        expected["peer"],
        expected["mass"],
        expected["branch"],
    )
    assert card.composite == composite
    assert [k.value for k in card.missing] == [k for k, v in expected.items() if v is None]
    event("with composite" if card.composite is not None else "missing a review")
    if card.composite is not None:
        assert Decimal(0) <= card.composite <= Decimal(100)
        assert card.composite.as_tuple().exponent == -2
        assert card.band is not None
    else:
        assert card.band is None


@given(
    numerator=st.integers(min_value=-(10**9), max_value=10**9),
    denominator=st.integers(min_value=1, max_value=10**6),
)
def test_round_half_up_agrees_with_decimal_quantize(numerator: int, denominator: int) -> None:
    with localcontext(prec=60):
        expected = (Decimal(numerator) / Decimal(denominator)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )

    result = round_half_up(Fraction(numerator, denominator))

    assert result == expected
    assert str(result) == str(expected + 0)


@given(
    st.lists(
        st.one_of(
            st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
            st.fractions(min_value=0, max_value=100, max_denominator=97),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_mean_is_the_exact_average_of_cents_and_fractions(values: list[Any]) -> None:
    """The cents shortcut in ``mean`` gives exactly what plain Fraction arithmetic gives."""
    assert mean(values) == sum((Fraction(v) for v in values), Fraction(0)) / len(values)
