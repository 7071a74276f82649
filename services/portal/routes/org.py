"""The organization department: statistics of the company, a unit or a branch with charts,
the Excel export, and the year's scoring policy."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import Ctx, Form, Signed, redirect, this_year

router = APIRouter(prefix="/org", default_response_class=HTMLResponse)
Year = Annotated[int | None, Query(ge=2000, le=2100)]
GROUPS = {
    "weights": ("peer", "mass", "branch"),
    "bands": ("unqualified_below", "yellow_card_below", "criticism_below", "no_awards_below"),
    "min_ballots": ("peer", "mass", "branch"),
}
SCALARS = ("mass_paired_share", "satisfaction_threshold", "notice_days")
FLAGS = ("mass_single_part_counts", "probationary_members_vote")


def _in_scope(branches: list[dict[str, Any]], scope: str, scope_id: str | None) -> list[str]:
    if scope == "unit":
        return [b["branch_id"] for b in branches if b["unit_id"] == scope_id]
    if scope == "branch":
        return [b["branch_id"] for b in branches if b["branch_id"] == scope_id]
    return [b["branch_id"] for b in branches]


async def _turnout(
    ctx: Ctx, year: int, branch_ids: list[str], unit_of: dict[str, str]
) -> list[dict[str, Any]]:
    """Per review period: eligible and voted reviewers summed over the branches in scope."""
    rows = []
    for period in await ctx.api.reviews.periods(year):
        level = period["scope_level"]
        covered = [
            b
            for b in branch_ids
            if level == "company"
            or (level == "unit" and period["unit_id"] == unit_of.get(b))
            or (level == "branch" and period["branch_id"] == b)
        ]
        if not covered:
            continue
        views = await asyncio.gather(
            *(ctx.api.reviews.turnout(period["period_id"], b) for b in covered),
            return_exceptions=True,
        )
        eligible = voted = 0
        for view in views:
            if isinstance(view, dict):
                eligible += sum(r["eligible"] for r in view["roles"])
                voted += sum(r["voted"] for r in view["roles"])
        share = round(voted * 100 / eligible) if eligible else None
        rows.append(
            {"title": period["title"], "eligible": eligible, "voted": voted, "percent": share}
        )
    return rows


@router.get("")
async def statistics(
    ctx: Signed,
    year: Year = None,
    scope: str = "company",
    id: str | None = None,
    scope_ref: str | None = None,
) -> HTMLResponse:
    if scope_ref:
        scope, _, id = scope_ref.partition(":")
    shown = year or this_year()
    scope = scope if scope in ("company", "unit", "branch") else "company"
    branches = await ctx.api.pledges.branches()
    stats = await ctx.api.scoring.statistics(shown, scope, None if scope == "company" else id)
    branch_ids = _in_scope(branches, scope, id)
    lists = await asyncio.gather(*(ctx.api.pledges.branch_pledges(b, shown) for b in branch_ids))
    areas = Counter(
        p["area_label"] for pledges in lists for p in pledges if p["status"] != "withdrawn"
    )
    units = {b["unit_id"]: b["unit_name"] or b["unit_id"] for b in branches}
    return ctx.render(
        "org.html",
        stats=stats,
        shown_year=shown,
        scope=scope,
        scope_id=id,
        branches=branches,
        units=units,
        areas=areas.most_common(),
        area_max=max(areas.values(), default=0),
        turnout=await _turnout(
            ctx, shown, branch_ids, {b["branch_id"]: b["unit_id"] for b in branches}
        ),
    )


@router.get("/export.xlsx")
async def export(ctx: Signed, year: Year = None) -> Response:
    shown = year or this_year()
    upstream = await ctx.api.scoring.export(shown)
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
async def policy_page(ctx: Signed) -> HTMLResponse:
    adopted = await ctx.api.scoring.policy(this_year())
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
    body = {"year": this_year(), "policy_id": values.get("policy_id"), "policy": policy}
    try:
        await ctx.api.scoring.adopt_policy(body)
    except ServiceError as exc:
        adopted = await ctx.api.scoring.policy(this_year())
        form = Form.failed({**values, **{k: k in values for k in FLAGS}}, exc)
        return ctx.render(
            "policy.html", status_code=exc.status, adopted=adopted, form=form, groups=GROUPS
        )
    return redirect("/org/policy", "评分办法已通过，积分卡将按新办法重新计算")
