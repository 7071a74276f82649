"""Review period routes: open, close, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.reviews import commands as c
from services.reviews import handlers
from services.reviews.api.deps import HandlerDeps, ReadSession, command
from services.reviews.api.schemas import AdjustWindowBody, OpenPeriodBody
from services.reviews.handlers import CommandResult
from services.reviews.handlers.reports import get_period, period_view
from services.reviews.projections import queries
from services.reviews.projections.views import PeriodView
from shared.auth import CurrentPrincipal
from shared.idempotency import IdempotencyHeader, idempotency

router = APIRouter(prefix="/periods", tags=["periods"])
PeriodId = Annotated[str, Path(description="评议期编号")]
_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "not the organizer of this scope"},
    404: {"description": "unknown period, unit or branch"},
    409: {"description": "closed, overlapping or already used; an idempotency key reused"},
    422: {"description": "a year, window or deadline out of range; a reason missing"},
}


@router.post(
    "",
    summary="开启评议期",
    status_code=status.HTTP_201_CREATED,
    responses=_REFUSALS,
    description=(
        "党支部委员会开启本支部的评议期；二级党委开启本单位范围的评议期；组织部开启全公司、"
        "二级党委或任一党支部的评议期。只能开启去年、今年或明年的评议期。投票时间默认为本季度"
        "（党员互评）或本半年（群众评议、党支部评议），可另行指定。带 Idempotency-Key 重试"
        "同一请求得到第一次的答复，不会重复开启；同一幂等键用于不同内容的请求返回409。"
    ),
)
async def open_period(
    body: OpenPeriodBody,
    deps: HandlerDeps,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> CommandResult:
    values = body.model_dump()
    values["period_id"] = values["period_id"] or f"rp-{uuid.uuid4().hex[:16]}"
    answer = await handlers.open_period(
        command(c.OpenReviewPeriod, **values),
        idempotency=idempotency(idempotency_key, body),
        **deps,
    )
    response.status_code = answer.status_code
    return answer.body


@router.post(
    "/{period_id}/window",
    summary="调整投票时间（须说明原因，记录在案）",
    responses=_REFUSALS,
)
async def adjust_window(
    period_id: PeriodId, body: AdjustWindowBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(
        c.AdjustPeriodWindow,
        period_id=period_id,
        opens_on=body.opens_on,
        closes_on=body.closes_on,
        reason=body.reason or "",
    )
    return await handlers.adjust_window(cmd, **deps)


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
