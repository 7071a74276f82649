"""Turnout (of a period in a branch, and of a year in a scope), a member's results and the
committee's view of its branch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.reviews.api.deps import ReadSession
from services.reviews.handlers import reports
from services.reviews.handlers.turnout import scope_turnout as count_scope_turnout
from services.reviews.projections.views import (
    BranchOverview,
    MemberResultsView,
    ScopeTurnoutView,
    TurnoutView,
)
from shared.auth import CurrentPrincipal
from shared.contracts.reviews import ScopeLevel

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
    "/turnout",
    summary="全公司、二级党委或党支部本年度各评议期的参评人数（只有人数，不含名单和评分）",
    responses={
        403: {
            "description": "not the organization department, the unit's or the branch's committee"
        },
        404: {"description": "unknown unit or branch"},
        422: {"description": "a unit or branch scope without its id"},
    },
)
async def scope_turnout(
    year: Annotated[int, Query(ge=2000, le=2100, description="年度")],
    session: ReadSession,
    principal: CurrentPrincipal,
    scope: Annotated[
        ScopeLevel, Query(description="company 全公司、unit 二级党委、branch 党支部")
    ] = ScopeLevel.COMPANY,
    scope_id: Annotated[
        str | None, Query(alias="id", description="二级党委或党支部编号；全公司不填")
    ] = None,
) -> ScopeTurnoutView:
    """Per review period of the year that covers the scope: eligible and voted reviewers
    summed over the scope's branches, per role and in all. The organization department reads
    any scope, a unit committee its unit, a branch committee its branch."""
    return await count_scope_turnout(session, year, scope, scope_id, principal=principal)


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
