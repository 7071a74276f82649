"""The branch committee's pages: the plan and needs, pledges awaiting a decision, the monthly
ledger, review periods and turnout, and the year's results with objections.

Only the committee of the person's own branch opens them (``Committee``: anyone else gets
403 and nothing of the page). A committee member's own pledge, ledger entry and objection are
listed with a note instead of the buttons: another committee member or the unit committee
decides them (DOMAIN.md section 3, "No one judges their own case")."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.routes.pledge import may_carry_over
from services.portal.web import (
    CONFIRMATIONS,
    NOT_CONFIRMED,
    Committee,
    Ctx,
    Form,
    committee_member,
    redirect,
    today,
)
from services.portal.years import RequestedYear, plan_year, posted_year, review_year

# Also on the router, so that a page added later cannot forget it.
router = APIRouter(
    prefix="/committee",
    default_response_class=HTMLResponse,
    dependencies=[Depends(committee_member)],
)
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
WAITING = {"declared", "approved", "agreement_signed", "acceptance_requested"}
PERIODS = {"peer": ("Q1", "Q2", "Q3", "Q4"), "mass": ("H1", "H2"), "branch": ("H1", "H2")}


def _branch(ctx: Ctx) -> str:
    return str(ctx.me.branch_id)


@router.get("")
async def pledges_overview(ctx: Committee, year: RequestedYear = None) -> HTMLResponse:
    """The year's pledges, those waiting for the committee, and the year before's approved
    pledges still unfinished once that year is over (待结转: carry over or accept them)."""
    shown = plan_year(ctx, year).shown
    pledges, before = await asyncio.gather(
        ctx.api.pledges.branch_pledges(_branch(ctx), shown),
        ctx.api.pledges.branch_pledges(_branch(ctx), shown - 1),
    )
    waiting = [p for p in pledges if p["status"] in WAITING]
    counts = Counter(p["status_label"] for p in pledges)
    carry = [p for p in before if may_carry_over(p, today())]
    return ctx.render(
        "committee.html", pledges=pledges, waiting=waiting, counts=counts, carry=carry
    )


async def _needs_page(
    ctx: Ctx, form: Form | None = None, status: int = 200, year: int | None = None
) -> HTMLResponse:
    needs = await ctx.api.pledges.needs(_branch(ctx), plan_year(ctx, year).shown)
    return ctx.render("needs.html", needs=needs, form=form or Form(), status_code=status)


@router.get("/needs")
async def needs(ctx: Committee, year: RequestedYear = None) -> HTMLResponse:
    return await _needs_page(ctx, year=year)


@router.post("/needs/{need_id}")
async def classify(ctx: Committee, request: Request, need_id: str) -> Response:
    values = dict(await request.form())
    try:
        await ctx.api.pledges.classify_need(need_id, str(values.get("area", "")))
    except ServiceError as exc:
        return await _needs_page(ctx, Form.failed(values, exc), exc.status)
    return redirect("/committee/needs", "需求已分类")


@router.post("/plan")
async def adopt_plan(ctx: Committee, request: Request) -> Response:
    values = dict(await request.form())
    body = {k: str(values.get(k, "")).strip() for k in ("title", "summary", "meeting_date")}
    try:
        await ctx.api.pledges.adopt_plan(_branch(ctx), plan_year(ctx, None).shown, body)
    except ServiceError as exc:
        return await _needs_page(ctx, Form.failed(values, exc), exc.status)
    return redirect("/committee/needs", "年度活动方案已通过")


@router.get("/ledger")
async def ledger(ctx: Committee, month: Month = None) -> HTMLResponse:
    shown = month or today()[:7]
    year = int(shown[:4])
    table = await ctx.api.pledges.ledger(_branch(ctx), shown)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    # After the end of the next month the month is closed: an entry is a late one (补记).
    late = today() > table["closes_on"]
    return ctx.render(
        "ledger.html", ledger=table, month=shown, months=months, late=late, today=today()
    )


@router.get("/ledger/export.xlsx")
async def ledger_export(ctx: Committee, month: Month = None) -> Response:
    """The month's ledger as Excel, from the pledges service."""
    shown = month or today()[:7]
    upstream = await ctx.api.pledges.ledger_export(_branch(ctx), shown)
    return Response(
        upstream.content,
        media_type=upstream.headers.get("content-type"),
        headers={"Content-Disposition": upstream.headers.get("content-disposition", "")},
    )


