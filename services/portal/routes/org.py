"""The organization department: statistics of the company, a unit or a branch with charts,
the Excel export, several years side by side (历年对比), and the year's scoring policy."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import Ctx, Form, Signed, redirect
from services.portal.years import (
    FIRST_YEAR,
    LAST_YEAR,
    RequestedYear,
    posted_year,
    review_year,
)

router = APIRouter(prefix="/org", default_response_class=HTMLResponse)
GROUPS = {
    "weights": ("peer", "mass", "branch"),
    "bands": ("unqualified_below", "yellow_card_below", "criticism_below", "no_awards_below"),
    "min_ballots": ("peer", "mass", "branch"),
}
SCALARS = ("mass_paired_share", "satisfaction_threshold", "notice_days")
FLAGS = ("mass_single_part_counts", "probationary_members_vote")


def _unit_only(ctx: Ctx) -> str | None:
    """A unit committee member (not also of the organization department) sees their unit."""
    if ctx.is_("org_admin") or not ctx.is_("unit_committee"):
        return None
    return ctx.me.unit_id


def _scope(ctx: Ctx, scope: str, id: str | None, scope_ref: str | None) -> tuple[str, str | None]:
    """The scope asked for (``scope_ref`` is the picker's ``kind:id``); by default the
    company, or a unit committee's own unit."""
    if scope_ref:
        scope, _, id = scope_ref.partition(":")
    unit = _unit_only(ctx)
    if unit is not None and (scope == "company" or not id):
        scope, id = "unit", unit
    scope = scope if scope in ("company", "unit", "branch") else "company"
    return scope, (None if scope == "company" else id or None)


def _visible(ctx: Ctx, branches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The branches the picker offers: all, or a unit committee's own."""
    unit = _unit_only(ctx)
    return branches if unit is None else [b for b in branches if b["unit_id"] == unit]


def _areas(stats: dict[str, Any]) -> list[tuple[str, int]]:
    """The areas with signed pledges, most first (ties in the areas' own order)."""
    counts = [(a["label"], a["pledges"]) for a in stats["pledges_signed_by_area"] if a["pledges"]]
    return sorted(counts, key=lambda area: -area[1])


def _turnout(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Per review period: eligible and voted reviewers summed over the branches in scope."""
    return [
        {
            "title": period["title"],
            "eligible": period["eligible"],
            "voted": period["voted"],
            "percent": round(period["voted"] * 100 / period["eligible"])
            if period["eligible"]
            else None,
        }
        for period in view["periods"]
    ]


@router.get("")
async def statistics(
    ctx: Signed,
    year: RequestedYear = None,
    scope: str = "company",
    id: str | None = None,
    scope_ref: str | None = None,
) -> HTMLResponse:
    """Three calls whatever the scope: the branches (for the picker), scoring's statistics
    (with the signed pledges per area) and reviews' turnout of the scope."""
    scope, scope_id = _scope(ctx, scope, id, scope_ref)
    shown = (await review_year(ctx, year)).shown
    branches = _visible(ctx, await ctx.api.pledges.branches())
    stats = await ctx.api.scoring.statistics(shown, scope, scope_id)
    turnout = await ctx.api.reviews.scope_turnout(shown, scope, scope_id)
    areas = _areas(stats)
    units = {b["unit_id"]: b["unit_name"] or b["unit_id"] for b in branches}
    return ctx.render(
        "org.html",
        stats=stats,
        shown_year=shown,
        own_year_switch=True,
        scope=scope,
        scope_id=scope_id,
        branches=branches,
        units=units,
        areas=areas,
        area_max=max((n for _, n in areas), default=0),
        turnout=_turnout(turnout),
    )


@router.get("/export.xlsx")
async def export(
    ctx: Signed,
    year: RequestedYear = None,
    scope: str = "company",
    id: str | None = None,
    scope_ref: str | None = None,
) -> Response:
    """The selected scope's statistics as Excel (a unit committee: its unit by default)."""
    scope, scope_id = _scope(ctx, scope, id, scope_ref)
    shown = (await review_year(ctx, year)).shown
    upstream = await ctx.api.scoring.export(shown, scope, scope_id)
    return Response(
        upstream.content,
        media_type=upstream.headers.get("content-type"),
        headers={"Content-Disposition": upstream.headers.get("content-disposition", "")},
    )


FromYear = Annotated[int | None, Query(alias="from", ge=FIRST_YEAR, le=LAST_YEAR)]
ToYear = Annotated[int | None, Query(alias="to", ge=FIRST_YEAR, le=LAST_YEAR)]


async def _span(ctx: Ctx, first: int | None, last: int | None) -> tuple[int, int]:
    """By default the three years up to the review year."""
    last = last if last is not None else (await review_year(ctx, None)).shown
    return (first if first is not None else last - 2), last


@router.get("/history")
async def history(
    ctx: Signed,
    scope: str = "company",
    id: str | None = None,
    scope_ref: str | None = None,
    first: FromYear = None,
    last: ToYear = None,
) -> HTMLResponse:
    """历年对比: the scope's figures for several years with the change from the year before."""
    scope, scope_id = _scope(ctx, scope, id, scope_ref)
    first, last = await _span(ctx, first, last)
    branches = _visible(ctx, await ctx.api.pledges.branches())
    form = Form(values={"from": first, "to": last})
    try:
        view = await ctx.api.scoring.statistics_history(scope, scope_id, first, last)
    except ServiceError as exc:
        if exc.status != 422:
            raise
        view, form = None, Form(values=form.values, message=exc.message)
    units = {b["unit_id"]: b["unit_name"] or b["unit_id"] for b in branches}
    query = urlencode({"scope_ref": f"{scope}:{scope_id or ''}", "from": first, "to": last})
    return ctx.render(
        "org_history.html",
        status_code=422 if view is None else 200,
        view=view,
        form=form,
        scope=scope,
        scope_id=scope_id,
        branches=branches,
        units=units,
        export_query=query,
        own_year_switch=True,
    )


@router.get("/history.xlsx")
async def history_export(
    ctx: Signed,
    scope: str = "company",
    id: str | None = None,
    scope_ref: str | None = None,
    first: FromYear = None,
    last: ToYear = None,
) -> Response:
    scope, scope_id = _scope(ctx, scope, id, scope_ref)
    first, last = await _span(ctx, first, last)
    upstream = await ctx.api.scoring.statistics_history_export(scope, scope_id, first, last)
    return Response(
        upstream.content,
        media_type=upstream.headers.get("content-type"),
        headers={"Content-Disposition": upstream.headers.get("content-disposition", "")},
    )


def _policy_values(adopted: dict[str, Any]) -> dict[str, Any]:
    policy = adopted["policy"]
    values: dict[str, Any] = {"policy_id": ""}
    for group, keys in GROUPS.items():
        for key in keys:
            values[f"{group}.{key}"] = policy[group][key]
    for key in (*SCALARS, *FLAGS):
        values[key] = policy[key]
    return values


@router.get("/policy")
async def policy_page(ctx: Signed, year: RequestedYear = None) -> HTMLResponse:
    adopted = await ctx.api.scoring.policy((await review_year(ctx, year)).shown)
    return ctx.render(
        "policy.html", adopted=adopted, form=Form(values=_policy_values(adopted)), groups=GROUPS
    )


@router.post("/policy")
async def adopt_policy(ctx: Signed, request: Request) -> Response:
    values = {k: str(v).strip() for k, v in (await request.form()).items()}
    policy: dict[str, Any] = {
        group: {key: values.get(f"{group}.{key}") for key in keys} for group, keys in GROUPS.items()
    }
    policy.update({key: values.get(key) for key in SCALARS})
    policy.update({key: key in values for key in FLAGS})
    year = posted_year(values, (await review_year(ctx, None)).shown)
    body = {"year": year, "policy_id": values.get("policy_id"), "policy": policy}
    try:
        await ctx.api.scoring.adopt_policy(body)
    except ServiceError as exc:
        adopted = await ctx.api.scoring.policy((await review_year(ctx, year)).shown)
        form = Form.failed({**values, **{k: k in values for k in FLAGS}}, exc)
        return ctx.render(
            "policy.html", status_code=exc.status, adopted=adopted, form=form, groups=GROUPS
        )
    return redirect(f"/org/policy?year={year}", "评分办法已通过，积分卡将按新办法重新计算")
