"""Compare two slots of a read model table by table: row counts, a checksum per table, and
a readable diff (the first differing rows by primary key) when they differ.

Both sides are read in primary-key order as streams and merged in one pass, so a table of
millions of rows costs memory for one page of each side, not the table.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

PAGE = 2000


def _text(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


@dataclass
class RowDiff:
    key: dict[str, str]
    kind: str  # only_live | only_rebuilt | changed
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)

    def describe(self) -> str:
        key = ", ".join(f"{k}={v}" for k, v in self.key.items())
        if self.kind == "only_live":
            return f"[{key}] only in the live slot"
        if self.kind == "only_rebuilt":
            return f"[{key}] only in the rebuilt slot"
        changes = "; ".join(f"{c}: {a!r} → {b!r}" for c, (a, b) in self.columns.items())
        return f"[{key}] {changes}"


@dataclass
class TableComparison:
    table: str
    live_rows: int = 0
    rebuilt_rows: int = 0
    live_checksum: str = ""
    rebuilt_checksum: str = ""
    differences: int = 0
    examples: list[RowDiff] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.differences == 0 and self.live_checksum == self.rebuilt_checksum

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "live_rows": self.live_rows,
            "rebuilt_rows": self.rebuilt_rows,
            "live_checksum": self.live_checksum,
            "rebuilt_checksum": self.rebuilt_checksum,
            "equal": self.equal,
            "differences": self.differences,
            "examples": [d.describe() for d in self.examples],
        }


def _order(session: AsyncSession, table: Table, key_names: Sequence[str]) -> list[Any]:
    """Key order that Python's comparison reproduces: code-point order for text (SQLite's
    default; PostgreSQL needs ``COLLATE "C"``), numeric for numbers."""
    postgres = session.get_bind().dialect.name == "postgresql"
    order: list[Any] = []
    for name in key_names:
        column = table.c[name]
        text_like = isinstance(column.type, String)
        order.append(column.collate("C") if postgres and text_like else column)
    return order


async def _rows(
    session: AsyncSession, table: Table, key_names: Sequence[str], columns: Sequence[str]
) -> AsyncIterator[tuple[tuple[Any, ...], tuple[str, ...]]]:
    stmt = select(*(table.c[name] for name in columns)).order_by(*_order(session, table, key_names))
    result = await session.stream(stmt.execution_options(yield_per=PAGE))
    count = len(key_names)
    async for row in result:
        yield tuple(row[:count]), tuple(_text(v) for v in row)


async def compare_table(
    live: AsyncSession,
    rebuilt: AsyncSession,
    table: Table,
    *,
    exclude: Sequence[str] = (),
    examples: int = 10,
) -> TableComparison:
    """Merge both sides in key order. Keys compare as the database sorts them, which is the
    same on both sides (same backend, same collation), so the merge stays aligned."""
    columns = [c.name for c in table.columns if c.name not in exclude]
    key_names = [c.name for c in table.primary_key.columns] or columns
    # The key first in each row, so that a row's text starts with its key.
    ordered = key_names + [c for c in columns if c not in key_names]
    out = TableComparison(table=table.name)
    live_hash, rebuilt_hash = hashlib.sha256(), hashlib.sha256()
    left_rows = _rows(live, table, key_names, ordered)
    right_rows = _rows(rebuilt, table, key_names, ordered)
    left = await anext(left_rows, None)
    right = await anext(right_rows, None)

    def note(diff: RowDiff) -> None:
        out.differences += 1
        if len(out.examples) < examples:
            out.examples.append(diff)

    def key_of(row: tuple[str, ...]) -> dict[str, str]:
        return dict(zip(key_names, row[: len(key_names)], strict=True))

    while left is not None or right is not None:
        if left is not None and (right is None or left[0] < right[0]):
            note(RowDiff(key_of(left[1]), "only_live"))
            out.live_rows += 1
            live_hash.update("\x1f".join(left[1]).encode() + b"\n")
            left = await anext(left_rows, None)
            continue
        if right is not None and (left is None or right[0] < left[0]):
            note(RowDiff(key_of(right[1]), "only_rebuilt"))
            out.rebuilt_rows += 1
            rebuilt_hash.update("\x1f".join(right[1]).encode() + b"\n")
            right = await anext(right_rows, None)
            continue
        assert left is not None and right is not None
        out.live_rows += 1
        out.rebuilt_rows += 1
        live_hash.update("\x1f".join(left[1]).encode() + b"\n")
        rebuilt_hash.update("\x1f".join(right[1]).encode() + b"\n")
        if left[1] != right[1]:
            changed = {
                name: (a, b)
                for name, a, b in zip(ordered, left[1], right[1], strict=True)
                if a != b
            }
            note(RowDiff(key_of(left[1]), "changed", changed))
        left = await anext(left_rows, None)
        right = await anext(right_rows, None)
    out.live_checksum = live_hash.hexdigest()
    out.rebuilt_checksum = rebuilt_hash.hexdigest()
    return out
