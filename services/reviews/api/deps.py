"""The HTTP edge's dependencies (``shared.http``), under the names the routes and the tests
import them by."""

from shared.http import (
    HandlerDeps,
    Now,
    ReadSession,
    RuntimeDep,
    clock,
    command,
    handler_dependencies,
    read_session,
    runtime,
)

__all__ = [
    "HandlerDeps",
    "Now",
    "ReadSession",
    "RuntimeDep",
    "clock",
    "command",
    "handler_dependencies",
    "read_session",
    "runtime",
]
