"""CSV and Excel exports of a branch's results and of the company statistics.

Tables are built once (headers in Chinese, one row per member or unit) and written in either
format. Text that a spreadsheet would take for a formula (=, +, -, @ first) is prefixed with
an apostrophe: a hostile name must not run as a formula on the reader's machine.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from services.scoring.domain import BAND_LABELS
from services.scoring.projections.statistics import SCOPE_LABELS
from services.scoring.projections.views import (
    MemberResultView,
    StatisticsHistoryView,
    StatisticsView,
)
from shared.contracts.scoring import Band

Cell = str | int | Decimal | None

_SHEET_UNSAFE = re.compile(r"[\\/*?:\[\]]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


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


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    return safe_text(cell) if isinstance(cell, str) else str(cell)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte order mark, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_text(cell) for cell in row] for row in table.rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _width(cell: Cell) -> int:
    """Columns as wide as their text: a CJK character takes two places."""
    text = "" if cell is None else str(cell)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def to_xlsx(table: Table) -> bytes:
    """One sheet named by the table's (Chinese) title, a bold frozen header row, and columns
    sized to their longest text (within 8 and 40 places)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _SHEET_UNSAFE.sub("_", table.title)[:31]
    sheet.append(list(table.headers))
    for row in table.rows:
        sheet.append([safe_text(cell) if isinstance(cell, str) else cell for cell in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for index, header in enumerate(table.headers):
        widest = max([_width(header), *(_width(row[index]) for row in table.rows)])
        sheet.column_dimensions[get_column_letter(index + 1)].width = min(max(widest + 2, 8), 40)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
