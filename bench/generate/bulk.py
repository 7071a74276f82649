"""The fast path into an event store: one transaction, multi-row INSERTs of the rows that
``EventStore.append`` would have written (es_events with the same per-stream hash chain
and wire bytes, es_streams with each stream's head, es_outbox so the relay publishes them).

Only for an empty store (every stream starts at version 0): the bench loads a company-year
with it in seconds instead of minutes. ``verify_log`` accepts the result (a test checks).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import insert, text

from bench.generate.model import Planned
from shared.contracts import REGISTRY
from shared.contracts.encoding import canonical_json
from shared.db import Database
from shared.eventstore import kernel_metadata
from shared.eventstore.rows import GENESIS, envelope_bytes, link_hash
from shared.eventstore.tables import events, outbox, streams

ACTOR_REF, ACTOR_ROLE = "bench", "generator"


def event_rows(
    items: Iterable[Planned], correlation: uuid.UUID
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(es_events rows in append order, es_streams rows) for ``items`` in causal order."""
    rows: list[dict[str, Any]] = []
    heads: dict[str, dict[str, Any]] = {}
    for item in items:
        head = heads.get(item.stream)
        if head is None:
            head = {"stream": item.stream, "version": 0, "partition_key": item.key}
            head["head_hash"] = GENESIS
            heads[item.stream] = head
        head["version"] += 1
        row: dict[str, Any] = {
            "event_id": uuid.uuid4(),
            "stream": item.stream,
            "sequence": head["version"],
            "type": item.event.type_name,
            "version": item.event.schema_version,
            "occurred_at": item.occurred_at.astimezone(UTC),
            "actor_ref": ACTOR_REF,
            "actor_role": ACTOR_ROLE,
            "unit_id": item.unit,
            "branch_id": item.branch,
            "year": item.year,
            "correlation_id": correlation,
            "causation_id": None,
            "partition_key": head["partition_key"],
            "data": canonical_json(item.event.model_dump(mode="json")).decode("utf-8"),
            "prev_hash": head["head_hash"],
        }
        wire = envelope_bytes(row)
        row["hash"] = head["head_hash"] = link_hash(head["head_hash"], wire)
        row["wire"] = None if item.event.private else wire
        rows.append(row)
    return rows, list(heads.values())


async def insert_rows(
    database: Database,
    rows: Sequence[dict[str, Any]],
    heads: Sequence[dict[str, Any]],
    *,
    chunk: int = 5000,
) -> None:
    """Write the rows of :func:`event_rows` in one transaction (the store must be empty).

    Positions are given explicitly (1..n, append order): a multi-row INSERT .. RETURNING is
    several times slower, and on PostgreSQL the position sequence is moved past them."""
    private = set(REGISTRY.private_types())
    async with database.transaction() as session:
        for start in range(0, len(heads), chunk):
            await session.execute(insert(streams), list(heads[start : start + chunk]))
        for start in range(0, len(rows), chunk):
            part = [
                {"position": start + offset, **row}
                for offset, row in enumerate(rows[start : start + chunk], start=1)
            ]
            await session.execute(insert(events), part)
            published = [{"position": r["position"]} for r in part if r["type"] not in private]
            if published:
                await session.execute(insert(outbox), published)
        if database.dialect == "postgresql" and rows:
            await session.execute(
                text("SELECT setval(pg_get_serial_sequence('es_events', 'position'), :n)"),
                {"n": len(rows)},
            )
    if database.dialect == "postgresql":
        # What autovacuum does for a store that grew by appends (PostgreSQL's advice after a
        # bulk load): without statistics the planner reads 5,000 events by primary key with a
        # scan of the whole table.
        async with database.connect() as conn:
            await conn.execute(text("ANALYZE es_events, es_outbox, es_streams"))


async def write_bulk(items: Sequence[Planned], url: str, *, seed: int, create: bool = True) -> int:
    """Append ``items`` (one service's events, causal order) to the store at ``url``."""
    database = Database(url)
    try:
        if create:
            await database.create_all([kernel_metadata])
        rows, heads = event_rows(items, uuid.UUID(int=seed))
        await insert_rows(database, rows, heads)
    finally:
        await database.dispose()
    return len(items)