async def _reviews_page(
    ctx: Ctx, form: Form | None = None, status: int = 200, year: int | None = None
) -> HTMLResponse:
    me = ctx.me
    shown = (await review_year(ctx, year)).shown
    periods = [
        p
        for p in await ctx.api.reviews.periods(shown)
        if p["branch_id"] == me.branch_id
        or p["scope_level"] == "company"
        or (p["scope_level"] == "unit" and p["unit_id"] == me.unit_id)
    ]
    return ctx.render(
        "committee_reviews.html",
        periods=periods,
        kinds=PERIODS,
        form=form or Form(),
        blank=Form(),
        # One key per rendered form: submitting it twice opens one period.
        idempotency_key=(form.values.get("idempotency_key") if form else None) or uuid.uuid4().hex,
        status_code=status,
    )


@router.get("/reviews")
async def reviews(ctx: Committee, year: RequestedYear = None) -> HTMLResponse:
    return await _reviews_page(ctx, year=year)


@router.post("/reviews")
async def open_period(ctx: Committee, request: Request) -> Response:
    values = dict(await request.form())
    deadline = str(values.get("deadline", "")).strip()
    opens_on = str(values.get("opens_on", "")).strip() or None
    closes_on = str(values.get("closes_on", "")).strip() or None
    key = str(values.get("idempotency_key", "")).strip() or None
    kind, _, period = str(values.get("kind_period", "")).partition(":")
    year = posted_year(values, (await review_year(ctx, None)).shown)
    body = {
        "kind": kind,
        "period": period,
        "year": year,
        "scope_level": "branch",
        "scope_id": _branch(ctx),
        "deadline": f"{deadline}T23:59:59+08:00" if deadline else None,
        "opens_on": opens_on,
        "closes_on": closes_on,
    }
    try:
        await ctx.api.reviews.open_period(body, idempotency_key=key)
    except ServiceError as exc:
        return await _reviews_page(ctx, Form.failed(values, exc), exc.status, year)
    return redirect(f"/committee/reviews?year={year}", "评议期已开启")


@router.post("/reviews/{period_id}/close")
async def close_period(ctx: Committee, period_id: str, request: Request) -> Response:
    """结束评议期: irreversible (the period is tallied), so it needs the tick; a refusal is
    shown next to the period's button and nothing is sent."""
    values = {**dict(await request.form()), "period_id": period_id}
    year = posted_year(values, (await review_year(ctx, None)).shown)
    if values.get("confirm") != "yes":
        unconfirmed = Form(values=values, errors={"confirm": NOT_CONFIRMED})
        unconfirmed.message = NOT_CONFIRMED
        return await _reviews_page(ctx, unconfirmed, 422, year)
    try:
        await ctx.api.reviews.close_period(period_id)
    except ServiceError as exc:
        return await _reviews_page(ctx, Form.failed(values, exc), exc.status, year)
    return redirect(f"/committee/reviews/{period_id}", "评议期已结束")


@router.post("/reviews/{period_id}/window")
async def adjust_window(ctx: Committee, period_id: str, request: Request) -> Response:
    values = dict(await request.form())
    body = {
        "opens_on": str(values.get("opens_on", "")).strip() or None,
        "closes_on": str(values.get("closes_on", "")).strip() or None,
        "reason": str(values.get("reason", "")).strip() or None,
    }
    try:
        await ctx.api.reviews.adjust_window(period_id, body)
    except ServiceError as exc:
        return await _period_page(ctx, period_id, Form.failed(values, exc), exc.status)
    return redirect(f"/committee/reviews/{period_id}", "投票时间已调整")


@router.get("/reviews/{period_id}")
async def period_page(ctx: Committee, period_id: str) -> HTMLResponse:
    return await _period_page(ctx, period_id)


async def _period_page(
    ctx: Committee, period_id: str, form: Form | None = None, status: int = 200
) -> HTMLResponse:
    """While a period is open its results are sealed: the committee sees the turnout only
    (who has not voted yet, to remind them), and the results are not even asked for."""
    period, turnout = await asyncio.gather(
        ctx.api.reviews.period(period_id), ctx.api.reviews.turnout(period_id, _branch(ctx))
    )
    overview = None
    if period["closed"]:
        overview = await ctx.api.reviews.overview(_branch(ctx), period_id)
    return ctx.render(
        "period.html",
        period=period,
        turnout=turnout,
        overview=overview,
        form=form or Form(),
        status_code=status,
    )


