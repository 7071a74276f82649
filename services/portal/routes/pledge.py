"""One pledge and every step that may be taken on it, by its member or the branch committee.
Which buttons show depends on the status and on who is looking; whether the step is allowed
is the service's call, and the service also decides which pledges a person may read.

The page keeps to the same rules: a pledge not yet public is for its member, the branch
committee and the organization department only, and a committee member's own pledge shows no
decision (approve, send back, ledger, accept, return), but a note that another committee
member or the unit committee decides."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.portal.clients import ServiceError
from services.portal.routes.member import pledge_choices, pledge_terms
from services.portal.web import (
    CONFIRMATIONS,
    NOT_CONFIRMED,
    OWN_CASE,
    Ctx,
    Form,
    NotPermitted,
    Signed,
    local_path,
    redirect,
    today,
)

router = APIRouter(default_response_class=HTMLResponse)
DONE = {
    "revision-request": "已退回党员修改",
    "revision": "已修改并重新申报",
    "approval": "已定诺",
    "agreement": "结对协议书已登记",
    "publication": "承诺已公开",
    "ledger": "台账已记录",
    "ledger-correction": "台账已更正",
    "acceptance-request": "已申请验收",
    "acceptance": "已验收通过",
    "return": "已退回验收申请",
    "withdrawal": "承诺已撤回",
    "carry-over": "承诺已结转至下一年度",
}


JUDGE_STEPS = frozenset(
    {
        "revision-request",
        "approval",
        "ledger",
        "ledger-correction",
        "acceptance",
        "return",
        "carry-over",
    }
)
"""Decisions on a pledge, which its own member never takes even on the committee (recording
the pairing agreement and the publication are not decisions: the pledges service lets the
committee, the member included, record them)."""
PUBLIC = frozenset({"published", "acceptance_requested", "returned", "accepted"})
CARRIABLE = frozenset(
    {"approved", "agreement_signed", "published", "acceptance_requested", "returned"}
)
"""Approved and not yet accepted: what the committee may carry over into the next year once
the pledge's year is over (结转; docs/annual-cycle.md)."""
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
NOT_PUBLIC_YET = "您没有权限查看这项承诺：尚未公开的承诺只有本人和本支部支委会可以查看。"


def _lines(text: Any) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def _text(values: dict[str, Any], name: str) -> str | None:
    return str(values.get(name) or "").strip() or None


def step_body(step: str, values: dict[str, Any], lists: dict[str, list[str]]) -> dict[str, Any]:
    """The request body of a lifecycle step from the form the person filled in."""
    match step:
        case "revision-request" | "return":
            return {"reasons": _lines(values.get("reasons"))}
        case "revision":
            return pledge_terms(values, lists.get("need_ids", []))
        case "agreement":
            keys = ("problem", "q1", "q2", "q3", "q4", "final_goal")
            return {"signed_on": _text(values, "signed_on"), **{k: _text(values, k) for k in keys}}
        case "publication":
            return {
                "channels": lists.get("channels", []),
                "published_on": _text(values, "published_on"),
            }
        case "ledger":
            return {k: _text(values, k) for k in ("month", "assessment", "note", "late_reason")}
        case "ledger-correction":
            return {k: _text(values, k) for k in ("assessment", "note", "reason")}
        case "acceptance-request":
            return {"summary": _text(values, "summary")}
        case "acceptance":
            return {"comment": _text(values, "comment")}
        case "withdrawal":
            return {"reason": _text(values, "reason")}
        case "carry-over":
            return {"reason": _text(values, "reason"), "due_date": _text(values, "due_date")}
    return {}


def _public(pledge: dict[str, Any]) -> bool:
    """Made public: published or a later step; a carried-over pledge if it was published."""
    status = pledge["status"]
    return status in PUBLIC or (status == "carried_over" and bool(pledge.get("published_on")))


