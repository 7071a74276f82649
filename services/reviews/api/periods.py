"""Review period routes: open, close, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from services.reviews import commands as c
from services.reviews import handlers
from services.reviews.api.deps import HandlerDeps, ReadSession, command
from services.reviews.api.schemas import OpenPeriodBody
from services.reviews.handlers import CommandResult
from services.reviews.handlers.reports import get_period, period_view
from services.reviews.projections import queries
from services.reviews.projections.views import PeriodView
from shared.auth import CurrentPrincipal

router = APIRouter(prefix="/periods", tags=["periods"])
PeriodId = Annotated[str, Path(description="评议期编号")]
_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "not the organizer of this scope"},
    404: {"description": "unknown period, unit or branch"},
    409: {"description": "closed, overlapping or already used"},
}


@router.post(
    "",
    summary="开启评议期",
    status_code=status.HTTP_201_CREATED,
    responses=_REFUSALS,
    description="党支部委员会开启本支部的评议期；组织部开启全公司、二级党委或任一党支部的评议期。",
)
async def open_period(body: OpenPeriodBody, deps: HandlerDeps) -> CommandResult:
    values = body.model_dump()
    values["period_id"] = values["period_id"] or f"rp-{uuid.uuid4().hex[:16]}"
    return await handlers.open_period(command(c.OpenReviewPeriod, **values), **deps)


@router.post("/{period_id}/close", summary="结束评议期（重复结束无副作用）", responses=_REFUSALS)
async def close_period(period_id: PeriodId, deps: HandlerDeps) -> CommandResult:
    return await handlers.close_period(command(c.CloseReviewPeriod, period_id=period_id), **deps)


@router.get("", summary="评议期列表")
async def list_periods(
    session: ReadSession,
    _: CurrentPrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年度；不填为全部")] = None,
) -> list[PeriodView]:
    return [period_view(state) for state in await queries.periods(session, year=year)]


@router.get("/{period_id}", summary="评议期详情", responses={404: {"description": "unknown"}})
async def get_one(period_id: PeriodId, session: ReadSession, _: CurrentPrincipal) -> PeriodView:
    return period_view(await get_period(session, period_id))