async def _results_page(
    ctx: Ctx, form: Form | None = None, status: int = 200, year: int | None = None
) -> HTMLResponse:
    shown = (await review_year(ctx, year)).shown
    results, periods = await asyncio.gather(
        ctx.api.scoring.results(_branch(ctx), shown), ctx.api.reviews.periods(shown)
    )
    # Publishing is refused while a period of the year covering the branch is open: say which
    # before anyone presses the button (the scoring service refuses it too).
    me = ctx.me
    open_periods = [
        {**p, "label": p["title"]}
        for p in periods
        if not p["closed"]
        and (
            p["branch_id"] == me.branch_id
            or p["scope_level"] == "company"
            or (p["scope_level"] == "unit" and p["unit_id"] == me.unit_id)
        )
    ]
    return ctx.render(
        "results.html",
        results=results,
        form=form or Form(),
        status_code=status,
        open_periods=open_periods,
        reasons=EXEMPTION_REASONS,
    )


@router.get("/results")
async def results(ctx: Committee, year: RequestedYear = None) -> HTMLResponse:
    return await _results_page(ctx, year=year)


EXEMPTION_REASONS = (
    ("retired", "退休"),
    ("long_term_illness", "长期病休"),
    ("mobile_member", "流动党员"),
    ("other", "其他"),
)


async def _exemption_step(ctx: Ctx, step: str, values: dict[str, Any], year: int) -> Response:
    """登记免评 (``exempt-{member}``) or 撤销免评 (``revoke-{member}``) for the year shown: the
    pledges service decides (the member must be on the roster of the committee's branch)."""
    kind, _, member = step.partition("-")
    try:
        if kind == "exempt":
            await ctx.api.pledges.exempt(
                member,
                {
                    "year": year,
                    "reason": values.get("reason"),
                    "reason_text": str(values.get("reason_text", "")).strip() or None,
                    "evidence": str(values.get("evidence", "")),
                },
            )
        else:
            await ctx.api.pledges.revoke_exemption(
                member, year, str(values.get("revocation_reason", ""))
            )
    except ServiceError as exc:
        failed = Form.failed({**values, "step": step}, exc)
        return await _results_page(ctx, failed, exc.status, year)
    done = "已登记免评" if kind == "exempt" else "已撤销免评"
    return redirect(f"/committee/results?year={year}", f"{done}，积分卡稍后更新")


@router.post("/results/{step}")
async def results_step(ctx: Committee, request: Request, step: str) -> Response:
    values = dict(await request.form())
    if step.startswith(("exempt-", "revoke-")):
        year = posted_year(values, (await review_year(ctx, None)).shown)
        return await _exemption_step(ctx, step, values, year)
    body: dict[str, Any] | None = None
    path = {"publish": "publish", "finalize": "finalize"}.get(step)
    if step.startswith("decide-"):
        path = f"objections/{step.removeprefix('decide-')}/decision"
        body = {
            "outcome": values.get("outcome"),
            "reason": str(values.get("reason", "")).strip() or None,
            "composite": str(values.get("composite", "")).strip() or None,
        }
    year = posted_year(values, (await review_year(ctx, None)).shown)
    if path is None:
        return redirect(f"/committee/results?year={year}")
    if step in CONFIRMATIONS and values.get("confirm") != "yes":
        unconfirmed = Form(values={**values, "step": step}, errors={"confirm": NOT_CONFIRMED})
        unconfirmed.message = NOT_CONFIRMED
        return await _results_page(ctx, unconfirmed, 422, year)
    try:
        await ctx.api.scoring.results_step(_branch(ctx), year, path, body)
    except ServiceError as exc:
        failed = Form.failed({**values, "step": step}, exc)
        return await _results_page(ctx, failed, exc.status, year)
    done = {"publish": "评议结果已公示", "finalize": "评议结果已定稿"}.get(step, "已对异议作出决定")
    return redirect(f"/committee/results?year={year}", done)
