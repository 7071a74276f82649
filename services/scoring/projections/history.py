"""Across years: a member's cards, and a scope's statistics side by side with the change from
the year before (the seed's yearly figures: areas, pairings, pledges signed and completed,
needs submitted and solved, satisfaction, bands)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import BAND_LABELS
from services.scoring.projections.queries import area_label, branch_info, names_of
from services.scoring.projections.statistics import statistics
from services.scoring.projections.views import (
    CardYear,
    FigureRow,
    MemberHistoryView,
    StatisticsHistoryView,
    StatisticsView,
    exemption_label,
    missing_labels,
)
from shared.contracts.scoring import Band

MAX_YEARS = 10
"""A comparison covers at most this many years (one statistics query each)."""

Figure = tuple[str, str, Callable[[StatisticsView], int | Decimal | None]]


def _band_count(band: Band) -> Callable[[StatisticsView], int | Decimal | None]:
    def count(view: StatisticsView) -> int | Decimal | None:
        return next((share.count for share in view.bands if share.band == band.value), 0)

    return count


FIGURES: tuple[Figure, ...] = (
    ("branches", "党支部数", lambda v: v.branches),
    ("members", "在册党员", lambda v: v.members),
    ("cards", "积分卡", lambda v: v.cards),
    ("exempt", "免于评议", lambda v: v.exempt),
    ("areas", "选定责任区", lambda v: v.areas),
    ("pairings", "结对", lambda v: v.pairings),
    ("pledges_signed", "签订承诺", lambda v: v.pledges_signed),
    ("pledges_completed", "完成承诺", lambda v: v.pledges_completed),
    ("needs_submitted", "员工需求", lambda v: v.needs_submitted),
    ("needs_solved", "解决问题", lambda v: v.needs_solved),
    ("satisfaction_rate", "群众满意率(%)", lambda v: v.satisfaction_rate),
    *((f"band_{band.value}", BAND_LABELS[band], _band_count(band)) for band in Band),
    ("without_composite", "无综合评议", lambda v: v.without_composite),
)


def _change(before: int | Decimal | None, after: int | Decimal | None) -> int | Decimal | None:
    if before is None or after is None:
        return None
    return after - before


def compare(views: Sequence[StatisticsView | None]) -> list[FigureRow]:
    """One row per figure: its value in each year (None where the year has no statistics)
    and the change from the year before (None for the first year or a missing value)."""
    rows = []
    for key, label, value_of in FIGURES:
        values = [value_of(view) if view is not None else None for view in views]
        changes = [None, *(_change(a, b) for a, b in pairwise(values))]
        rows.append(FigureRow(figure=key, label=label, values=values, changes=changes))
    return rows


async def statistics_history(
    session: AsyncSession, scope: str, scope_id: str | None, years: Sequence[int]
) -> StatisticsHistoryView | None:
    """The scope's statistics for each year (ascending), compared; None for an unknown scope."""
    views = [await statistics(session, scope, scope_id, year) for year in years]
    known = next((view for view in views if view is not None), None)
    if known is None:
        return None
    # A year with no branch statistics still answers (zeros): show it as "no data".
    shown = [view if view is not None and view.branches else None for view in views]
    return StatisticsHistoryView(
        scope=scope,
        scope_id=scope_id,
        scope_name=known.scope_name,
        years=list(years),
        figures=compare(shown),
    )


async def member_history(session: AsyncSession, member_id: str) -> MemberHistoryView | None:
    """Every card of the member, oldest first, each with the branch it was kept in."""
    rows = (
        await session.execute(
            select(t.cards).where(t.cards.c.member_id == member_id).order_by(t.cards.c.year)
        )
    ).all()
    if not rows:
        return None
    names = await names_of(session, {member_id})
    branches = {row.branch_id for row in rows if row.branch_id}
    infos = {b: await branch_info(session, b) for b in sorted(branches)}
    years = []
    for row in rows:
        info = infos.get(row.branch_id) if row.branch_id else None
        years.append(
            CardYear(
                year=row.year,
                branch_id=row.branch_id,
                branch_name=info["name"] if info else None,
                unit_id=info["unit_id"] if info else None,
                area_label=area_label(row.area),
                composite=Decimal(row.composite) if row.composite is not None else None,
                band=row.band,
                band_label=BAND_LABELS[Band(row.band)] if row.band else None,
                missing_labels=missing_labels(list(row.missing), row.area, row.exempt),
                pledges_total=row.pledges_total,
                pledges_completed=row.pledges_completed,
                exempt_label=exemption_label(row.exempt, row.exempt_text),
            )
        )
    return MemberHistoryView(member_id=member_id, name=names.get(member_id), years=years)
