"""Append-only event store with optimistic concurrency on a stream's version."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY, Actor, Envelope, Event, EventRegistry, Org
from shared.contracts.encoding import canonical_json
from shared.contracts.envelope import EnvelopeView
from shared.errors import ConcurrencyError
from shared.eventstore.rows import GENESIS, envelope_bytes, link_hash
from shared.eventstore.tables import EVENT_COLUMNS, events, outbox, streams


@dataclass(frozen=True)
class Metadata:
    """What the handler knows about a decision: who, where, when, and why (causation)."""

    actor: Actor
    org: Org
    occurred_at: datetime
    correlation_id: UUID
    year: int | None = None
    causation_id: UUID | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: its log position, the envelope, and the decoded (upcast) payload."""

    position: int
    envelope: EnvelopeView
    event: Event


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def envelope_from_row(row: Mapping[Any, Any]) -> Envelope:
    return Envelope(
        event_id=row["event_id"],
        type=row["type"],
        version=row["version"],
        stream=row["stream"],
        sequence=row["sequence"],
        occurred_at=_as_utc(row["occurred_at"]),
        actor=Actor(ref=row["actor_ref"], role=row["actor_role"]),
        org=Org(unit=row["unit_id"], branch=row["branch_id"]),
        year=row["year"],
        correlation_id=row["correlation_id"],
        causation_id=row["causation_id"],
        data=json.loads(row["data"]),
    )


class EventStore:
    """Reads and appends events inside the caller's transaction (the unit of work).

    ``append`` writes the events and their outbox rows together; the caller commits. Nothing is
    published here: the relay does that after commit, so a rolled-back decision never leaks.
    A private event (``Event.private``) gets no outbox row: it is stored and chained like any
    other, but never published.
    """

    def __init__(self, registry: EventRegistry = REGISTRY) -> None:
        self.registry = registry

    async def append(
        self,
        session: AsyncSession,
        *,
        stream: str,
        expected_version: int,
        events_: Sequence[Event],
        meta: Metadata,
        partition_key: str | None = None,
    ) -> list[StoredEvent]:
        """Append ``events_`` after ``expected_version`` (0 = the stream must not exist yet).

        Raises :class:`ConcurrencyError` when the stream moved on since it was read; the caller's
        transaction must then be rolled back (the unit of work does that). ``partition_key`` is
        required for a new stream and ignored afterwards (the stream keeps its first key).
        """
        if not events_:
            return []
        new_version = expected_version + len(events_)
        if expected_version == 0:
            if not partition_key:
                raise ValueError(f"a partition key is needed to start stream {stream!r}")
            key, prev_hash = partition_key, GENESIS
        else:
            head = (
                await session.execute(
                    update(streams)
                    .where(streams.c.stream == stream, streams.c.version == expected_version)
                    .values(version=new_version)
                    .returning(streams.c.partition_key, streams.c.head_hash)
                )
            ).first()
            if head is None:
                raise ConcurrencyError(f"记录 {stream} 已被他人修改，请刷新后重试")
            key, prev_hash = head[0], head[1]

        rows: list[dict[str, Any]] = []
        for offset, event in enumerate(events_, start=1):
            row: dict[str, Any] = {
                "event_id": uuid.uuid4(),
                "stream": stream,
                "sequence": expected_version + offset,
                "type": event.type_name,
                "version": event.schema_version,
                "occurred_at": meta.occurred_at.astimezone(UTC),
                "actor_ref": meta.actor.ref,
                "actor_role": meta.actor.role,
                "unit_id": meta.org.unit,
                "branch_id": meta.org.branch,
                "year": meta.year,
                "correlation_id": meta.correlation_id,
                "causation_id": meta.causation_id,
                "partition_key": key,
                "data": canonical_json(event.model_dump(mode="json")).decode("utf-8"),
                "prev_hash": prev_hash,
            }
            # Encoded once: the envelope's canonical JSON is both the hash input and, for a
            # published event, the Kafka value the relay sends as stored.
            wire = envelope_bytes(row)
            row["hash"] = prev_hash = link_hash(prev_hash, wire)
            row["wire"] = None if event.private else wire
            rows.append(row)

        if expected_version == 0:
            try:
                await session.execute(
                    insert(streams).values(
                        stream=stream, version=new_version, partition_key=key, head_hash=prev_hash
                    )
                )
            except IntegrityError:
                raise ConcurrencyError(f"记录 {stream} 已被他人创建，请刷新后重试") from None
        else:
            await session.execute(
                update(streams).where(streams.c.stream == stream).values(head_hash=prev_hash)
            )
        positions = (
            (await session.execute(insert(events).returning(events.c.position), rows))
            .scalars()
            .all()
        )
        published = [
            {"position": p}
            for p, event in zip(positions, events_, strict=True)
            if not event.private
        ]
        if published:
            await session.execute(insert(outbox), published)
        return [
            StoredEvent(
                position=position,
                envelope=envelope_from_row(row),
                event=event,
            )
            for position, row, event in zip(positions, rows, events_, strict=True)
        ]

    async def load(self, session: AsyncSession, stream: str) -> list[StoredEvent]:
        """The stream's events in sequence order, decoded and upcast to current versions."""
        result = await session.execute(
            select(*EVENT_COLUMNS).where(events.c.stream == stream).order_by(events.c.sequence)
        )
        return [self._decode(row) for row in result.mappings()]

    async def version(self, session: AsyncSession, stream: str) -> int:
        value = await session.scalar(select(streams.c.version).where(streams.c.stream == stream))
        return int(value or 0)

    async def read_all(
        self, session: AsyncSession, *, after: int = 0, limit: int = 1000
    ) -> list[StoredEvent]:
        """Events in append (position) order after ``after``; for audits and rebuilds."""
        result = await session.execute(
            select(*EVENT_COLUMNS)
            .where(events.c.position > after)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [self._decode(row) for row in result.mappings()]

    async def count(self, session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(events)) or 0)

    def _decode(self, row: RowMapping) -> StoredEvent:
        envelope = envelope_from_row(row)
        event = self.registry.decode(envelope.type, envelope.version, envelope.data)
        return StoredEvent(position=row["position"], envelope=envelope, event=event)
