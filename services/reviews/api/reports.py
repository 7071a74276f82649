"""Turnout, a member's results and the committee's view of its branch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.reviews.api.deps import ReadSession
from services.reviews.handlers import reports
from services.reviews.projections.views import BranchOverview, MemberResultsView, TurnoutView
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["reports"])
_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "not this branch's committee nor the organization department"},
    404: {"description": "unknown period, branch or member"},
}


@router.get(
    "/periods/{period_id}/turnout",
    summary="参评情况（人数与未投票名单，不含评分）",
    responses=_REFUSALS,
)
async def turnout(
    period_id: Annotated[str, Path(description="评议期编号")],
    branch: Annotated[str, Query(description="党支部编号")],
    session: ReadSession,
    principal: CurrentPrincipal,
) -> TurnoutView:
    return await reports.turnout(session, period_id, branch, principal=principal)


@router.get(
    "/members/{member_id}/results",
    summary="党员各期评议结果（票数不足时不显示分数）",
    responses=_REFUSALS,
)
async def member_results(
    member_id: Annotated[str, Path(description="党员编号")],
    year: Annotated[int, Query(ge=2000, le=2100, description="年度")],
    session: ReadSession,
    principal: CurrentPrincipal,
) -> MemberResultsView:
    return await reports.member_results(session, member_id, year, principal=principal)


@router.get(
    "/branches/{branch_id}/overview",
    summary="支部评议总览（支委会）",
    responses=_REFUSALS,
)
async def branch_overview(
    branch_id: Annotated[str, Path(description="党支部编号")],
    period: Annotated[str, Query(description="评议期编号")],
    session: ReadSession,
    principal: CurrentPrincipal,
) -> BranchOverview:
    return await reports.branch_overview(session, branch_id, period, principal=principal)
