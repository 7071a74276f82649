"""Each service's Alembic migrations, on SQLite and PostgreSQL: upgrade from empty, match
the models exactly (autogenerate finds nothing), and downgrade to empty."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from shared.contracts.topics import SERVICES
from shared.migrations import downgrade, pending_changes, upgrade, version_table

pytestmark = pytest.mark.integration


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", SERVICES)
async def test_migrations_upgrade_match_the_models_and_downgrade(database_url: str, service: str):
    await asyncio.to_thread(upgrade, service, database_url)
    tables = await table_names(database_url)
    assert {"es_events", "es_streams", "es_outbox", "cp_offsets", version_table(service)} <= tables
    assert await asyncio.to_thread(pending_changes, service, database_url) == [], (
        f"the {service} models changed without a migration: run "
        f"`make migration SERVICE={service} MSG=...`"
    )
    await asyncio.to_thread(downgrade, service, database_url)
    assert await table_names(database_url) == {version_table(service)}
    await asyncio.to_thread(upgrade, service, database_url)  # and up again from empty
    assert "es_events" in await table_names(database_url)
