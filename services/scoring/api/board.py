"""The public board (公开栏): server-rendered pages anyone in the company may open on a phone,
without sign-in. It shows only what the branch has made public (``projections.board``); a
member's card, with its review and period figures, is not a public page.

Jinja2 escapes every value (autoescape), so names, pledges and notes are shown as text.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.scoring import handlers
from services.scoring.api.deps import Now, ReadSession, RuntimeDep
from services.scoring.projections.board import (
    board_branch,
    public_ledger,
    public_pledges,
    public_results,
)
from shared.errors import NotFound

router = APIRouter(prefix="/board", tags=["公开栏"], default_response_class=HTMLResponse)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
_BEIJING = timezone(timedelta(hours=8))


def _beijing(moment: datetime) -> str:
    return f"{moment.astimezone(_BEIJING):%Y-%m-%d %H:%M}"


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
    """Published pledges, the month's ledger of them and the published composites and bands."""
    branch = await board_branch(session, branch_id)
    if branch is None:
        raise NotFound("没有找到该党支部")
    today = now.astimezone(_BEIJING)
    shown_year = year or today.year
    shown_month = month or (f"{today:%Y-%m}" if shown_year == today.year else f"{shown_year}-12")
    state = await handlers.read_publication(branch_id, shown_year, db=rt.db, store=rt.store)
    publication = await public_results(session, state) if state is not None else None
    return templates.TemplateResponse(
        request,
        "branch.html",
        {
            "branch": branch,
            "year": shown_year,
            "month_label": f"{int(shown_month[:4])}年{int(shown_month[5:])}月",
            "pledges": await public_pledges(session, branch_id, shown_year),
            "ledger": await public_ledger(session, branch_id, shown_month),
            "publication": publication,
            "notice_start": _beijing(publication.notice_starts_at) if publication else None,
            "notice_end": _beijing(publication.notice_ends_at) if publication else None,
        },
    )
