"""The HTTP edge's dependencies every service shares: the clock, the runtime, the handlers'
dependencies, a read session, and turning path and body into a command.

Routes depend on these very functions, so a test's ``app.dependency_overrides[clock]``
replaces the clock of every route (services re-export them from their ``api/deps.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import Depends, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock as business_clock
from shared.auth import CurrentPrincipal
from shared.handlers import Dependencies
from shared.service import Runtime

C = TypeVar("C", bound=BaseModel)


def clock() -> datetime:
    """The time of the request (the business clock, ``shared.clock``); tests override this
    dependency to fix it or move it on."""
    return business_clock.now()


Now = Annotated[datetime, Depends(clock)]


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


RuntimeDep = Annotated[Runtime, Depends(runtime)]


async def handler_dependencies(
    rt: RuntimeDep,
    principal: CurrentPrincipal,
    now: Now,
    correlation_id: Annotated[
        UUID | None,
        Header(alias="X-Correlation-ID", description="ties the events to a request; a UUID"),
    ] = None,
) -> Dependencies:
    return Dependencies(
        db=rt.db,
        read_db=rt.read_db(),
        store=rt.store,
        principal=principal,
        now=now,
        correlation_id=correlation_id or uuid.uuid4(),
        wake=rt.relay.wake,
    )


HandlerDeps = Annotated[Dependencies, Depends(handler_dependencies)]


async def read_session(rt: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with rt.read_db().reading() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session)]


def command(model: type[C], **values: Any) -> C:
    """Build a command from path and body values; a refusal reads like any validation error."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"
