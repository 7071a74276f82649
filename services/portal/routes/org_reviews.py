"""The company's and the units' review periods (全公司、二级党委评议期): the organization
department opens and closes company-wide and unit-wide periods, a unit committee its own
unit's. Each period shows its window and the turnout of the organizer's scope (counts only);
closing asks for the tick, as on the branch committee's page.

Branch periods stay on the branch committee's page (/committee/reviews); the reviews service
decides who may open and close what, and its refusals are shown by the form."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import NOT_CONFIRMED, Ctx, Form, Organizer, period_organizer, redirect
from services.portal.years import RequestedYear, posted_year, review_year

router = APIRouter(
    prefix="/org/reviews",
    default_response_class=HTMLResponse,
    dependencies=[Depends(period_organizer)],
)
PERIODS = {"peer": ("Q1", "Q2", "Q3", "Q4"), "mass": ("H1", "H2"), "branch": ("H1", "H2")}


def _own_unit(ctx: Ctx) -> str | None:
    """A unit committee member's unit; None for the organization department (any scope)."""
    return None if ctx.is_("org_admin") else ctx.me.unit_id


def _mine(ctx: Ctx, period: dict[str, Any]) -> bool:
    """A company-wide or unit-wide period this person sees: all of them for the organization
    department; the company's and their own unit's for a unit committee."""
    if period["scope_level"] == "company":
        return True
    if period["scope_level"] != "unit":
        return False
    unit = _own_unit(ctx)
    return unit is None or period["unit_id"] == unit


def _closes(ctx: Ctx, period: dict[str, Any]) -> bool:
    """Whether the page offers to close it: the organizer of its scope."""
    if period["closed"]:
        return False
    unit = _own_unit(ctx)
    return unit is None or (period["scope_level"] == "unit" and period["unit_id"] == unit)


async def _page(
    ctx: Ctx, form: Form | None = None, status: int = 200, year: int | None = None
) -> HTMLResponse:
    shown = (await review_year(ctx, year)).shown
    unit = _own_unit(ctx)
    scope, scope_id = ("company", None) if unit is None else ("unit", unit)
    periods = [p for p in await ctx.api.reviews.periods(shown) if _mine(ctx, p)]
    turnout = {
        t["period_id"]: t
        for t in (await ctx.api.reviews.scope_turnout(shown, scope, scope_id))["periods"]
    }
    branches = await ctx.api.pledges.branches()
    units = {b["unit_id"]: b["unit_name"] or b["unit_id"] for b in branches}
    if unit is not None:
        units = {unit: units.get(unit, unit)}
    return ctx.render(
        "org_reviews.html",
        periods=[
            {**p, "turnout": turnout.get(p["period_id"]), "closes": _closes(ctx, p)}
            for p in periods
        ],
        units=units,
        kinds=PERIODS,
        form=form or Form(),
        blank=Form(),
        # One key per rendered form: submitting it twice opens one period.
        idempotency_key=(form.values.get("idempotency_key") if form else None) or uuid.uuid4().hex,
        status_code=status,
    )


@router.get("")
async def reviews(ctx: Organizer, year: RequestedYear = None) -> HTMLResponse:
    return await _page(ctx, year=year)


@router.post("")
async def open_period(ctx: Organizer, request: Request) -> Response:
    values = dict(await request.form())
    deadline = str(values.get("deadline", "")).strip()
    kind, _, period = str(values.get("kind_period", "")).partition(":")
    level, _, scope_id = str(values.get("scope_ref", "")).partition(":")
    unit = _own_unit(ctx)
    if unit is not None:  # a unit committee organizes its own unit only
        level, scope_id = "unit", unit
    year = posted_year(values, (await review_year(ctx, None)).shown)
    body = {
        "kind": kind,
        "period": period,
        "year": year,
        "scope_level": level or "company",
        "scope_id": scope_id or None,
        "deadline": f"{deadline}T23:59:59+08:00" if deadline else None,
        "opens_on": str(values.get("opens_on", "")).strip() or None,
        "closes_on": str(values.get("closes_on", "")).strip() or None,
    }
    key = str(values.get("idempotency_key", "")).strip() or None
    try:
        await ctx.api.reviews.open_period(body, idempotency_key=key)
    except ServiceError as exc:
        return await _page(ctx, Form.failed(values, exc), exc.status, year)
    return redirect(f"/org/reviews?year={year}", "评议期已开启")


@router.post("/{period_id}/close")
async def close_period(ctx: Organizer, period_id: str, request: Request) -> Response:
    """结束评议期: irreversible (every covered branch's members are tallied), so it needs
    the tick; a refusal is shown next to the period's button and nothing is sent."""
    values = {**dict(await request.form()), "period_id": period_id}
    year = posted_year(values, (await review_year(ctx, None)).shown)
    if values.get("confirm") != "yes":
        unconfirmed = Form(values=values, errors={"confirm": NOT_CONFIRMED})
        unconfirmed.message = NOT_CONFIRMED
        return await _page(ctx, unconfirmed, 422, year)
    try:
        await ctx.api.reviews.close_period(period_id)
    except ServiceError as exc:
        return await _page(ctx, Form.failed(values, exc), exc.status, year)
    return redirect(f"/org/reviews?year={year}", "评议期已结束并计票")
