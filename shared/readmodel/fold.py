"""Folding the log in memory: how a rebuild fills an empty slot at the speed of the wire.

A rebuild that starts from an empty slot does not need the consumer's per-batch transactions:
nothing reads the slot until it is verified, and an interrupted fold leaves the slot as empty
as it found it (a rerun starts the fold again). So a read model may declare a *fold*
(``ReadModelSpec.fold``): the rebuild decodes every record up to the ends of the topics,
drops duplicates and held-back events by stream sequence exactly as the checkpointed consumer
does, hands the events to the fold in log order, and at the end writes, in ONE transaction,
the fold's rows (bulk inserts into the empty tables), the per-stream sequences and the
offsets. From there the rebuild goes on with the ordinary checkpointed consumer (the records
that arrived meanwhile), then verification and the switch, as before.

A fold must end in exactly the rows the live projection would have written for the same
events (the rebuild's verification compares them table by table, and the read model's tests
compare the fold with the live path on both databases).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sqlalchemy import JSON, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.eventstore.store import StoredEvent

BULK_ROWS = 5000
"""Rows per executemany: large enough for the drivers' batched INSERTs, small enough that
SQLite's and asyncpg's parameter buffers stay modest."""


class Fold(Protocol):
    def add(self, events: Sequence[StoredEvent]) -> None:
        """Apply new events (deduplicated, in log order per stream) in memory. Raising means
        the fold cannot go on: the rebuild drops it and replays batch by batch instead."""

    async def write(self, session: AsyncSession) -> None:
        """Write everything into the empty slot, inside the caller's transaction."""


FoldFactory = Callable[[], Fold]


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` into an empty table in the caller's transaction: PostgreSQL's COPY
    (through asyncpg), SQLite's executemany of one INSERT. Every column comes from the row
    (missing keys are NULL: no Python-side defaults are applied)."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        await _copy(session, table, rows)
        return
    statement = insert(table)
    for start in range(0, len(rows), BULK_ROWS):
        await session.execute(statement, list(rows[start : start + BULK_ROWS]))


async def _copy(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    # The transaction must be open on the driver's connection before COPY uses it directly
    # (SQLAlchemy's asyncpg adapter begins lazily, at the first statement).
    await session.execute(text("SELECT 1"))
    connection = await session.connection()
    translate = session.get_bind().get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    columns = [column.name for column in table.columns]
    encoders = [_json_text if isinstance(column.type, JSON) else None for column in table.columns]
    records = [
        tuple(
            value if encode is None or value is None else encode(value)
            for value, encode in zip((row.get(name) for name in columns), encoders, strict=True)
        )
        for row in rows
    ]
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.copy_records_to_table(
        table.name, records=records, columns=columns, schema_name=schema
    )


def _json_text(value: Any) -> str:
    return json.dumps(value)
