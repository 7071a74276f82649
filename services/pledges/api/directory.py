"""Directory routes for the web portal: the branches (public), a branch's roster (its own
staff, the organization department, operators) and a branch's pledges (as
``projections.access`` allows: all for its committee and the organization department, the
published ones and their own for its other staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.pledges.api.deps import ReadSession
from services.pledges.projections import directory
from services.pledges.projections.views import BranchEntry, PersonEntry, PledgeView
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["directory"])
_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "another branch's internal records"},
    404: {"description": "unknown branch"},
}


@router.get("/public/branches", summary="党支部名录（公开，无需登录）")
async def list_branches(session: ReadSession) -> list[BranchEntry]:
    return await directory.branches(session)


@router.get("/roster/people", summary="花名册人员（本支部；组织部可查全部）", responses=_REFUSALS)
async def list_people(
    session: ReadSession,
    reader: CurrentPrincipal,
    branch: Annotated[str | None, Query(description="党支部编号；不填为全部")] = None,
) -> list[PersonEntry]:
    return await directory.people(session, reader=reader, branch_id=branch)


@router.get(
    "/branches/{branch_id}/pledges",
    summary="支部的承诺（内部；支委会可见全部）",
    responses=_REFUSALS,
)
async def list_branch_pledges(
    branch_id: str,
    session: ReadSession,
    reader: CurrentPrincipal,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="年度；不填为全部")] = None,
) -> list[PledgeView]:
    return await directory.branch_pledges(session, branch_id, reader=reader, year=year)
