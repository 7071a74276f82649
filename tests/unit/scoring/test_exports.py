"""CSV and Excel exports: Chinese headers, readable in Excel, no formula injection."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from services.scoring.exports import (
    Table,
    branch_results_table,
    safe_text,
    statistics_table,
    to_csv,
    to_xlsx,
)
from services.scoring.projections.views import BandShare, MemberResultView, StatisticsView
from shared.contracts.scoring import Band

pytestmark = pytest.mark.unit


def member(member_id: str, name: str, composite: str | None) -> MemberResultView:
    return MemberResultView(
        member_id=member_id,
        name=name,
        area_label="生产建设",
        peer=Decimal("90.00"),
        mass=Decimal("90.00"),
        branch=None if composite is None else Decimal("90.00"),
        composite=None if composite is None else Decimal(composite),
        band=None if composite is None else "good_standing",
        band_label=None if composite is None else "合格，可参加创先争优评选",
        missing_labels=[] if composite else ["缺少党支部评议结果"],
        pledges_total=2,
        pledges_completed=1,
        policy_id="default",
    )


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\t=x"])
def test_text_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(text: str) -> None:
    assert safe_text(text) == "'" + text


def test_ordinary_text_is_left_alone() -> None:
    assert safe_text("李秀英") == "李秀英"


def test_csv_has_a_byte_order_mark_chinese_headers_and_guarded_names() -> None:
    table = branch_results_table("采油一队党支部", 2024, [member("m1", "=HYPERLINK(1)", "95.00")])
    raw = to_csv(table)
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:7] == [
        "党员编号",
        "姓名",
        "责任区",
        "党员互评",
        "群众评议",
        "党支部评议",
        "综合评议",
    ]
    assert lines[1].split(",")[1] == "'=HYPERLINK(1)"
    assert lines[1].split(",")[6] == "95.00"


def test_a_member_without_composite_exports_an_empty_cell_and_the_reason() -> None:
    table = branch_results_table("b", 2024, [member("m3", "张三", None)])
    row = to_csv(table).decode("utf-8-sig").splitlines()[1].split(",")
    assert row[6] == "" and row[8] == "缺少党支部评议结果"


def test_excel_keeps_numbers_as_numbers_and_a_safe_sheet_title() -> None:
    table = Table(
        title="a/b:c*d?[e]" * 5, headers=("名称", "分数"), rows=(("甲", Decimal("88.50")),)
    )
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    assert sheet is not None
    assert len(sheet.title) <= 31 and not set("/:*?[]") & set(sheet.title)
    assert list(sheet.iter_rows(values_only=True)) == [("名称", "分数"), ("甲", 88.5)]


def test_statistics_rows_carry_every_band_in_header_order() -> None:
    view = StatisticsView(
        scope="unit",
        scope_id="u1",
        scope_name="第一采油厂党委",
        year=2024,
        branches=2,
        members=10,
        areas=9,
        pairings=4,
        pledges_signed=12,
        pledges_completed=7,
        needs_submitted=20,
        needs_solved=5,
        mass_satisfied=95,
        mass_total=100,
        satisfaction_rate=Decimal("95.00"),
        bands=[
            BandShare(band=band.value, label=band.value, count=i, share=None)
            for i, band in enumerate(Band)
        ],
        without_composite=0,
    )
    table = statistics_table(2024, [view])
    row = dict(zip(table.headers, table.rows[0], strict=True))
    assert row["范围"] == "二级党委" and row["群众满意率(%)"] == Decimal("95.00")
    assert row["不合格党员"] == 0 and row["合格，可参加创先争优评选"] == 4
