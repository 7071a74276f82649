"""The unit of work a scoring decision runs in: load streams, decide, append, wake the relay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, NotRequired, TypedDict, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from shared.auth import Principal, Role
from shared.contracts import Actor, Event, Org
from shared.db import Database
from shared.eventstore import EventStore, Metadata, StoredEvent

S = TypeVar("S")
T = TypeVar("T")
COMPANY_KEY = "company"
"""Partition key of company-wide streams (the scoring policy of a year)."""


class Dependencies(TypedDict):
    db: Database
    store: EventStore
    principal: Principal
    now: datetime
    correlation_id: NotRequired[UUID | None]
    wake: NotRequired[Callable[[], None] | None]


class CommandResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="the stream's aggregate id")
    version: int = Field(description="the stream's version after the command")
    events: list[str] = Field(description="types of the events recorded, in order")


@dataclass(frozen=True)
class Loaded(Generic[T]):
    stream: str
    state: T | None
    version: int


async def load_stream(
    session: AsyncSession, store: EventStore, stream: str, evolve: Callable[[Any, Any], S]
) -> Loaded[S]:
    """A stream folded into its aggregate's state, with the version to append after."""
    stored = await store.load(session, stream)
    state: S | None = None
    for item in stored:
        state = evolve(state, item.event)
    return Loaded(stream, state, stored[-1].envelope.sequence if stored else 0)


@dataclass
class UnitOfWork:
    session: AsyncSession
    store: EventStore
    principal: Principal
    now: datetime
    correlation_id: UUID
    appended: list[StoredEvent] = field(default_factory=list)

    async def load(self, stream: str, evolve: Callable[[Any, Any], S]) -> Loaded[S]:
        return await load_stream(self.session, self.store, stream, evolve)

    async def append(
        self,
        loaded: Loaded[Any],
        events: Sequence[Event],
        *,
        role: Role,
        org: Org,
        partition_key: str,
        year: int,
    ) -> list[StoredEvent]:
        meta = Metadata(
            actor=Actor(ref=self.principal.person_id, role=role.value),
            org=org,
            occurred_at=self.now,
            correlation_id=self.correlation_id,
            year=year,
        )
        stored = await self.store.append(
            self.session,
            stream=loaded.stream,
            expected_version=loaded.version,
            events_=events,
            meta=meta,
            partition_key=partition_key,
        )
        self.appended.extend(stored)
        return stored

    async def org_of_branch(self, branch_id: str) -> Org:
        unit = await self.session.scalar(
            select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
        )
        return Org(unit=unit, branch=branch_id)

    def result(self, aggregate_id: str, loaded: Loaded[Any]) -> CommandResult:
        own = [s for s in self.appended if s.envelope.stream == loaded.stream]
        return CommandResult(
            id=aggregate_id,
            version=loaded.version + len(own),
            events=[s.event.type_name for s in own],
        )


@asynccontextmanager
async def unit_of_work(
    *,
    db: Database,
    store: EventStore,
    principal: Principal,
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
            principal=principal,
            now=now.astimezone(UTC),
            correlation_id=correlation_id or uuid.uuid4(),
        )
        yield uow
    if uow.appended and wake is not None:
        wake()
