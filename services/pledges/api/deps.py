"""The HTTP edge's dependencies: the shared ones (``shared.http``, under the names the routes
and the tests import them by) and the pledges service's ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from pydantic import BaseModel

from services.pledges.handlers import IdempotencyKey
from shared.http import (
    HandlerDeps,
    Now,
    ReadSession,
    RuntimeDep,
    clock,
    command,
    handler_dependencies,
    new_id,
    read_session,
    runtime,
)

__all__ = [
    "HandlerDeps",
    "IdempotencyHeader",
    "Now",
    "ReadSession",
    "RuntimeDep",
    "clock",
    "command",
    "handler_dependencies",
    "idempotency",
    "new_id",
    "read_session",
    "runtime",
]

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a retried request with the same key and body returns the first answer",
    ),
]


def idempotency(key: str | None, request: BaseModel) -> IdempotencyKey | None:
    return None if key is None else IdempotencyKey.of(key, request)
