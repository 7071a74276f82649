"""Tables written as CSV or Excel, for every service's exports.

A table is built once (Chinese headers, one row per member, branch or unit) and written in
either format. Text that a spreadsheet would take for a formula (=, +, -, @ first) is
prefixed with an apostrophe: a hostile name must not run as a formula on the reader's
machine. Excel files get one sheet named by the table's title, a bold frozen header row and
columns sized to their text.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from fastapi import Response
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

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


MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def download(table: Table, fmt: str, filename: str) -> Response:
    """The table as an attachment: ``fmt`` csv or xlsx, ``filename`` without its extension."""
    body = to_csv(table) if fmt == "csv" else to_xlsx(table)
    disposition = f"attachment; filename*=UTF-8''{quote(f'{filename}.{fmt}')}"
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
