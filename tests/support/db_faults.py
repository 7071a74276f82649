"""A database error injected where a write path stores its rows, as the driver would raise
it (the dialect's own OperationalError, wrapped by SQLAlchemy with the statement and its
parameters), for tests of what the error path reveals."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from shared.db import Database

COMMENT = "夜班巡检认真负责-机密评语-7f3a"
"""Free text no log may ever show."""


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


@contextmanager
def failing_inserts(
    db: Database, message: str = "injected: could not write to disk"
) -> Iterator[list[str]]:
    """Every INSERT on ``db``'s write engine fails while the block runs; yields the
    statements that were refused."""
    refused: list[str] = []
    engine = db.engine.sync_engine
    dbapi = engine.dialect.dbapi
    assert dbapi is not None

    def fail(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            refused.append(statement)
            raise dbapi.OperationalError(message)

    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield refused
    finally:
        event.remove(engine, "before_cursor_execute", fail)
