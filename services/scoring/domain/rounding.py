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
    """The exact average of a non-empty collection.

    Scores have at most two decimal places: they are summed as whole cents (integers, exact
    and without a decimal context), and only the rest, if any, as Fractions."""
    count = 0
    cents = 0
    rest = Fraction(0)
    for value in values:
        count += 1
        if isinstance(value, Decimal):
            numerator, denominator = value.as_integer_ratio()
            if 100 % denominator == 0:
                cents += numerator * (100 // denominator)
                continue
        rest += Fraction(value)
    if not count:
        raise ValueError("mean of no values")
    return (Fraction(cents, 100) + rest) / count


def percentage(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, rounded like scores; None when there is no whole."""
    if whole == 0:
        return None
    return round_half_up(Fraction(part * 100, whole))
