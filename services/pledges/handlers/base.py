"""The unit of work every handler runs one decision in.

A handler loads the aggregates it needs, asks the domain to decide, and appends the events
with the version it read; the query tables are updated from the appended events in the same
transaction, and the relay is woken once the transaction has committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Generic, NotRequired, TypedDict, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from services.pledges.domain import fold
from services.pledges.projections import project
from shared.auth import Principal, Role
from shared.contracts import Actor, Event, Org
from shared.contracts.encoding import canonical_json
from shared.db import Database
from shared.errors import Conflict
from shared.eventstore import EventStore, Metadata, StoredEvent

S = TypeVar("S")

# The organization works on Beijing time (no daylight saving): "today" for due dates,
# signing dates and ledger months is the date there, not in UTC.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


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
            "examples": [
                {"id": "p-2024-0001", "version": 3, "events": ["PledgeApproved"]},
            ]
        },
    )

    id: str = Field(description="the aggregate's id (pledge, need, person, ...)")
    version: int = Field(description="the aggregate's stream version after the command")
    events: list[str] = Field(description="types of the events recorded, in order; [] if none")


@dataclass(frozen=True)
class Aggregate(Generic[S]):
    """One stream as loaded: its folded state and the version to append after."""

    stream: str
    evolve: Callable[[S | None, Event], S]
    state: S | None
    version: int


@dataclass(frozen=True)
class IdempotencyKey:
    """The client's ``Idempotency-Key`` and a hash of the request it came with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str, request: BaseModel) -> IdempotencyKey:
        # The request's kind is part of it: one key sent to two endpoints is two requests.
        payload = {"kind": type(request).__name__, "body": request.model_dump(mode="json")}
        digest = hashlib.sha256(canonical_json(payload)).hexdigest()
        return cls(key=key, request_hash=digest)


@dataclass
class UnitOfWork:
    session: AsyncSession
    store: EventStore
    principal: Principal
    now: datetime
    correlation_id: UUID
    appended: list[StoredEvent] = field(default_factory=list)
    _loaded: dict[str, Aggregate[Any]] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(BEIJING).date()

    async def load(self, stream: str, evolve: Callable[[S | None, Event], S]) -> Aggregate[S]:
        cached = self._loaded.get(stream)
        if cached is not None:
            return cached
        stored = await self.store.load(self.session, stream)
        state = fold(evolve, (item.event for item in stored))
        version = stored[-1].envelope.sequence if stored else 0
        aggregate = Aggregate(stream=stream, evolve=evolve, state=state, version=version)
        self._loaded[stream] = aggregate
        return aggregate

    async def append(
        self,
        aggregate: Aggregate[S],
        events: Sequence[Event],
        *,
        role: Role,
        org: Org,
        partition_key: str,
        year: int | None = None,
        caused_by: StoredEvent | None = None,
    ) -> list[StoredEvent]:
        """Append after the version read; ``partition_key`` is the stream's home branch
        (the unit id for a unit's stream)."""
        if not events:
            return []
        meta = Metadata(
            actor=Actor(ref=self.principal.person_id, role=role.value),
            org=org,
            occurred_at=self.now,
            correlation_id=self.correlation_id,
            year=year,
            causation_id=caused_by.envelope.event_id if caused_by else None,
        )
        stored = await self.store.append(
            self.session,
            stream=aggregate.stream,
            expected_version=aggregate.version,
            events_=events,
            meta=meta,
            partition_key=partition_key,
        )
        await project(self.session, stored)
        self.appended.extend(stored)
        state = aggregate.state
        for event in events:
            state = aggregate.evolve(state, event)
        self._loaded[aggregate.stream] = Aggregate(
            stream=aggregate.stream,
            evolve=aggregate.evolve,
            state=state,
            version=aggregate.version + len(events),
        )
        return stored

    async def org_of_branch(self, branch_id: str) -> Org:
        unit_id = await self.session.scalar(
            select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
        )
        return Org(unit=unit_id, branch=branch_id)

    def result(self, aggregate_id: str, stream: str) -> CommandResult:
        own = [item.event.type_name for item in self.appended if item.envelope.stream == stream]
        version = self._loaded[stream].version if stream in self._loaded else 0
        return CommandResult(id=aggregate_id, version=version, events=own)

    async def replayed(self, key: IdempotencyKey | None) -> CommandResult | None:
        """The stored answer to a retried request; a reused key with another request is
        refused rather than guessed at."""
        if key is None:
            return None
        row = (
            await self.session.execute(
                select(t.idempotency_keys.c.request_hash, t.idempotency_keys.c.body).where(
                    t.idempotency_keys.c.principal == self.principal.person_id,
                    t.idempotency_keys.c.key == key.key,
                )
            )
        ).first()
        if row is None:
            return None
        if row.request_hash != key.request_hash:
            raise Conflict(
                f"幂等键“{key.key}”已用于另一个不同内容的请求；重试请保持请求内容不变，"
                "新的请求请使用新的幂等键"
            )
        return CommandResult.model_validate_json(row.body)

    async def remember(self, key: IdempotencyKey | None, result: CommandResult) -> None:
        if key is None:
            return
        try:
            await self.session.execute(
                insert(t.idempotency_keys).values(
                    principal=self.principal.person_id,
                    key=key.key,
                    request_hash=key.request_hash,
                    status_code=201,
                    body=result.model_dump_json(),
                    created_at=self.now,
                )
            )
        except IntegrityError:
            raise Conflict(f"使用幂等键“{key.key}”的相同请求正在处理，请稍后重试") from None


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
