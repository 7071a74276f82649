"""Shared fixtures: databases (SQLite and PostgreSQL) and the embedded broker.

Database-facing tests take the ``database_url`` fixture, which is parametrized over SQLite and
PostgreSQL. PostgreSQL comes from ``SUXING_TEST_POSTGRES_URL`` or, failing that, the local
server on 127.0.0.1:5432; in CI (``CI=true``) a missing PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from tests.support.availability import POSTGRES, unavailable

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def pytest_configure(config: pytest.Config) -> None:
    """One directory of event signing keys for the whole session (shared/signing.py): the
    services and rebuilds of every test publish on the session's one broker, so they must
    trust each other's keys, as the services of one deployment do. Processes the tests start
    inherit it."""
    if not os.environ.get("SUXING_KEYS_DIR"):
        os.environ["SUXING_KEYS_DIR"] = tempfile.mkdtemp(prefix="suxing-test-keys-")


def _pg_admin_dsn(url: str) -> str:
    u = make_url(url).set(drivername="postgresql")
    return u.render_as_string(hide_password=False)


async def _pg_reachable(url: str) -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(_pg_admin_dsn(url)), 5)
    except Exception:
        return False
    await conn.close()
    return True


@pytest.fixture(scope="session")
def postgres_server() -> str | None:
    url = os.environ.get("SUXING_TEST_POSTGRES_URL", DEFAULT_PG)
    if asyncio.run(_pg_reachable(url)):
        return url
    if os.environ.get("CI") or os.environ.get("SUXING_TEST_POSTGRES_URL"):
        pytest.fail(f"PostgreSQL is required but not reachable at {url}")
    return None


class PgDatabases:
    """Creates throwaway databases on the test server and drops them at the end."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.created: list[str] = []

    async def create(self) -> str:
        name = f"suxing_t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(_pg_admin_dsn(self.server_url))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return make_url(self.server_url).set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        conn = await asyncpg.connect(_pg_admin_dsn(self.server_url))
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(scope="session")
def pg_databases(postgres_server: str | None) -> Iterator[PgDatabases | None]:
    if postgres_server is None:
        yield None
        return
    dbs = PgDatabases(postgres_server)
    yield dbs
    asyncio.run(dbs.drop_all())


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases | None
) -> AsyncIterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if pg_databases is None:
        unavailable(POSTGRES)
    yield await pg_databases.create()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """One embedded Tansu broker for the whole test session."""
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    embedded = EmbeddedBroker(
        find_broker_binary(os.environ.get("SUXING_BROKER_BIN")), log_path=log_path
    )
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for topic and group names, so tests never share broker state."""
    return uuid.uuid4().hex[:10]
