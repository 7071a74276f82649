"""The scoring service's tables: a branch's results, statistics of a scope, the comparison
of years. Written as CSV or Excel by ``shared.tabular``."""

from __future__ import annotations

from collections.abc import Sequence

from services.scoring.domain import BAND_LABELS
from services.scoring.projections.statistics import SCOPE_LABELS
from services.scoring.projections.views import (
    MemberResultView,
    StatisticsHistoryView,
    StatisticsView,
)
from shared.contracts.scoring import Band
from shared.tabular import Table, safe_text, to_csv, to_xlsx

__all__ = [
    "Table",
    "branch_results_table",
    "history_table",
    "safe_text",
    "statistics_table",
    "to_csv",
    "to_xlsx",
]


def branch_results_table(branch_name: str, year: int, members: Sequence[MemberResultView]) -> Table:
    return Table(
        title=f"{branch_name}{year}年度评议结果",
        headers=(
            "党员编号",
            "姓名",
            "责任区",
            "党员互评",
            "群众评议",
            "党支部评议",
            "综合评议",
            "档次",
            "缺少的评议",
            "承诺项目数",
            "已完成承诺",
            "评分办法",
        ),
        rows=tuple(
            (
                m.member_id,
                m.name,
                m.area_label,
                m.peer,
                m.mass,
                m.branch,
                m.composite,
                m.band_label,
                m.exempt_label or "、".join(m.missing_labels) or None,
                m.pledges_total,
                m.pledges_completed,
                m.policy_id,
            )
            for m in members
        ),
    )


def statistics_table(
    year: int, rows: Sequence[StatisticsView | tuple[StatisticsView, str]], title: str = ""
) -> Table:
    """One row per scope; a branch row comes as (view, its unit's name), which fills the
    所属二级党委 column."""
    pairs = [(row, "") if isinstance(row, StatisticsView) else row for row in rows]
    return Table(
        title=f"{title}{year}年度党员塑形工程统计",
        headers=(
            "范围",
            "名称",
            "所属二级党委",
            "支部数",
            "党员数",
            "责任区",
            "结对",
            "签订承诺",
            "完成承诺",
            "员工需求",
            "解决问题",
            "群众评议票数",
            "满意票数",
            "群众满意率(%)",
            *(BAND_LABELS[band] for band in Band),
            "无综合评议",
            "积分卡",
            "免于评议",
        ),
        rows=tuple(
            (
                SCOPE_LABELS[view.scope],
                view.scope_name,
                unit_name or None,
                view.branches,
                view.members,
                view.areas,
                view.pairings,
                view.pledges_signed,
                view.pledges_completed,
                view.needs_submitted,
                view.needs_solved,
                view.mass_total,
                view.mass_satisfied,
                view.satisfaction_rate,
                *(share.count for share in view.bands),
                view.without_composite,
                view.cards,
                view.exempt,
            )
            for view, unit_name in pairs
        ),
    )


def history_table(view: StatisticsHistoryView) -> Table:
    """历年对比: one row per figure, the value of each year, then the change of each year
    from the one before."""
    years = view.years
    return Table(
        title=f"{view.scope_name}{years[0]}-{years[-1]}年度对比",
        headers=(
            "指标",
            *(f"{year}年" for year in years),
            *(f"{year}年比上年" for year in years[1:]),
        ),
        rows=tuple((row.label, *row.values, *row.changes[1:]) for row in view.figures),
    )
