"""Alembic migrations of each service's database (its own script folder and version table).

    suxing migrate                      # every service, embedded databases
    suxing migrate pledges --database-url postgresql+asyncpg://...

Each service keeps its scripts in ``services/<name>/migrations/versions``; ``env.py`` there only
calls :func:`run_env`. Migrations run in a worker thread with their own event loop, so a
service can migrate from inside its async start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import tempfile
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.eventstore.tables import kernel_metadata

ROOT = Path(__file__).resolve().parents[1]


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


def target_metadata(service: str) -> list[MetaData]:
    """The kernel's tables and the service's own (``services/<name>/persistence.metadata``)."""
    persistence = importlib.import_module(f"services.{service}.persistence")
    return [kernel_metadata, persistence.metadata]


def alembic_config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["service"] = service
    config.attributes["url"] = url
    return config


def upgrade(service: str, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, url), revision)


def downgrade(service: str, url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(service, url), revision)


def revision(service: str, message: str) -> None:
    """Autogenerate the next migration script: the models compared with a scratch database
    at the current head (``make migration SERVICE=pledges MSG="..."``)."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/head.db"
        upgrade(service, url)
        command.revision(alembic_config(service, url), message=message, autogenerate=True)


def pending_changes(service: str, url: str) -> list[Any]:
    """What autogenerate would write: empty when the migrations match the models."""

    def compare(connection: Connection) -> list[Any]:
        migration = MigrationContext.configure(
            connection, opts={"version_table": version_table(service)}
        )
        return list(compare_metadata(migration, _merged(target_metadata(service))))

    async def run() -> list[Any]:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _merged(metadatas: list[MetaData]) -> MetaData:
    merged = MetaData()
    for metadata in metadatas:
        for table in metadata.tables.values():
            table.to_metadata(merged)
    return merged


def run_env() -> None:
    """Body of every service's ``env.py`` (online mode only: we always have a database)."""
    config = context.config
    service: str = config.attributes["service"]
    url: str = config.attributes["url"]
    metadata = target_metadata(service)

    def migrate(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Several replicas may start at once: one migrates, the others wait for it.
            key = int.from_bytes(hashlib.sha256(service.encode()).digest()[:8], "big", signed=True)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table(service),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                await connection.run_sync(migrate)
                await connection.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
