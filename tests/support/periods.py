"""When a test's reviews clock may cast ballots in a period: review periods accept ballots
only within their window (by default their quarter or half-year, Beijing time) and open only
for last year, this year or next year, so a test moves the service's clock into the period
it votes in rather than switching the rule off."""

from __future__ import annotations

from datetime import UTC, datetime

_LAST_MONTH = {"Q1": 3, "Q2": 6, "Q3": 9, "Q4": 12, "H1": 6, "H2": 12}


def voting_moment(period: str, year: int) -> datetime:
    """10:00 in Beijing on the 20th of the period's last month: inside its default window
    (for Q1 of 2024, the reviews tests' ``NOW``)."""
    return datetime(year, _LAST_MONTH[period], 20, 2, 0, tzinfo=UTC)
