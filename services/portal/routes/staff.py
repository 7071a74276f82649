"""What every member of staff does: submit a need, and cast ballots in an open review period
(one screen listing the branch's members, a score each, saved and amended until close)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import Ctx, Form, Signed, redirect, this_year
from services.portal.years import RequestedYear, review_year

router = APIRouter(default_response_class=HTMLResponse)
ROLE_LABELS = {
    "peer": "党员互评",
    "all_staff": "群众评议（全体员工）",
    "paired": "群众评议（结对员工）",
    "branch": "党支部评议",
}
KIND_ROLES = {"peer": ("peer",), "mass": ("all_staff", "paired"), "branch": ("branch",)}


@router.get("/needs/new")
async def need_form(ctx: Signed) -> HTMLResponse:
    return ctx.render("need_form.html")


@router.post("/needs/new")
async def submit_need(ctx: Signed, request: Request) -> Response:
    values = dict(await request.form())
    me = ctx.me
    body = {
        "branch_id": me.branch_id,
        "year": this_year(),
        "employee_id": me.person_id,
        "problem": str(values.get("problem", "")).strip(),
        "suggested_area": values.get("suggested_area") or None,
    }
    try:
        await ctx.api.pledges.submit_need(body)
    except ServiceError as exc:
        return ctx.render("need_form.html", status_code=exc.status, form=Form.failed(values, exc))
    return redirect("/needs/new", "需求已提交，党支部将汇总分类")


def _roles_for(ctx: Ctx, kind: str) -> list[str]:
    roles = []
    for role in KIND_ROLES.get(kind, ()):
        if role == "peer" and not ctx.is_("member"):
            continue
        if role == "branch" and not ctx.is_("branch_committee"):
            continue
        roles.append(role)
    return roles


def _covers(period: dict[str, Any], ctx: Ctx) -> bool:
    me = ctx.me
    level = period["scope_level"]
    if level == "branch":
        return bool(period["branch_id"] == me.branch_id)
    if level == "unit":
        return bool(period["unit_id"] == me.unit_id)
    return True


@router.get("/reviews")
async def my_reviews(ctx: Signed, year: RequestedYear = None) -> HTMLResponse:
    """The shown year's periods; periods still open in the other year of the default pair
    (last year in January, or this year) are listed too, so no open ballot is hidden."""
    years = await review_year(ctx, year)
    listed = await ctx.api.reviews.periods(years.shown)
    if year is None and years.shown != years.calendar:
        current = await ctx.api.reviews.periods(years.calendar)
        listed = [*listed, *(p for p in current if not p["closed"])]
    periods = [
        {**p, "roles": [(r, ROLE_LABELS[r]) for r in _roles_for(ctx, p["kind"])]}
        for p in listed
        if _covers(p, ctx)
    ]
    return ctx.render("reviews.html", periods=periods)


async def _ballot_page(
    ctx: Ctx, period_id: str, role: str, form: Form | None = None, status_code: int = 200
) -> HTMLResponse:
    period, allowed, people = await asyncio.gather(
        ctx.api.reviews.period(period_id),
        ctx.api.reviews.ballot_members(period_id, role),
        ctx.api.pledges.people(ctx.me.branch_id),
    )
    # Whom this person may rate in this role is the reviews service's rule (a paired employee
    # sees only the members they are paired with); the roster adds each one's post.
    posts = {p["person_id"]: p.get("post") for p in people}
    order = {p["person_id"]: n for n, p in enumerate(people)}
    members = [
        {"person_id": m["member_id"], "name": m["name"], "post": posts.get(m["member_id"])}
        for m in sorted(allowed["members"], key=lambda m: order.get(m["member_id"], len(order)))
    ]  # in the roster's order, as the branch knows it
    if form is None:
        mine = await ctx.api.reviews.my_ballot(period_id, role)
        values: dict[str, Any] = {}
        for line in (mine or {}).get("scores", []):
            values[f"score-{line['member_id']}"] = line["score"]
            values[f"comment-{line['member_id']}"] = line["comment"] or ""
        form = Form(values=values)
        voted = mine is not None
    else:
        voted = False
    return ctx.render(
        "ballot.html",
        status_code=status_code,
        period=period,
        role=role,
        role_label=ROLE_LABELS.get(role, role),
        members=members,
        refusal=allowed["reason"],
        may_vote=allowed["may_vote"] and bool(members),
        form=form,
        voted=voted,
    )


@router.get("/reviews/{period_id}/{role}")
async def ballot(ctx: Signed, period_id: str, role: str) -> HTMLResponse:
    return await _ballot_page(ctx, period_id, role)


@router.post("/reviews/{period_id}/{role}")
async def cast_ballot(ctx: Signed, request: Request, period_id: str, role: str) -> Response:
    values = {k: str(v) for k, v in (await request.form()).items()}
    lines = []
    for key, raw in values.items():
        if key.startswith("score-") and raw.strip():
            member_id = key.removeprefix("score-")
            comment = values.get(f"comment-{member_id}", "").strip() or None
            lines.append({"member_id": member_id, "score": raw.strip(), "comment": comment})
    try:
        await ctx.api.reviews.cast(period_id, role, lines)
    except ServiceError as exc:
        form = Form.failed(values, exc)
        # "scores.2.score" names a line of what was sent: show it next to that member.
        for index, line in enumerate(lines):
            reason = exc.fields.get(f"scores.{index}.score") or exc.fields.get(f"scores.{index}")
            if reason:
                form.errors[f"score-{line['member_id']}"] = reason
        return await _ballot_page(ctx, period_id, role, form, exc.status)
    return redirect(f"/reviews/{period_id}/{role}", "选票已保存；评议期结束前可以修改")
