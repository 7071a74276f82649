"""A party member's pages: the year's area, pledges (declared against the branch's needs),
the points card, and an objection to a published result."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import Ctx, Form, Signed, redirect, this_year
from services.portal.years import RequestedYear, plan_year, posted_year, review_year

router = APIRouter(default_response_class=HTMLResponse)
TERMS = ("area", "item", "content", "quantity", "quality_standard", "due_date")


def pledge_terms(values: dict[str, Any], need_ids: list[str]) -> dict[str, Any]:
    """The pledge's terms from a form, as typed (the service checks them)."""
    body: dict[str, Any] = {k: str(values.get(k, "")).strip() for k in TERMS}
    body["due_date"] = body["due_date"] or None
    body["need_ids"] = need_ids
    body["paired_employee_id"] = str(values.get("paired_employee_id") or "").strip() or None
    return body


async def pledge_choices(ctx: Ctx) -> dict[str, Any]:
    """The branch's classified, unsolved needs and the staff one may pair with."""
    me = ctx.me
    needs = await ctx.api.pledges.needs(str(me.branch_id), this_year())
    people = await ctx.api.pledges.people(me.branch_id)
    return {
        "needs": [n for n in needs if n["area"] and not n["solved"]],
        "staff": [p for p in people if p["departed_on"] is None and p["person_id"] != me.person_id],
    }


@router.get("/me")
async def my_page(ctx: Signed, year: RequestedYear = None) -> HTMLResponse:
    me = ctx.me
    shown = plan_year(ctx, year).shown
    pledges, area = await asyncio.gather(
        ctx.api.pledges.member_pledges(me.person_id, shown),
        ctx.api.pledges.member_area(me.person_id, shown),
    )
    return ctx.render(
        "me.html", pledges=pledges, area=area, form=Form(values={"area": area["area"]})
    )


@router.post("/me/area")
async def choose_area(ctx: Signed, request: Request) -> Response:
    values = dict(await request.form())
    try:
        await ctx.api.pledges.choose_area(ctx.me.person_id, this_year(), str(values.get("area")))
    except ServiceError as exc:
        shown = plan_year(ctx, None).shown
        pledges, area = await asyncio.gather(
            ctx.api.pledges.member_pledges(ctx.me.person_id, shown),
            ctx.api.pledges.member_area(ctx.me.person_id, shown),
        )
        return ctx.render(
            "me.html",
            status_code=exc.status,
            pledges=pledges,
            area=area,
            form=Form.failed(values, exc),
        )
    return redirect("/me", "责任区已选定")


@router.get("/pledges/new")
async def declare_form(ctx: Signed) -> HTMLResponse:
    return ctx.render("pledge_form.html", action="/pledges/new", **await pledge_choices(ctx))


@router.post("/pledges/new")
async def declare(ctx: Signed, request: Request) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    need_ids = [str(v) for v in form.getlist("need_ids")]
    body = {
        "member_id": ctx.me.person_id,
        "year": this_year(),
        **pledge_terms(values, need_ids),
    }
    try:
        result = await ctx.api.pledges.declare(body)
    except ServiceError as exc:
        failed = Form.failed({**values, "need_ids": need_ids}, exc)
        return ctx.render(
            "pledge_form.html",
            status_code=exc.status,
            action="/pledges/new",
            form=failed,
            **await pledge_choices(ctx),
        )
    return redirect(f"/pledges/{result['id']}", "承诺已申报，等待支委会审核")


@router.get("/me/card")
async def my_card(ctx: Signed, year: RequestedYear = None) -> HTMLResponse:
    me = ctx.me
    card = None
    shown = (await review_year(ctx, year)).shown
    try:
        card = await ctx.api.scoring.card(me.person_id, shown)
    except ServiceError as exc:
        if exc.status != 404:
            raise
    return ctx.render("card.html", card=card, history=await _history(ctx))


async def _history(ctx: Ctx) -> list[dict[str, Any]]:
    """The member's cards of every year (历年积分卡); none yet is an empty list."""
    try:
        history = await ctx.api.scoring.member_history(ctx.me.person_id)
    except ServiceError as exc:
        if exc.status != 404:
            raise
        return []
    years: list[dict[str, Any]] = history["years"]
    return years


@router.post("/me/objection")
async def object_to_result(ctx: Signed, request: Request) -> Response:
    values = dict(await request.form())
    me = ctx.me
    year = posted_year(values, (await review_year(ctx, None)).shown)
    try:
        await ctx.api.scoring.results_step(
            str(me.branch_id),
            year,
            "objections",
            {"reason": str(values.get("reason", "")).strip()},
        )
    except ServiceError as exc:
        card = await ctx.api.scoring.card(me.person_id, (await review_year(ctx, year)).shown)
        return ctx.render(
            "card.html",
            status_code=exc.status,
            card=card,
            form=Form.failed(values, exc),
            history=await _history(ctx),
        )
    return redirect(f"/me/card?year={year}", "异议已提交，支委会将作出决定")
