"""Reading cards and statistics, and exporting them as CSV or Excel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.api.deps import Now, ReadSession, RuntimeDep
from services.scoring.exports import (
    branch_results_table,
    history_table,
    statistics_table,
)
from services.scoring.handlers.access import branch_reader, card_reader, statistics_reader
from services.scoring.handlers.results import read_publication
from services.scoring.projections.history import MAX_YEARS, member_history, statistics_history
from services.scoring.projections.queries import branch_info, branch_results, card_view
from services.scoring.projections.statistics import (
    statistics,
    statistics_by_branch,
    statistics_by_unit,
)
from services.scoring.projections.views import (
    CardView,
    MemberHistoryView,
    StatisticsHistoryView,
    StatisticsView,
    objection_status,
)
from shared.auth import CurrentPrincipal, Principal
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.tabular import download

BEIJING = timezone(timedelta(hours=8))

router = APIRouter(tags=["查询与导出"])

Scope = Literal["company", "unit", "branch"]
Format = Literal["csv", "xlsx"]
FromYear = Annotated[int | None, Query(alias="from", ge=2000, le=2100, description="起始年度")]
ToYear = Annotated[int | None, Query(alias="to", ge=2000, le=2100, description="截止年度")]


def _years(first: int | None, last: int | None, now: datetime) -> list[int]:
    last = last if last is not None else now.astimezone(BEIJING).year
    first = first if first is not None else last - 2
    if first > last:
        raise InvalidInput(f"起始年度（{first}）不能晚于截止年度（{last}）")
    if last - first + 1 > MAX_YEARS:
        raise InvalidInput(f"一次最多对比{MAX_YEARS}个年度，请缩小年度范围")
    return list(range(first, last + 1))


async def _unit_of_scope(session: AsyncSession, scope: str, scope_id: str | None) -> str | None:
    """The unit a statistics scope belongs to (a unit is its own), for the unit committee."""
    if scope == "unit":
        return scope_id
    if scope == "branch" and scope_id:
        info = await branch_info(session, scope_id)
        return str(info["unit_id"]) if info and info["unit_id"] else None
    return None


@router.get("/members/{member_id}/cards", response_model=MemberHistoryView)
async def read_member_history(
    member_id: str, principal: CurrentPrincipal, session: ReadSession
) -> MemberHistoryView:
    """The member's cards across years (历年积分卡), oldest first. A branch committee sees
    the years the member spent in its branch; the member and the organization department
    all of them."""
    history = await member_history(session, member_id)
    if history is None:
        raise NotFound("该党员还没有任何年度的积分卡")
    readable = []
    for card in history.years:
        try:
            card_reader(principal, member_id, card.branch_id, card.unit_id)
        except Forbidden:
            continue
        readable.append(card)
    if not readable:
        card_reader(principal, member_id, None)  # raises the reader rule's message
    return history.model_copy(update={"years": readable})


@router.get("/statistics/history", response_model=StatisticsHistoryView)
async def read_statistics_history(
    principal: CurrentPrincipal,
    session: ReadSession,
    now: Now,
    scope: Scope = "company",
    scope_id: Annotated[str | None, Query(alias="id")] = None,
    first: FromYear = None,
    last: ToYear = None,
) -> StatisticsHistoryView:
    """Statistics of a scope for several years side by side (历年对比), each figure with its
    change from the year before; by default the last three years."""
    years = _years(first, last, now)
    view = await _history(principal, session, scope, scope_id, years)
    return view


async def _history(
    principal: Principal, session: AsyncSession, scope: str, scope_id: str | None, years: list[int]
) -> StatisticsHistoryView:
    if scope != "company" and not scope_id:
        raise InvalidInput("查看二级党委或党支部的统计时必须给出其编号（id）")
    statistics_reader(principal, scope, scope_id, await _unit_of_scope(session, scope, scope_id))
    view = await statistics_history(session, scope, None if scope == "company" else scope_id, years)
    if view is None:
        raise NotFound("没有找到该二级党委或党支部")
    return view


@router.get("/statistics/history/export.{fmt}")
async def export_statistics_history(
    fmt: Format,
    principal: CurrentPrincipal,
    session: ReadSession,
    now: Now,
    scope: Scope = "company",
    scope_id: Annotated[str | None, Query(alias="id")] = None,
    first: FromYear = None,
    last: ToYear = None,
) -> Response:
    """The comparison as CSV or Excel: one row per figure, a column per year and per change."""
    years = _years(first, last, now)
    view = await _history(principal, session, scope, scope_id, years)
    name = f"statistics-history-{scope_id or 'company'}-{years[0]}-{years[-1]}"
    return download(history_table(view), fmt, name)


@router.get("/members/{member_id}/cards/{year}", response_model=CardView)
async def read_card(
    member_id: str,
    year: int,
    principal: CurrentPrincipal,
    session: ReadSession,
    rt: RuntimeDep,
    now: Now,
) -> CardView:
    """The member's points card (积分卡) for the year, with whether the member may object to
    the published result now and their objections (``objection``)."""
    card = await card_view(session, member_id, year)
    if card is None:
        raise NotFound(f"没有该党员{year}年度的积分卡")
    card_reader(principal, member_id, card.branch_id, card.unit_id)
    if card.branch_id is not None:
        state = await read_publication(card.branch_id, year, db=rt.db, store=rt.store)
        status = objection_status(
            state, branch_id=card.branch_id, year=year, member_id=member_id, now=now
        )
        card = card.model_copy(update={"objection": status})
    return card


@router.get("/statistics/{year}", response_model=StatisticsView)
async def read_statistics(
    year: int,
    principal: CurrentPrincipal,
    session: ReadSession,
    scope: Scope = "company",
    scope_id: Annotated[str | None, Query(alias="id")] = None,
) -> StatisticsView:
    """Statistics of the company, a unit (``id`` = unit) or a branch (``id`` = branch),
    with the signed pledges per responsibility area (``pledges_signed_by_area``)."""
    if scope != "company" and not scope_id:
        raise InvalidInput("查看二级党委或党支部的统计时必须给出其编号（id）")
    statistics_reader(principal, scope, scope_id, await _unit_of_scope(session, scope, scope_id))
    view = await statistics(session, scope, None if scope == "company" else scope_id, year)
    if view is None:
        raise NotFound("没有找到该二级党委或党支部")
    return view


@router.get("/branches/{branch_id}/results/{year}/export.{fmt}")
async def export_branch_results(
    branch_id: str, year: int, fmt: Format, principal: CurrentPrincipal, session: ReadSession
) -> Response:
    """The branch's results for the year as CSV or Excel."""
    info = await branch_info(session, branch_id)
    branch_reader(principal, branch_id, info["unit_id"] if info else None)
    name = str(info["name"]) if info else branch_id
    table = branch_results_table(name, year, await branch_results(session, branch_id, year))
    return download(table, fmt, f"{branch_id}-{year}-results")


