"""The public board (公开栏): open to everyone inside the enterprise network, no sign-in."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from services.portal.web import Page, this_year, today

router = APIRouter(prefix="/board", default_response_class=HTMLResponse)
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Year = Annotated[int | None, Query(ge=2000, le=2100)]


@router.get("")
async def board_index(ctx: Page) -> HTMLResponse:
    units: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for branch in await ctx.api.pledges.branches():
        units[branch["unit_name"] or branch["unit_id"]].append(branch)
    return ctx.render("board_index.html", units=dict(units))


@router.get("/{branch_id}")
async def branch_board(
    ctx: Page, branch_id: str, year: Year = None, month: Month = None
) -> HTMLResponse:
    shown = year or this_year()
    if month is None and shown == this_year():
        month = today()[:7]
    board = await ctx.api.scoring.board(branch_id, shown, month)
    months = [f"{shown}-{m:02d}" for m in range(1, 13)]
    return ctx.render("board.html", board=board, months=months, shown_year=shown)
