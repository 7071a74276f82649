"""Reading whole projection tables, to compare a rebuild with the live run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.scoring import persistence as t
from shared.db import Database

Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(db: Database) -> Snapshot:
    """Every row of every scoring projection table, in primary-key order."""
    tables: Snapshot = {}
    async with db.reading() as session:
        for table in t.read_metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            rows = await session.execute(select(table).order_by(*keys))
            tables[table.name] = [tuple(row) for row in rows]
    return tables