@router.get("/statistics/{year}/export.{fmt}")
async def export_statistics(
    year: int,
    fmt: Format,
    principal: CurrentPrincipal,
    session: ReadSession,
    scope: Scope = "company",
    scope_id: Annotated[str | None, Query(alias="id")] = None,
) -> Response:
    """The statistics of a scope for the year with a row per unit and branch under it: the
    company (its total, then each unit followed by its branches), a unit (its total and its
    branches) or a branch. Readers as for the statistics."""
    if scope != "company" and not scope_id:
        raise InvalidInput("导出二级党委或党支部的统计时必须给出其编号（id）")
    statistics_reader(principal, scope, scope_id, await _unit_of_scope(session, scope, scope_id))
    total = await statistics(session, scope, None if scope == "company" else scope_id, year)
    if total is None:
        raise NotFound("没有找到该二级党委或党支部")
    rows: list[StatisticsView | tuple[StatisticsView, str]] = [total]
    if scope != "branch":
        branches = await statistics_by_branch(session, year, scope_id)
        units = await statistics_by_unit(session, year) if scope == "company" else []
        for unit in units:
            rows.append(unit)
            rows.extend((b, name) for b, unit_id, name in branches if unit_id == unit.scope_id)
        if scope == "unit":
            rows.extend((b, name) for b, _, name in branches)
    title = "" if scope == "company" else total.scope_name
    name = f"statistics-{year}" + ("" if scope == "company" else f"-{scope_id}")
    return download(statistics_table(year, rows, title), fmt, name)
