"""The pledges service's unit of work (see ``shared.handlers``): its query tables are updated
from the appended events in the same transaction, a stream loaded twice in one decision is
read once, and a retried request with the same ``Idempotency-Key`` gets the first answer.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from services.pledges.projections import project
from shared import handlers
from shared.contracts import Event, Org
from shared.contracts.encoding import canonical_json
from shared.contracts.pledges import BranchRegistered
from shared.errors import Conflict
from shared.eventstore import StoredEvent
from shared.handlers import Evolve, Loaded, S

# The organization works on Beijing time (no daylight saving): "today" for due dates,
# signing dates and ledger months is the date there, not in UTC.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


class CommandResult(handlers.CommandResult):
    """What a command answers: the aggregate it changed and the events it recorded."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {"id": "p-2024-0001", "version": 3, "events": ["PledgeApproved"]},
            ]
        },
    )


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


@dataclass(kw_only=True)
class UnitOfWork(handlers.ActingUnitOfWork):
    # Each stream as this decision last saw it, appends included: a handler that loads a
    # stream again (a step reacting to another) decides on what it has just recorded.
    _loaded: dict[str, Loaded[Any]] = field(default_factory=dict)

    @property
    def today(self) -> date:
        return self.now.astimezone(BEIJING).date()

    async def load(self, stream: str, evolve: Evolve[S]) -> Loaded[S]:
        cached = self._loaded.get(stream)
        if cached is not None:
            return cached
        loaded = await super().load(stream, evolve)
        self._loaded[stream] = loaded
        return loaded

    async def on_append(
        self, loaded: Loaded[Any], events: Sequence[Event], stored: Sequence[StoredEvent]
    ) -> None:
        await project(self.session, stored)
        self._loaded[loaded.stream] = loaded.after(events)

    async def org_of_branch(self, branch_id: str) -> Org:
        """The branch with its unit. A branch's unit is set when it is registered and no event
        changes it, so it is kept in memory (per database) once read from a committed row."""
        known = _branch_units(self.session)
        unit_id = known.get(branch_id)
        if unit_id is None:
            unit_id = await self.session.scalar(
                select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
            )
            registered_here = any(
                isinstance(item.event, BranchRegistered) and item.event.branch_id == branch_id
                for item in self.appended
            )
            if unit_id is not None and not registered_here:
                if len(known) >= _MAX_BRANCHES:
                    known.clear()
                known[branch_id] = unit_id
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


_MAX_BRANCHES = 100_000
_BRANCH_UNITS: weakref.WeakKeyDictionary[Engine, dict[str, str]] = weakref.WeakKeyDictionary()


def _branch_units(session: AsyncSession) -> dict[str, str]:
    """Branch -> unit as read by this process from the session's database. Only committed
    rows go in: a branch registered by the decision being made (still uncommitted, maybe
    rolled back) is read but not kept."""
    engine = session.get_bind().engine
    known = _BRANCH_UNITS.get(engine)
    if known is None:
        known = _BRANCH_UNITS[engine] = {}
    return known


unit_of_work = UnitOfWork.begin
"""One transaction: commits when the block ends, rolls back (nothing written) on error."""
