"""Database engines and sessions for one service's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_engine(url: str, *, immediate: bool) -> AsyncEngine:
    # aiosqlite logs every statement with its parameters at DEBUG: ballot lines, comments,
    # names. SQLAlchemy hides parameters (hide_parameters), so this logger must not say them
    # either, whatever SUXING_LOG_LEVEL is.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so we can emit BEGIN ourselves.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY when
        # another writer got there first; IMMEDIATE takes the write lock up front, so
        # read-check-write decisions are serialized instead of failing.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


WRITE_LOCK_WAIT_SECONDS = 30.0
"""How long a SQLite write transaction waits for this process's other writers (SQLite's own
busy timeout is as long)."""


class Database:
    """One service's database: a write engine and, on SQLite, a separate read engine.

    On SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (one writer at a time,
    no upgrade deadlocks); reads use their own engine so they never queue behind writers (WAL).
    On PostgreSQL both are the same engine.
    """

    def __init__(self, url: str, *, echo: bool = False, schema: str | None = None) -> None:
        self.url = url
        self.sqlite = is_sqlite(url)
        self.schema = schema
        if self.sqlite:
            if schema is not None:
                raise ValueError("SQLite has no schemas: give each slot its own file")
            self.engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
        else:
            engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=10, hide_parameters=True
            )
            if schema is not None:
                # Tables without a schema land in ``schema``: one code path for every slot
                # of a read model (shared/readmodel).
                engine = engine.execution_options(schema_translate_map={None: schema})
            self.engine = engine
            self.read_engine = self.engine
        self._write_lock = asyncio.Lock() if self.sqlite else None
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back on any exception.

        On SQLite this process's write transactions queue on a lock before ``BEGIN
        IMMEDIATE``: one writer at a time either way, but handed over in order at once instead
        of by SQLite's busy handler, which polls with sleeps of up to 100 ms (with 16
        concurrent commands: a third of the throughput lost and seconds of tail latency).
        Other processes still meet the busy handler. Not reentrant: a write transaction
        opened inside another one on the same database fails after
        ``WRITE_LOCK_WAIT_SECONDS``, as SQLite's busy timeout made it fail before."""
        if self._write_lock is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        try:
            await asyncio.wait_for(self._write_lock.acquire(), WRITE_LOCK_WAIT_SECONDS)
        except TimeoutError:
            # What SQLite's own busy timeout would have said; a nested write transaction
            # (a bug) fails here instead of waiting forever.
            raise OperationalError(
                "BEGIN IMMEDIATE",
                None,
                Exception(f"database is locked (waited {WRITE_LOCK_WAIT_SECONDS:.0f} s)"),
            ) from None
        try:
            async with self._sessions() as session, session.begin():
                yield session
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    async def create_all(self, metadatas: Sequence[MetaData]) -> None:
        async with self.engine.begin() as conn:
            for metadata in metadatas:
                await conn.run_sync(metadata.create_all)

    async def ping(self) -> None:
        from sqlalchemy import text

        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
