"""The unit of work every command handler runs one decision in.

A handler loads the streams it needs, asks the domain to decide, and appends the events with
the version it read, so a stream that moved on meanwhile refuses the append. A service whose
read tables must change with its events writes them in the same transaction (``on_append``);
the relay is woken once the transaction has committed.

Services subclass :class:`UnitOfWork` for their extras. :class:`ActingUnitOfWork` is for the
services whose events are all caused by the authenticated person; a service with other
actors (pseudonyms, a scheduler) names the actor on each :meth:`UnitOfWork.record`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, NotRequired, Self, TypedDict, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, Role
from shared.contracts import Actor, Event, Org
from shared.db import Database
from shared.eventstore import EventStore, Metadata, StoredEvent

S = TypeVar("S")
W = TypeVar("W", bound="UnitOfWork")

# The event is typed Any: an aggregate's evolve takes only its own events (a union), and a
# callable taking less than every Event would not be accepted here otherwise.
Evolve = Callable[[S | None, Any], S]


class Dependencies(TypedDict):
    """What every handler is given, by keyword."""

    db: Database
    store: EventStore
    principal: Principal
    read_db: NotRequired[Database]
    """Where the service's read model is (its active slot); the service's database if absent."""
    now: datetime
    correlation_id: NotRequired[UUID | None]
    wake: NotRequired[Callable[[], None] | None]


class CommandResult(BaseModel):
    """What a command answers: the aggregate it changed and the events it recorded."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="the aggregate's id")
    version: int = Field(description="the aggregate's stream version after the command")
    events: list[str] = Field(description="types of the events recorded, in order; [] if none")


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """One stream as loaded: its folded state and the version to append after."""

    stream: str
    state: S | None
    version: int
    evolve: Evolve[S]

    def after(self, events: Sequence[Event]) -> Loaded[S]:
        """The stream as it stands once ``events`` are appended to it."""
        state = self.state
        for event in events:
            state = self.evolve(state, event)
        return Loaded(self.stream, state, self.version + len(events), self.evolve)


async def load_stream(
    session: AsyncSession, store: EventStore, stream: str, evolve: Evolve[S]
) -> Loaded[S]:
    """A stream folded into its aggregate's state (``None`` when it is empty), with the
    version to append after."""
    stored = await store.load(session, stream)
    state: S | None = None
    for item in stored:
        state = evolve(state, item.event)
    return Loaded(stream, state, stored[-1].envelope.sequence if stored else 0, evolve)


@dataclass(kw_only=True)
class UnitOfWork:
    """One decision's transaction; ``appended`` is every event it recorded, in order."""

    session: AsyncSession
    store: EventStore
    now: datetime
    correlation_id: UUID
    appended: list[StoredEvent] = field(default_factory=list)

    async def load(self, stream: str, evolve: Evolve[S]) -> Loaded[S]:
        return await load_stream(self.session, self.store, stream, evolve)

    async def record(
        self,
        loaded: Loaded[Any],
        events: Sequence[Event],
        *,
        actor: Actor,
        org: Org,
        partition_key: str,
        year: int | None = None,
        caused_by: StoredEvent | None = None,
    ) -> list[StoredEvent]:
        """Append as ``actor`` after the version read; ``partition_key`` is the stream's home
        branch (the unit id for a unit's stream), ``caused_by`` the event this decision reacts
        to, if any."""
        if not events:
            return []
        stored = await self.store.append(
            self.session,
            stream=loaded.stream,
            expected_version=loaded.version,
            events_=events,
            meta=Metadata(
                actor=actor,
                org=org,
                occurred_at=self.now,
                correlation_id=self.correlation_id,
                year=year,
                causation_id=caused_by.envelope.event_id if caused_by else None,
            ),
            partition_key=partition_key,
        )
        await self.on_append(loaded, events, stored)
        self.appended.extend(stored)
        return stored

    async def on_append(
        self, loaded: Loaded[Any], events: Sequence[Event], stored: Sequence[StoredEvent]
    ) -> None:
        """Runs right after each append, in the transaction: a service updates its own read
        tables here, so they commit with the events or not at all. By default there are none
        (a service that reads its events back through the broker, for one)."""


@dataclass(kw_only=True)
class ActingUnitOfWork(UnitOfWork):
    """A unit of work on behalf of the authenticated person, the actor of all its events."""

    principal: Principal
    read_db: Database | None = None
    """The service's read model (its active slot), for decisions that consult it."""

    async def append(
        self,
        loaded: Loaded[Any],
        events: Sequence[Event],
        *,
        role: Role,
        org: Org,
        partition_key: str,
        year: int | None = None,
        caused_by: StoredEvent | None = None,
    ) -> list[StoredEvent]:
        """Append as the principal acting in ``role`` (see :meth:`UnitOfWork.record`)."""
        return await self.record(
            loaded,
            events,
            actor=Actor(ref=self.principal.person_id, role=role.value),
            org=org,
            partition_key=partition_key,
            year=year,
            caused_by=caused_by,
        )

    @classmethod
    def begin(
        cls,
        *,
        db: Database,
        store: EventStore,
        principal: Principal,
        now: datetime,
        correlation_id: UUID | None = None,
        wake: Callable[[], None] | None = None,
        read_db: Database | None = None,
    ) -> AbstractAsyncContextManager[Self]:
        """The unit of work for a handler's :class:`Dependencies` (see :func:`unit_of_work`)."""
        return unit_of_work(
            lambda session, at, correlation: cls(
                session=session,
                store=store,
                principal=principal,
                now=at,
                correlation_id=correlation,
                read_db=read_db or db,
            ),
            db=db,
            now=now,
            correlation_id=correlation_id,
            wake=wake,
        )


@asynccontextmanager
async def unit_of_work(
    start: Callable[[AsyncSession, datetime, UUID], W],
    *,
    db: Database,
    now: datetime,
    correlation_id: UUID | None = None,
    wake: Callable[[], None] | None = None,
) -> AsyncIterator[W]:
    """One transaction: commits when the block ends, rolls back (nothing written) on error.

    ``start`` makes the unit of work from the session, ``now`` in UTC and the correlation id
    (a new one unless the request brought one). ``wake`` (the relay's) runs once the
    transaction has committed, and only if it recorded an event to publish: before the commit
    the relay could not see the new outbox rows, and a private event (a ballot) has none, so
    waking the relay for it would only cost a pass (a lease renewal, an empty read) per command.
    """
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    async with db.transaction() as session:
        uow = start(session, now.astimezone(UTC), correlation_id or uuid.uuid4())
        yield uow
    if wake is not None and any(not item.event.private for item in uow.appended):
        wake()
