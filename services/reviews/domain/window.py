"""When a review period accepts ballots: its window, and which years may be opened at all.

A period's **window** is a range of days, Beijing time, first and last day included. By
default it is the period itself: its quarter for the quarterly peer review, its half-year
for the half-yearly mass and branch reviews (the whole year for a yearly review, should one
be added). The organizer may give another window when opening, or move it later with a
reason (``ReviewPeriodWindowAdjusted``). Within limits: a window never opens before its
period begins (no one reviews a quarter that has not started) and closes at the latest at
the end of the following year (DOMAIN.md section 5: in January the previous year's
second-half reviews are still open work).

The **deadline** (a moment, optional) stays what it was: the moment the scheduler closes and
tallies the period. It must fall within the window; a deadline beyond the window's end is
refused rather than silently widening the window. To vote longer, the organizer adjusts the
window first, with a reason, which is then on the record.

A period may only be opened for last year, this year or next year (by the Beijing date of
the service's clock): anything else is a typo, or a way to vote on a year long gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from shared.contracts.scoring import Period
from shared.errors import InvalidInput

BEIJING = timezone(timedelta(hours=8))
YEARS_AROUND = 1
"""How far from this year a period may be opened: last year, this year and next year."""

_SPANS: dict[Period | None, tuple[int, int]] = {
    Period.Q1: (1, 3),
    Period.Q2: (4, 6),
    Period.Q3: (7, 9),
    Period.Q4: (10, 12),
    Period.H1: (1, 6),
    Period.H2: (7, 12),
    None: (1, 12),
}


def beijing_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("moment must carry a time zone")
    return moment.astimezone(BEIJING).date()


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True, slots=True)
class Window:
    """The days ballots are accepted on, both included, in Beijing time."""

    opens_on: date
    closes_on: date

    @property
    def starts_at(self) -> datetime:
        """The first moment of ``opens_on`` in Beijing, in UTC."""
        return datetime.combine(self.opens_on, time(), BEIJING).astimezone(UTC)

    @property
    def ends_at(self) -> datetime:
        """The moment after the last one of ``closes_on`` in Beijing, in UTC."""
        return datetime.combine(self.closes_on + timedelta(days=1), time(), BEIJING).astimezone(UTC)

    def contains(self, moment: datetime) -> bool:
        return self.opens_on <= beijing_date(moment) <= self.closes_on

    @property
    def label(self) -> str:
        """E.g. "2031年1月1日至2031年3月31日"."""
        return f"{chinese_date(self.opens_on)}至{chinese_date(self.closes_on)}"


def default_window(period: Period | None, year: int) -> Window:
    """The period's own days: its quarter or half-year (``None``: the whole year)."""
    first, last = _SPANS[period]
    following = date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)
    return Window(date(year, first, 1), following - timedelta(days=1))


def window_refusal(window: Window, period: Period | None, year: int) -> InvalidInput | None:
    """Why ``window`` cannot be the window of ``period`` in ``year``; None if it can."""
    if window.closes_on < window.opens_on:
        return InvalidInput("投票时间的结束日不能早于开始日")
    earliest = default_window(period, year).opens_on
    if window.opens_on < earliest:
        return InvalidInput(f"投票时间不能早于评议期本身开始的{chinese_date(earliest)}")
    latest = date(year + 1, 12, 31)
    if window.closes_on > latest:
        return InvalidInput(f"投票时间最晚到次年年底（{chinese_date(latest)}）")
    return None


def year_refusal(year: int, now: datetime) -> InvalidInput | None:
    """Why a period of ``year`` cannot be opened at ``now``; None if it can."""
    this_year = beijing_date(now).year
    if abs(year - this_year) <= YEARS_AROUND:
        return None
    return InvalidInput(
        f"只能开启去年、今年或明年的评议期（{this_year - 1}年至{this_year + 1}年），"
        f"不能开启{year}年的评议期"
    )


def deadline_refusal(deadline: datetime, window: Window) -> InvalidInput | None:
    """A deadline must fall within the window: after its first day began and no later than
    the end of its last day."""
    if deadline > window.ends_at:
        return InvalidInput(
            f"截止时间晚于投票时间（{window.label}）的最后一天；"
            "如需延长投票，请先调整投票时间并说明原因"
        )
    if deadline <= window.starts_at:
        return InvalidInput(f"截止时间早于投票时间（{window.label}）的第一天")
    return None
