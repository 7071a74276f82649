"""The unit of work a scoring decision runs in (see ``shared.handlers``). Scoring's read
tables are fed by its consumer, not by its handlers: nothing is projected on append."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from shared import handlers
from shared.contracts import Org
from shared.handlers import CommandResult, Loaded

COMPANY_KEY = "company"
"""Partition key of company-wide streams (the scoring policy of a year)."""


@dataclass(kw_only=True)
class UnitOfWork(handlers.ActingUnitOfWork):
    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session on the read model (its active slot: not this transaction's database)."""
        assert self.read_db is not None, "begin() always sets the read model"
        async with self.read_db.reading() as session:
            yield session

    async def org_of_branch(self, branch_id: str) -> Org:
        async with self.reading() as session:
            unit = await session.scalar(
                select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
            )
        return Org(unit=unit, branch=branch_id)

    def result(self, aggregate_id: str, loaded: Loaded[Any]) -> CommandResult:
        """``loaded`` as read before this decision appended to it."""
        own = [s for s in self.appended if s.envelope.stream == loaded.stream]
        return CommandResult(
            id=aggregate_id,
            version=loaded.version + len(own),
            events=[s.event.type_name for s in own],
        )


unit_of_work = UnitOfWork.begin
"""One transaction: commits when the block ends, rolls back (nothing written) on error."""
