"""The public board (公开栏) as JSON, for the web portal: the same content as the HTML board
(published pledges, one month's ledger of them, each member's published composite and band),
without sign-in. Everything else about a result stays with the member and the committee."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.scoring import handlers
from services.scoring.api.deps import ReadSession, RuntimeDep
from services.scoring.projections.board import (
    BoardPledge,
    BoardPublication,
    board_branch,
    public_ledger,
    public_pledges,
    public_results,
)
from shared.errors import NotFound

router = APIRouter(tags=["公开栏"])
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="台账月份，如 2024-05")
]


class PublicBoardView(BaseModel):
    branch_id: str
    branch_name: str
    unit_name: str | None
    year: int
    month: str
    pledges: list[BoardPledge]
    ledger: list[BoardPledge]
    publication: BoardPublication | None


@router.get("/public/branches/{branch_id}/board/{year}", response_model=PublicBoardView)
async def public_board(
    branch_id: str, year: int, session: ReadSession, rt: RuntimeDep, month: Month = None
) -> PublicBoardView:
    """What the branch has made public for the year (公开，无需登录); ``month`` defaults to
    December of the year, and must lie in it."""
    branch = await board_branch(session, branch_id)
    if branch is None:
        raise NotFound("没有找到该党支部")
    shown_month = month or f"{year}-12"
    if int(shown_month[:4]) != year:
        raise NotFound(f"台账月份须在{year}年度内")
    state = await handlers.read_publication(branch_id, year, db=rt.db, store=rt.store)
    return PublicBoardView(
        branch_id=branch_id,
        branch_name=branch.name,
        unit_name=branch.unit_name,
        year=year,
        month=shown_month,
        pledges=await public_pledges(session, branch_id, year),
        ledger=await public_ledger(session, branch_id, shown_month),
        publication=await public_results(session, state) if state is not None else None,
    )
