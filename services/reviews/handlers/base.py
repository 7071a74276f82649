"""The unit of work every reviews handler runs one decision in (see ``shared.handlers``): the
service's read tables are updated from the appended events in the same transaction.

Unlike other services, the actor is given per append (``record``): ballot events must carry
the reviewer's pseudonym as the actor, never the authenticated person's id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.reviews.projections import project
from shared import handlers
from shared.contracts import Event
from shared.db import Database
from shared.eventstore import EventStore, StoredEvent
from shared.handlers import Dependencies, Loaded


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


@dataclass(kw_only=True)
class UnitOfWork(handlers.UnitOfWork):
    async def on_append(
        self, loaded: Loaded[Any], events: Sequence[Event], stored: Sequence[StoredEvent]
    ) -> None:
        await project(self.session, stored)


def unit_of_work(
    *,
    db: Database,
    store: EventStore,
    now: datetime,
    correlation_id: UUID | None = None,
    wake: Callable[[], None] | None = None,
) -> AbstractAsyncContextManager[UnitOfWork]:
    """One transaction: commits when the block ends, rolls back (nothing written) on error.
    No principal: closing by deadline is nobody's act."""
    return handlers.unit_of_work(
        lambda session, at, correlation: UnitOfWork(
            session=session, store=store, now=at, correlation_id=correlation
        ),
        db=db,
        now=now,
        correlation_id=correlation_id,
        wake=wake,
    )


def transaction(
    deps: Dependencies, *, fresh_correlation: bool = False
) -> AbstractAsyncContextManager[UnitOfWork]:
    """The unit of work for a handler's dependencies; ``fresh_correlation`` ignores the
    request's correlation id (ballots: a client must not be able to tag its own)."""
    return unit_of_work(
        db=deps["db"],
        store=deps["store"],
        now=deps["now"],
        correlation_id=None if fresh_correlation else deps.get("correlation_id"),
        wake=deps.get("wake"),
    )
