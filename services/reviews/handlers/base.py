"""The unit of work every reviews handler runs one decision in.

A handler loads the streams it needs, asks the domain to decide, and appends with the
version it read; the service's read tables are updated from the appended events in the same
transaction, and the relay is woken once the transaction has committed.

Unlike other services, the actor is given per append: ballot events must carry the
reviewer's pseudonym as the actor, never the authenticated person's id.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, NotRequired, TypedDict, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews.domain import fold
from services.reviews.projections import project
from shared.auth import Principal
from shared.contracts import Actor, Event, Org
from shared.db import Database
from shared.eventstore import EventStore, Metadata, StoredEvent

S = TypeVar("S")


class Dependencies(TypedDict):
    """What every handler is given, by keyword."""

    db: Database
    store: EventStore
    principal: Principal
    now: datetime
    correlation_id: NotRequired[UUID | None]
    wake: NotRequired[Callable[[], None] | None]


class CommandResult(BaseModel):
    """What a command answers: the aggregate it changed and the events it recorded."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [{"id": "rp-2024-peer-q1-b-101", "events": ["ReviewPeriodOpened"]}]
        },
    )

    id: str = Field(description="the period's id")
    events: list[str] = Field(description="types of the events recorded, in order; [] if none")


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    stream: str
    state: S | None
    version: int


@dataclass
class UnitOfWork:
    session: AsyncSession
    store: EventStore
    now: datetime
    correlation_id: UUID
    appended: list[StoredEvent] = field(default_factory=list)

    async def load(self, stream: str, evolve: Callable[[S | None, Event], S]) -> Aggregate[S]:
        stored = await self.store.load(self.session, stream)
        state = fold(evolve, (item.event for item in stored))
        version = stored[-1].envelope.sequence if stored else 0
        return Aggregate(stream=stream, state=state, version=version)

    async def append(
        self,
        aggregate: Aggregate[Any],
        events: Sequence[Event],
        *,
        actor: Actor,
        org: Org,
        partition_key: str,
        year: int | None,
    ) -> list[StoredEvent]:
        """Append after the version read; ``partition_key`` is the stream's home branch."""
        if not events:
            return []
        stored = await self.store.append(
            self.session,
            stream=aggregate.stream,
            expected_version=aggregate.version,
            events_=events,
            meta=Metadata(
                actor=actor,
                org=org,
                occurred_at=self.now,
                correlation_id=self.correlation_id,
                year=year,
            ),
            partition_key=partition_key,
        )
        await project(self.session, stored)
        self.appended.extend(stored)
        return stored


@asynccontextmanager
async def unit_of_work(
    *,
    db: Database,
    store: EventStore,
    now: datetime,
    correlation_id: UUID | None = None,
    wake: Callable[[], None] | None = None,
) -> AsyncIterator[UnitOfWork]:
    """One transaction: commits when the block ends, rolls back (nothing written) on error."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    async with db.transaction() as session:
        uow = UnitOfWork(
            session=session,
            store=store,
            now=now.astimezone(UTC),
            correlation_id=correlation_id or uuid.uuid4(),
        )
        yield uow
    if uow.appended and wake is not None:
        wake()


def transaction(deps: Dependencies) -> AbstractAsyncContextManager[UnitOfWork]:
    """The unit of work for a handler's dependencies."""
    return unit_of_work(
        db=deps["db"],
        store=deps["store"],
        now=deps["now"],
        correlation_id=deps.get("correlation_id"),
        wake=deps.get("wake"),
    )
