"""Which year a page shows (the review year).

Pages about reviews and results (the card, the committee's periods and results, the ballots,
the organization department's statistics and policy) show by default the year whose results
are not final yet: in January that is last year, whose second-half reviews, publication,
objections and finalization happen then. The scoring service decides it (``GET
/review-year``: this branch for a person with a branch, any branch for the organization
department). Pages about the plan (area, pledges, needs, the committee's pledge list) show
the calendar year. Every page takes ``?year=`` and offers a switch; a past year's plan pages
are read-only (pledges are declared for the calendar year only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Query

from services.portal.clients import ServiceError

if TYPE_CHECKING:
    from services.portal.web import Ctx

FIRST_YEAR = 2000
LAST_YEAR = 2100
SWITCH_YEARS = 5
RequestedYear = Annotated[
    int | None,
    Query(ge=FIRST_YEAR, le=LAST_YEAR, description="年度；不填为默认年度"),
]


@dataclass(frozen=True)
class YearView:
    """The year a page shows, the year it would show without ``?year=`` and why."""

    shown: int
    default: int
    calendar: int
    reason: str | None = None
    known: bool = True
    """False when the page did not ask for the default (a year was given): the switch then
    marks no year as the default."""

    @property
    def chosen(self) -> bool:
        """The person picked another year than the default: links keep it."""
        return self.shown != self.default

    @property
    def past(self) -> bool:
        return self.shown < self.calendar

    @property
    def choices(self) -> list[int]:
        years = set(range(self.calendar, self.calendar - SWITCH_YEARS, -1)) | {self.shown}
        return sorted(years, reverse=True)

    def link(self, path: str) -> str:
        """``path`` with the chosen year, so moving between pages keeps it."""
        if not self.chosen:
            return path
        return f"{path}{'&' if '?' in path else '?'}year={self.shown}"


def posted_year(values: dict[str, Any], fallback: int) -> int:
    """The year a form was shown for (its hidden ``year`` field), within the allowed range."""
    raw = str(values.get("year", "")).strip()
    if raw.isdigit() and FIRST_YEAR <= int(raw) <= LAST_YEAR:
        return int(raw)
    return fallback


async def review_year(ctx: Ctx, requested: int | None) -> YearView:
    """The review year for the signed-in person (their branch, or the whole company for the
    organization department). If scoring cannot say, the calendar year. A page given a year
    does not ask."""
    from services.portal.web import this_year

    calendar = this_year()
    if requested is not None:
        view = YearView(shown=requested, default=calendar, calendar=calendar, known=False)
        ctx.years = view
        return view
    default, reason = calendar, None
    branch = ctx.user.branch_id if ctx.user is not None else None
    try:
        answer = await ctx.api.scoring.review_year(None if ctx.is_("org_admin") else branch)
        default = int(answer["year"])
        reason = str(answer["reason"]) if default != calendar else None
    except (ServiceError, KeyError, TypeError, ValueError):
        pass
    view = YearView(shown=default, default=default, calendar=calendar, reason=reason)
    ctx.years = view
    return view


def plan_year(ctx: Ctx, requested: int | None) -> YearView:
    """The plan year: the calendar year unless another is asked for."""
    from services.portal.web import this_year

    calendar = this_year()
    view = YearView(shown=requested or calendar, default=calendar, calendar=calendar)
    ctx.years = view
    return view
