"""The benchmark's command run casts its ballots at the real clock: the periods it opens are
accepted by the reviews domain on any day and their windows contain that day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

import pytest

from bench.run.commands import command_periods
from services.reviews.commands import OpenReviewPeriod
from services.reviews.domain import Window
from services.reviews.domain.window import BEIJING, window_refusal, year_refusal
from shared.contracts.scoring import Period

pytestmark = pytest.mark.unit


def dataset(branches: int, members: int) -> Any:
    return SimpleNamespace(
        enterprise=SimpleNamespace(
            branches=[
                SimpleNamespace(
                    branch_id=f"b-{b}", full_members=[f"m-{b}-{m}" for m in range(members)]
                )
                for b in range(branches)
            ]
        )
    )


@pytest.mark.parametrize("today", [date(2027, 1, 1), date(2027, 5, 20), date(2027, 12, 31)])
def test_the_command_runs_periods_accept_ballots_today(today: date) -> None:
    data = dataset(branches=3, members=5)  # 15 voters: 75 ballots need 5 periods each
    bodies = command_periods(data, 75, today=today)
    assert len(bodies) == 15
    now = datetime.combine(today, time(10), BEIJING).astimezone(UTC)
    for body in bodies:
        command = OpenReviewPeriod.model_validate(body)
        assert command.opens_on is not None and command.closes_on is not None
        window = Window(command.opens_on, command.closes_on)
        assert year_refusal(command.year, now) is None
        assert window_refusal(window, Period(command.period), command.year) is None
        assert window.contains(now)


def test_the_command_run_says_when_it_needs_more_periods_than_accept_ballots() -> None:
    with pytest.raises(RuntimeError, match="only 5 quarters accept ballots"):
        command_periods(dataset(branches=1, members=4), 4 * 6, today=date(2027, 2, 1))
