"""The demo company votes through the service like anyone else: on every day of the year the
periods it opens are accepted by the reviews domain (the year, the window) and their windows
contain that day, so its ballots are not refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.reviews.commands import OpenReviewPeriod
from services.reviews.domain import Window, default_window
from services.reviews.domain.window import BEIJING, window_refusal, year_refusal
from shared.contracts.scoring import Period
from suxing_cli.demo import period_body, review_slots

pytestmark = pytest.mark.unit

KINDS = {"Q": ("peer",), "H": ("mass", "branch")}


@pytest.mark.parametrize("year", [2027, 2028])  # a common year and a leap year
def test_every_period_the_demo_votes_in_accepts_ballots_that_day(year: int) -> None:
    day = date(year, 1, 1)
    while day.year == year:
        now = datetime.combine(day, time(10), BEIJING).astimezone(UTC)
        for period_year, period in review_slots(day).values():
            for kind in KINDS[period[0]]:
                body = period_body(day, "b-demo-1", kind, period, period_year)
                command = OpenReviewPeriod.model_validate(body)
                window = default_window(Period(period), period_year)
                if command.opens_on is not None and command.closes_on is not None:
                    window = Window(command.opens_on, command.closes_on)
                assert year_refusal(command.year, now) is None, (day, body)
                assert window_refusal(window, Period(period), period_year) is None, (day, body)
                assert window.contains(now), (day, body)
        day += timedelta(days=1)
