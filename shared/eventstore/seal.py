"""Seals: a digest over every stream head of a service's log, appended as a LogSealed event.

The seal travels on the service's topic like any event, so copies exist outside the service's
database. ``verify_seals`` recomputes each seal's digest from the stored events.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import Actor, Org
from shared.contracts.kernel import LogSealed
from shared.eventstore.store import EventStore, Metadata
from shared.eventstore.tables import events

SYSTEM_ACTOR = Actor(ref="system", role="operator")


def seal_stream(service: str) -> str:
    return f"log-seal-{service}"


async def heads_digest(
    session: AsyncSession, *, up_to_position: int, exclude_stream: str
) -> tuple[str, int, int]:
    """(digest, streams, events) over each stream's last hash at or before the position."""
    last = (
        select(events.c.stream, func.max(events.c.sequence).label("sequence"))
        .where(events.c.position <= up_to_position, events.c.stream != exclude_stream)
        .group_by(events.c.stream)
        .subquery()
    )
    rows = await session.execute(
        select(events.c.stream, events.c.sequence, events.c.hash)
        .join(last, (events.c.stream == last.c.stream) & (events.c.sequence == last.c.sequence))
        .order_by(events.c.stream)
    )
    digest = hashlib.sha256()
    streams = count = 0
    for stream, sequence, hash_ in rows:
        digest.update(f"{stream}\n{sequence}\n{hash_}\n".encode())
        streams += 1
        count += sequence
    return digest.hexdigest(), streams, count


async def seal_log(session: AsyncSession, *, service: str, now: datetime) -> LogSealed | None:
    """Append a seal over everything stored so far; None when nothing changed since the last."""
    store = EventStore()  # the shared registry, where kernel events live
    stream = seal_stream(service)
    up_to = int(
        await session.scalar(
            select(func.coalesce(func.max(events.c.position), 0)).where(events.c.stream != stream)
        )
        or 0
    )
    history = await store.load(session, stream)
    last = history[-1].event if history else None
    if isinstance(last, LogSealed) and last.up_to_position == up_to:
        return None
    digest, streams, count = await heads_digest(
        session, up_to_position=up_to, exclude_stream=stream
    )
    seal = LogSealed(
        service=service, up_to_position=up_to, streams=streams, events=count, digest=digest
    )
    await store.append(
        session,
        stream=stream,
        expected_version=len(history),
        events_=[seal],
        meta=Metadata(actor=SYSTEM_ACTOR, org=Org(), occurred_at=now, correlation_id=uuid.uuid4()),
        partition_key=service,
    )
    return seal


@dataclass(frozen=True)
class SealProblem:
    sequence: int
    up_to_position: int
    reason: str


async def verify_seals(session: AsyncSession, *, service: str) -> tuple[int, list[SealProblem]]:
    """Recompute every seal of the service; returns (seals checked, problems)."""
    store = EventStore()
    stream = seal_stream(service)
    problems: list[SealProblem] = []
    history = await store.load(session, stream)
    for stored in history:
        seal = stored.event
        if not isinstance(seal, LogSealed):
            continue
        digest, streams, count = await heads_digest(
            session, up_to_position=seal.up_to_position, exclude_stream=stream
        )
        if (digest, streams, count) != (seal.digest, seal.streams, seal.events):
            problems.append(
                SealProblem(
                    stored.envelope.sequence,
                    seal.up_to_position,
                    f"log up to position {seal.up_to_position} no longer matches its seal "
                    f"(streams {streams} vs {seal.streams}, events {count} vs {seal.events})",
                )
            )
    return len(history), problems
