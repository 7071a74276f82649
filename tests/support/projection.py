"""A tiny projection for the kernel's tests: per stream, the sum of amounts and event count."""

from __future__ import annotations

from collections.abc import Sequence

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


async def apply(session: AsyncSession, batch: Sequence[StoredEvent]) -> None:
    """Aggregate the batch in memory, then read and write each touched row once."""
    delta: dict[str, list[int]] = {}
    for stored in batch:
        event = stored.event
        if not isinstance(event, CounterIncremented):
            continue
        if event.note == "poison":
            raise Poisoned("this event cannot be applied")
        entry = delta.setdefault(stored.envelope.stream, [0, 0])
        entry[0] += event.amount
        entry[1] += 1
    if not delta:
        return
    current: dict[str, tuple[int, int]] = {}
    names = sorted(delta)
    for i in range(0, len(names), 500):
        rows = await session.execute(
            select(totals.c.stream, totals.c.total, totals.c.events).where(
                totals.c.stream.in_(names[i : i + 500])
            )
        )
        current.update({s: (t, e) for s, t, e in rows})
    rows_out = []
    for stream, (amount, count) in delta.items():
        total, events = current.get(stream, (0, 0))
        rows_out.append({"stream": stream, "total": total + amount, "events": events + count})
    for i in range(0, len(rows_out), 500):
        await upsert(session, totals, rows_out[i : i + 500], ["stream"])


async def read_totals(session: AsyncSession) -> dict[str, tuple[int, int]]:
    rows = await session.execute(select(totals.c.stream, totals.c.total, totals.c.events))
    return {stream: (total, events) for stream, total, events in rows}
