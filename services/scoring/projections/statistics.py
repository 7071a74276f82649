"""Statistics per branch, unit and company (DOMAIN.md section 4): sums of the branches'
counts, with rates recomputed from the sums so a small branch weighs what it counts, and the
signed pledges per responsibility area. Whatever the scope, the figures take a fixed number
of grouped queries: never one per branch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import BAND_LABELS, BandDistribution, SatisfactionTally
from services.scoring.projections.derive import SIGNED
from services.scoring.projections.queries import branch_info
from services.scoring.projections.views import AreaCount, BandShare, StatisticsView
from shared.contracts.pledges import ResponsibilityArea
from shared.contracts.scoring import Band

SCOPES = ("company", "unit", "branch")
SCOPE_LABELS = {"company": "全公司", "unit": "二级党委", "branch": "党支部"}


def _sums() -> list[Any]:
    return [
        func.coalesce(func.sum(t.branch_stats.c[name]), 0).label(name) for name in t.STAT_COUNTS
    ]


def _signed_by_area(year: int, *keys: Any) -> Any:
    """Signed pledges per area and year. "Signed" is the scoring read model's ``SIGNED``:
    approved by the committee (定诺, DOMAIN.md section 2 step 3) or any later state. A pledge
    only declared or sent back for revision is not signed yet, and a withdrawn one never was
    (withdrawal is possible only before approval), so DOMAIN.md section 4's "pledges signed"
    is this count and the areas add up to ``pledges_signed``."""
    p = t.pledges.c
    return (
        select(*keys, p.area, func.count().label("pledges"))
        .where(p.year == year, p.status.in_(sorted(SIGNED)))
        .group_by(*keys, p.area)
    )


def _by_area(counts: dict[str, int]) -> list[AreaCount]:
    """Every area in the order of DOMAIN.md section 1, with the labels people see."""
    return [
        AreaCount(area=area.value, label=area.label, pledges=counts.get(area.value, 0))
        for area in ResponsibilityArea
    ]


def _statistics(
    scope: str,
    scope_id: str | None,
    name: str,
    year: int,
    branches: int,
    counts: dict[str, int],
    areas: dict[str, int],
) -> StatisticsView:
    distribution = BandDistribution(
        counts={band: counts[f"band_{band.value}"] for band in Band},
        without_composite=counts["without_composite"],
    )
    tally = SatisfactionTally(counts["mass_satisfied"], counts["mass_total"])
    return StatisticsView(
        scope=scope,
        scope_id=scope_id,
        scope_name=name,
        year=year,
        branches=branches,
        members=counts["members"],
        cards=counts["cards"],
        exempt=counts["exempt"],
        areas=counts["areas"],
        pairings=counts["pairings"],
        pledges_signed=counts["pledges_signed"],
        pledges_completed=counts["pledges_completed"],
        needs_submitted=counts["needs_submitted"],
        needs_solved=counts["needs_solved"],
        mass_satisfied=tally.satisfied,
        mass_total=tally.total,
        satisfaction_rate=tally.rate,
        bands=[
            BandShare(
                band=band.value,
                label=BAND_LABELS[band],
                count=distribution.count(band),
                share=distribution.share(band),
            )
            for band in Band
        ],
        without_composite=distribution.without_composite,
        pledges_signed_by_area=_by_area(areas),
    )


async def statistics(
    session: AsyncSession, scope: str, scope_id: str | None, year: int
) -> StatisticsView | None:
    """Statistics of the company, a unit or a branch; None when the unit or branch is
    unknown. A unit's figures are its branches' summed counts."""
    query = select(func.count().label("branches"), *_sums()).where(t.branch_stats.c.year == year)
    areas = _signed_by_area(year)
    name = "全公司"
    if scope == "branch":
        info = await branch_info(session, scope_id or "")
        if info is None:
            return None
        name = str(info["name"])
        query = query.where(t.branch_stats.c.branch_id == scope_id)
        areas = areas.where(t.pledges.c.branch_id == scope_id)
    elif scope == "unit":
        unit = await session.scalar(select(t.units.c.name).where(t.units.c.unit_id == scope_id))
        if unit is None:
            return None
        name = unit
        query = query.where(_of_unit(t.branch_stats.c.branch_id, scope_id))
        areas = areas.where(_of_unit(t.pledges.c.branch_id, scope_id))
    row = (await session.execute(query)).one()._mapping
    counts = {key: int(row[key]) for key in t.STAT_COUNTS}
    by_area = {area: int(n) for area, n in await session.execute(areas)}
    return _statistics(scope, scope_id, name, year, int(row["branches"]), counts, by_area)


def _of_unit(branch_id: Any, unit_id: str | None) -> ColumnElement[bool]:
    """The rows whose branch belongs to the unit (as the roster registered it)."""
    result: ColumnElement[bool] = branch_id.in_(
        select(t.branches.c.branch_id).where(t.branches.c.unit_id == unit_id)
    )
    return result


async def statistics_by_unit(session: AsyncSession, year: int) -> list[StatisticsView]:
    """Every unit's statistics for the year, by unit id (the company export's rows)."""
    areas: dict[str, dict[str, int]] = {}
    for unit_id, area, n in await session.execute(
        _signed_by_area(year, t.branches.c.unit_id).select_from(
            t.pledges.join(t.branches, t.branches.c.branch_id == t.pledges.c.branch_id)
        )
    ):
        areas.setdefault(unit_id, {})[area] = int(n)
    rows = await session.execute(
        select(t.units.c.unit_id, t.units.c.name, func.count().label("branches"), *_sums())
        .select_from(
            t.branch_stats.join(
                t.branches, t.branches.c.branch_id == t.branch_stats.c.branch_id
            ).join(t.units, t.units.c.unit_id == t.branches.c.unit_id)
        )
        .where(t.branch_stats.c.year == year)
        .group_by(t.units.c.unit_id, t.units.c.name)
        .order_by(t.units.c.unit_id)
    )
    return [
        _statistics(
            "unit",
            row.unit_id,
            row.name,
            year,
            int(row.branches),
            {key: int(row._mapping[key]) for key in t.STAT_COUNTS},
            areas.get(row.unit_id, {}),
        )
        for row in rows
    ]


async def statistics_by_branch(
    session: AsyncSession, year: int, unit_id: str | None = None
) -> list[tuple[StatisticsView, str, str]]:
    """Every branch's statistics for the year (of one unit when ``unit_id``), each with its
    unit's id and name, in unit then branch order: the exports' branch rows, in two queries."""
    areas: dict[str, dict[str, int]] = {}
    area_query = _signed_by_area(year, t.pledges.c.branch_id)
    if unit_id is not None:
        area_query = area_query.where(_of_unit(t.pledges.c.branch_id, unit_id))
    for branch_id, area, n in await session.execute(area_query):
        areas.setdefault(branch_id, {})[area] = int(n)
    query = (
        select(
            t.branches.c.branch_id,
            t.branches.c.name,
            t.units.c.unit_id,
            t.units.c.name.label("unit_name"),
            *(t.branch_stats.c[name] for name in t.STAT_COUNTS),
        )
        .select_from(
            t.branch_stats.join(
                t.branches, t.branches.c.branch_id == t.branch_stats.c.branch_id
            ).join(t.units, t.units.c.unit_id == t.branches.c.unit_id)
        )
        .where(t.branch_stats.c.year == year)
        .order_by(t.units.c.unit_id, t.branches.c.branch_id)
    )
    if unit_id is not None:
        query = query.where(t.units.c.unit_id == unit_id)
    return [
        (
            _statistics(
                "branch",
                row.branch_id,
                row.name,
                year,
                1,
                {key: int(row._mapping[key]) for key in t.STAT_COUNTS},
                areas.get(row.branch_id, {}),
            ),
            row.unit_id,
            row.unit_name,
        )
        for row in await session.execute(query)
    ]
