"""The public board (公开栏) as JSON, for the web portal: the same content as the HTML board
(published pledges, one month's ledger, the published results), without sign-in. Objections
are the member's and the committee's business, so they are left out here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.scoring import handlers
from services.scoring.api.deps import ReadSession, RuntimeDep
from services.scoring.projections.queries import (
    branch_info,
    ledger_of_month,
    names_of,
    published_pledges,
)
from services.scoring.projections.views import PledgeView, PublicationView, publication_view
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
    pledges: list[PledgeView]
    ledger: list[PledgeView]
    publication: PublicationView | None


@router.get("/public/branches/{branch_id}/board/{year}", response_model=PublicBoardView)
async def public_board(
    branch_id: str, year: int, session: ReadSession, rt: RuntimeDep, month: Month = None
) -> PublicBoardView:
    """What the branch has made public for the year (公开，无需登录); ``month`` defaults to
    December of the year, and must lie in it."""
    info = await branch_info(session, branch_id)
    if info is None:
        raise NotFound("没有找到该党支部")
    shown_month = month or f"{year}-12"
    if int(shown_month[:4]) != year:
        raise NotFound(f"台账月份须在{year}年度内")
    state = await handlers.read_publication(branch_id, year, db=rt.db, store=rt.store)
    publication = None
    if state is not None:
        view = publication_view(state, await names_of(session, set(state.results)))
        publication = view.model_copy(update={"objections": []})
    return PublicBoardView(
        branch_id=branch_id,
        branch_name=str(info["name"]),
        unit_name=info["unit_name"],
        year=year,
        month=shown_month,
        pledges=await published_pledges(session, branch_id, year),
        ledger=await ledger_of_month(session, branch_id, shown_month),
        publication=publication,
    )
