"""The public board (公开栏): server-rendered pages anyone in the company may open on a phone.

Jinja2 escapes every value (autoescape), so names, pledges and notes are shown as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.scoring import handlers
from services.scoring.api.deps import Now, ReadSession, RuntimeDep
from services.scoring.projections.queries import (
    branch_info,
    card_view,
    ledger_of_month,
    names_of,
    published_pledges,
)
from services.scoring.projections.views import publication_view
from shared.errors import NotFound

router = APIRouter(prefix="/board", tags=["公开栏"], default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
_BEIJING = timezone(timedelta(hours=8))


def _percent(share: Decimal) -> str:
    return f"{(share * 100).normalize():f}"


def _beijing(moment: datetime) -> str:
    return f"{moment.astimezone(_BEIJING):%Y-%m-%d %H:%M}"


templates.env.filters["percent"] = _percent

Year = Annotated[int | None, Query(ge=2000, le=2100, description="默认为本年度（北京时间）")]
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="台账月份，如 2024-05")
]


@router.get("/branches/{branch_id}")
async def branch_board(
    request: Request,
    branch_id: str,
    session: ReadSession,
    rt: RuntimeDep,
    now: Now,
    year: Year = None,
    month: Month = None,
) -> HTMLResponse:
    """Published pledges, this month's ledger and the published results of a branch."""
    info = await branch_info(session, branch_id)
    if info is None:
        raise NotFound("没有找到该党支部")
    today = now.astimezone(_BEIJING)
    shown_year = year or today.year
    shown_month = month or (f"{today:%Y-%m}" if shown_year == today.year else f"{shown_year}-12")
    state = await handlers.read_publication(branch_id, shown_year, db=rt.db, store=rt.store)
    publication = None
    if state is not None:
        publication = publication_view(state, await names_of(session, set(state.results)))
    return templates.TemplateResponse(
        request,
        "branch.html",
        {
            "branch_name": info["name"],
            "unit_name": info["unit_name"],
            "year": shown_year,
            "month_label": f"{int(shown_month[:4])}年{int(shown_month[5:])}月",
            "pledges": await published_pledges(session, branch_id, shown_year),
            "ledger": await ledger_of_month(session, branch_id, shown_month),
            "publication": publication,
            "notice_start": _beijing(state.notice_starts_at) if state else None,
            "notice_end": _beijing(state.notice_ends_at) if state else None,
        },
    )


@router.get("/members/{member_id}/cards/{year}")
async def card_page(
    request: Request, member_id: str, year: int, session: ReadSession
) -> HTMLResponse:
    """A member's points card for the year."""
    card = await card_view(session, member_id, year)
    if card is None:
        raise NotFound(f"没有该党员{year}年度的积分卡")
    return templates.TemplateResponse(request, "card.html", {"card": card})
