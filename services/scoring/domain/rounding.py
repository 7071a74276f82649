"""Exact arithmetic for scores.

Rule: every figure the card shows (a period result, a review's annual result, the composite)
is rounded to 2 decimal places, half up (70.125 -> 70.13), from the exact value; the next
figure is computed from the shown, rounded ones, so anyone can recheck a card by hand.
Intermediate values are ``Fraction``s, so no precision setting of a ``decimal`` context can
change a result.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction


def round_half_up(value: Fraction) -> Decimal:
    """``value`` rounded to 2 decimal places, halves away from zero, as a 2-place Decimal."""
    scaled = abs(value) * 100
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    if whole == 0:
        return Decimal("0.00")
    return Decimal(whole if value >= 0 else -whole).scaleb(-2)


def mean(values: Iterable[Decimal | Fraction]) -> Fraction:
    """The exact average of a non-empty collection."""
    exact = [Fraction(value) for value in values]
    if not exact:
        raise ValueError("mean of no values")
    return sum(exact, Fraction(0)) / len(exact)


def percentage(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, rounded like scores; None when there is no whole."""
    if whole == 0:
        return None
    return round_half_up(Fraction(part * 100, whole))
