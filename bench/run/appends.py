"""Scenario 1, the storage half: event-store append vs a raw INSERT of the same rows."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import insert

from bench.generate.bulk import ACTOR_REF, ACTOR_ROLE, event_rows
from bench.run.report import Line, Report, check, rate
from bench.run.stack import Dataset, Stack
from shared.contracts import Actor, Org
from shared.db import Database
from shared.eventstore import EventStore, Metadata, kernel_metadata
from shared.eventstore.tables import events


async def append_vs_insert(run: Stack, data: Dataset, report: Report, *, count: int) -> None:
    """One event per transaction, as a command writes it: EventStore.append (stream head,
    event row with its hash, outbox row) vs a bare INSERT of the same event row."""
    items = [item for item in data.enterprise.events if item.topic == "pledges"][:count]
    correlation = uuid.UUID(int=data.enterprise.seed)
    store_db = Database(await run.dbs.new("append"))
    raw_db = Database(await run.dbs.new("insert"))
    try:
        await store_db.create_all([kernel_metadata])
        await raw_db.create_all([kernel_metadata])
        store = EventStore()
        versions: dict[str, int] = {}
        started = time.perf_counter()
        for item in items:
            version = versions.get(item.stream, 0)
            meta = Metadata(
                actor=Actor(ref=ACTOR_REF, role=ACTOR_ROLE),
                org=Org(unit=item.unit, branch=item.branch),
                occurred_at=item.occurred_at,
                correlation_id=correlation,
                year=item.year,
            )
            async with store_db.transaction() as session:
                await store.append(
                    session,
                    stream=item.stream,
                    expected_version=version,
                    events_=[item.event],
                    meta=meta,
                    partition_key=item.key,
                )
            versions[item.stream] = version + 1
        append_s = time.perf_counter() - started
        rows, _ = event_rows(items, correlation)
        started = time.perf_counter()
        for row in rows:
            async with raw_db.transaction() as session:
                await session.execute(insert(events).values(row))
        insert_s = time.perf_counter() - started
    finally:
        await store_db.dispose()
        await raw_db.dispose()
    db = run.db_kind
    report.add(
        Line(
            "command",
            db,
            f"event-store append, 1 event/txn ({len(items):,})",
            rate(len(items), append_s),
        )
    )
    report.add(Line("command", db, "raw INSERT of the same rows, 1/txn", rate(len(rows), insert_s)))
    ratio = insert_s / append_s
    report.add(
        Line(
            "command",
            db,
            "append / raw INSERT",
            f"{ratio:.0%}",
            ">= 50%",
            check(ratio, at_least=0.5),
        )
    )