def may_carry_over(pledge: dict[str, Any], on: str) -> bool:
    """Whether the carry-over form shows: an approved, unfinished pledge of a year before
    ``on`` (YYYY-MM-DD). The service decides the rest (next year only, area, pairing)."""
    return pledge["status"] in CARRIABLE and int(pledge["year"]) < int(on[:4])


def _roles(ctx: Ctx, pledge: dict[str, Any]) -> tuple[bool, bool]:
    """(mine, of its branch committee) for the signed-in person, refusing a pledge that is
    not public to anyone else."""
    mine = pledge["member_id"] == ctx.me.person_id
    committee = ctx.is_("branch_committee") and pledge["branch_id"] == ctx.me.branch_id
    if not (mine or committee or ctx.is_("org_admin") or _public(pledge)):
        raise NotPermitted(NOT_PUBLIC_YET)
    return mine, committee


async def _page(
    ctx: Ctx,
    pledge_id: str,
    form: Form | None = None,
    step: str | None = None,
    status: int = 200,
    pledge: dict[str, Any] | None = None,
) -> HTMLResponse:
    pledge = pledge or await ctx.api.pledges.pledge(pledge_id)
    mine, committee = _roles(ctx, pledge)
    choices: dict[str, Any] = {"needs": [], "staff": []}
    if mine and pledge["status"] == "revision_requested":
        choices = await pledge_choices(ctx)
    if form is None and mine and pledge["status"] == "revision_requested":
        form = Form(values={**pledge, "need_ids": pledge["need_ids"]})
    return ctx.render(
        "pledge.html",
        status_code=status,
        pledge=pledge,
        timeline=await ctx.api.pledges.timeline(pledge_id),
        mine=mine,
        committee=committee,
        judge=committee and not mine,
        own_case=committee and mine,
        carriable=committee and not mine and may_carry_over(pledge, today()),
        form=form or Form(),
        step=step,
        blank=Form(),
        today=today(),
        **choices,
    )


@router.get("/pledges/{pledge_id}")
async def pledge_page(ctx: Signed, pledge_id: str) -> HTMLResponse:
    return await _page(ctx, pledge_id)


@router.post("/pledges/{pledge_id}/{step}")
async def pledge_step(ctx: Signed, request: Request, pledge_id: str, step: str) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items()}
    lists = {k: [str(v) for v in form.getlist(k)] for k in ("need_ids", "channels")}
    if step not in DONE:
        return redirect(f"/pledges/{pledge_id}")
    if step in JUDGE_STEPS:
        pledge = await ctx.api.pledges.pledge(pledge_id)
        if pledge["member_id"] == ctx.me.person_id:
            own = Form(values={**values, **lists}, message=OWN_CASE)
            return await _page(ctx, pledge_id, own, step, 403, pledge)
    if step in CONFIRMATIONS and values.get("confirm") != "yes":
        unconfirmed = Form(values={**values, **lists}, errors={"confirm": NOT_CONFIRMED})
        unconfirmed.message = NOT_CONFIRMED
        return await _page(ctx, pledge_id, unconfirmed, step, 422)
    try:
        body = step_body(step, values, lists)
        if step == "ledger-correction":
            month = _text(values, "month") or ""
            if not MONTH.fullmatch(month):
                raise ServiceError(422, "请选择要更正的台账月份", "invalid")
            result = await ctx.api.pledges.correct_ledger(pledge_id, month, body)
        else:
            result = await ctx.api.pledges.act(pledge_id, step, body)
    except ServiceError as exc:
        failed = Form.failed({**values, **lists}, exc)
        return await _page(ctx, pledge_id, failed, step, exc.status)
    if step == "carry-over" and isinstance(result, dict) and result.get("id"):
        # On to the next year's pledge that continues this one.
        return redirect(f"/pledges/{result['id']}", DONE[step])
    back = _text(values, "back") or ""
    return redirect(back if local_path(back) else f"/pledges/{pledge_id}", DONE[step])
