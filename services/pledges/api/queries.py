"""Read routes, backed by the query tables. The public board (``/public/...``) is for
everyone; every other read needs a token, and shows only the pledges the reader may read
(``projections.access``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from services.pledges import persistence as t
from services.pledges.api.deps import Now, ReadSession, RuntimeDep
from services.pledges.handlers.base import BEIJING
from services.pledges.projections import queries
from services.pledges.projections.timeline import PledgeTimeline, pledge_timeline
from services.pledges.projections.views import (
    LedgerView,
    MemberAreaView,
    NeedView,
    OverduePledge,
    PledgeView,
    PublicPledgeView,
)
from shared.auth import CurrentPrincipal
from shared.tabular import Table, download

router = APIRouter(tags=["queries"])
_NOT_FOUND: dict[int | str, dict[str, str]] = {
    403: {"description": "another branch's internal records"},
    404: {"description": "unknown id, or a pledge the reader may not read"},
}
YearQuery = Annotated[int | None, Query(ge=2000, le=2100, description="年度；不填为全部")]
MonthQuery = Annotated[
    str,
    Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="台账月份 YYYY-MM", examples=["2024-03"]),
]


@router.get("/pledges/{pledge_id}", summary="承诺详情", responses=_NOT_FOUND)
async def get_pledge(pledge_id: str, session: ReadSession, reader: CurrentPrincipal) -> PledgeView:
    return await queries.pledge(session, pledge_id, reader=reader)


@router.get("/pledges/{pledge_id}/timeline", summary="承诺历程", responses=_NOT_FOUND)
async def get_pledge_timeline(
    pledge_id: str, session: ReadSession, reader: CurrentPrincipal, rt: RuntimeDep
) -> PledgeTimeline:
    """Every step of the pledge from its own event stream: who (name and role), when, what;
    the reasons only for the member, the committee and the organization department."""
    return await pledge_timeline(session, rt.store, pledge_id, reader=reader)


@router.get("/members/{person_id}/areas/{year}", summary="党员的年度责任区", responses=_NOT_FOUND)
async def member_area(
    person_id: str,
    year: Annotated[int, Path(ge=2000, le=2100, description="年度")],
    session: ReadSession,
    reader: CurrentPrincipal,
) -> MemberAreaView:
    return await queries.member_area(session, person_id, year, reader=reader)


@router.get("/members/{person_id}/pledges", summary="党员的承诺", responses=_NOT_FOUND)
async def member_pledges(
    person_id: str, session: ReadSession, reader: CurrentPrincipal, year: YearQuery = None
) -> list[PledgeView]:
    return await queries.member_pledges(session, person_id, reader=reader, year=year)


@router.get("/branches/{branch_id}/ledger", summary="支部月度承诺台账", responses=_NOT_FOUND)
async def branch_ledger(
    branch_id: str, month: MonthQuery, session: ReadSession, reader: CurrentPrincipal
) -> LedgerView:
    return await queries.branch_ledger(session, branch_id, month, reader=reader)


@router.get(
    "/branches/{branch_id}/ledger/export.{fmt}",
    summary="导出支部月度承诺台账（CSV 或 Excel）",
    responses=_NOT_FOUND,
)
async def export_branch_ledger(
    branch_id: str,
    fmt: Literal["csv", "xlsx"],
    month: MonthQuery,
    session: ReadSession,
    reader: CurrentPrincipal,
) -> Response:
    """The month's ledger as the committee keeps it: one row per pledge tracked that month
    (readers as for the ledger)."""
    ledger = await queries.branch_ledger(session, branch_id, month, reader=reader)
    name = await session.scalar(
        select(t.branches.c.name).where(t.branches.c.branch_id == branch_id)
    )
    return download(ledger_table(name or branch_id, ledger), fmt, f"{branch_id}-{month}-ledger")


def ledger_table(branch_name: str, ledger: LedgerView) -> Table:
    year, month = ledger.month[:4], int(ledger.month[5:])
    return Table(
        title=f"{branch_name}{year}年{month}月承诺台账",
        headers=("党员", "承诺项目", "完成时限", "本月考核", "说明", "补记理由", "更正理由"),
        rows=tuple(
            (
                row.member_name or row.member_id,
                row.item,
                row.due_date.isoformat(),
                row.assessment_label or "未记录",
                row.note,
                row.late_reason,
                row.correction_reason,
            )
            for row in ledger.rows
        ),
    )


@router.get("/branches/{branch_id}/needs", summary="需求及其对应承诺", responses=_NOT_FOUND)
async def branch_needs(
    branch_id: str,
    session: ReadSession,
    reader: CurrentPrincipal,
    year: Annotated[int, Query(ge=2000, le=2100, description="年度")],
) -> list[NeedView]:
    return await queries.branch_needs(session, branch_id, year=year, reader=reader)


@router.get(
    "/branches/{branch_id}/pledges/overdue", summary="逾期未完成的承诺", responses=_NOT_FOUND
)
async def overdue_pledges(
    branch_id: str,
    session: ReadSession,
    reader: CurrentPrincipal,
    now: Now,
    on: Annotated[date | None, Query(description="按哪一天计算；默认今天")] = None,
) -> list[OverduePledge]:
    return await queries.overdue_pledges(
        session, branch_id, on=on or now.astimezone(BEIJING).date(), reader=reader
    )


@router.get(
    "/public/branches/{branch_id}/pledges",
    summary="支部公开的承诺（公开，无需登录）",
    responses=_NOT_FOUND,
)
async def published_pledges(
    branch_id: str, session: ReadSession, year: YearQuery = None
) -> list[PublicPledgeView]:
    return await queries.published_pledges(session, branch_id, year=year)
