"""A tiny projection for the kernel's tests: per stream, the sum of amounts and event count."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.eventstore import StoredEvent
from shared.messaging.consumer import upsert
from tests.support.events import CounterIncremented

test_metadata = MetaData()
totals = Table(
    "tp_totals",
    test_metadata,
    Column("stream", String(160), primary_key=True),
    Column("total", Integer, nullable=False),
    Column("events", Integer, nullable=False),
)


class Poisoned(RuntimeError):
    pass


async def apply(session: AsyncSession, stored: StoredEvent) -> None:
    event = stored.event
    if not isinstance(event, CounterIncremented):
        return
    if event.note == "poison":
        raise Poisoned("this event cannot be applied")
    row = (
        await session.execute(
            select(totals.c.total, totals.c.events).where(totals.c.stream == stored.envelope.stream)
        )
    ).first()
    total, count = (row[0], row[1]) if row else (0, 0)
    await upsert(
        session,
        totals,
        [{"stream": stored.envelope.stream, "total": total + event.amount, "events": count + 1}],
        ["stream"],
    )


async def read_totals(session: AsyncSession) -> dict[str, tuple[int, int]]:
    rows = await session.execute(select(totals.c.stream, totals.c.total, totals.c.events))
    return {stream: (total, events) for stream, total, events in rows}
