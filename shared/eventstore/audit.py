"""Operators' commands, recorded in the service's own log (the OperatorCommandRun event)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import Actor, Org
from shared.contracts.kernel import OperatorCommandRun
from shared.eventstore.store import EventStore, Metadata


def audit_stream(service: str) -> str:
    return f"operator-{service}"


async def record_operator_command(
    session: AsyncSession,
    *,
    service: str,
    operator: str,
    verified: bool,
    command: str,
    detail: str,
    host: str,
    now: datetime,
) -> OperatorCommandRun:
    """Append the record in ``session``'s transaction: with the change it describes, or
    alone, before a read-out (export) begins."""
    store = EventStore()
    stream = audit_stream(service)
    history = await store.load(session, stream)
    record = OperatorCommandRun(
        service=service,
        operator=operator[:120],
        verified=verified,
        command=command,
        detail=detail[:500],
        host=host[:120],
    )
    await store.append(
        session,
        stream=stream,
        expected_version=len(history),
        events_=[record],
        meta=Metadata(
            actor=Actor(ref=operator[:64], role="operator"),
            org=Org(),
            occurred_at=now,
            correlation_id=uuid.uuid4(),
        ),
        partition_key=service,
    )
    return record
