"""A scoring projection database of each kind, and the scenario's year."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.scoring.api.deps import clock
from services.scoring.app import create_app
from services.scoring.persistence import read_metadata
from shared.auth import Principal, Role, TokenIssuer
from shared.contracts import Actor, Org
from shared.contracts.topics import service_topic
from shared.db import Database
from shared.eventstore import EventStore, Metadata, StoredEvent, kernel_metadata
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.settings import DEFAULT_SECRET, Settings
from tests.integration.scoring.scenario import Planned
from tests.support.kafka import publish_outbox

# Every test on the shared topics gets a year of its own: the real topics are shared by the
# whole session, and a policy adopted for a year by one test must not reach another test's
# cards. The services take years up to 2100: 70 years from 2031 (the scenario's people are
# registered in 2024, so earlier years would find them off the roster). A test that writes
# only to its own database (``projection_db``, no service) shares one year with the others
# like it: nothing of theirs can meet.
_YEARS = iter(range(2031, 2101))
PRIVATE_YEAR = 2030


def consecutive_years() -> tuple[int, int]:
    """Two years that follow each other, both this test's own."""
    first, second = next(_YEARS), next(_YEARS)
    while second != first + 1:
        first, second = second, next(_YEARS)
    return first, second


@pytest.fixture
def year(request: pytest.FixtureRequest) -> int:
    if "scoring" not in request.fixturenames and "projection_db" in request.fixturenames:
        return PRIVATE_YEAR
    return next(_YEARS)


@pytest.fixture
async def projection_db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await database.create_all([kernel_metadata, read_metadata])
    yield database
    await database.dispose()


NOW = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)


def token(person_id: str, *roles: Role, branch: str | None = None, unit: str | None = None) -> str:
    principal = Principal(
        person_id=person_id, name=person_id, roles=frozenset(roles), branch_id=branch, unit_id=unit
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


@dataclass
class ScoringService:
    """The scoring service in-process (lifespan, real database, real broker) and a source
    of the input events it consumes."""

    app: FastAPI
    http: httpx.AsyncClient
    broker: EmbeddedBroker
    source: Database
    now: list[datetime]

    def at(self, moment: datetime) -> None:
        self.now[0] = moment

    async def call(
        self, method: str, path: str, who: str | None, json: Any = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {who}"} if who else {}
        return await self.http.request(method, path, json=json, headers=headers)

    async def ok(self, method: str, path: str, who: str | None, json: Any = None) -> Any:
        response = await self.call(method, path, who, json)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    async def publish_inputs(self, planned: list[Planned]) -> None:
        """Append the events as their services would, then relay them to the real topics."""
        store = EventStore()
        for topic in ("pledges", "reviews"):
            for item in (p for p in planned if p.topic == topic):
                async with self.source.transaction() as session:
                    version = await store.version(session, item.stream)
                    await store.append(
                        session,
                        stream=item.stream,
                        expected_version=version,
                        events_=[item.event],
                        meta=Metadata(
                            actor=Actor(ref="seed", role="branch_committee"),
                            org=Org(unit=item.unit, branch=item.branch),
                            occurred_at=NOW,
                            correlation_id=uuid.uuid4(),
                        ),
                        partition_key=item.key,
                    )
            await publish_outbox(self.source, self.broker.bootstrap, service_topic(topic))

    async def event_count(self) -> int:
        runtime = self.app.state.runtime
        async with runtime.db.reading() as session:
            return await runtime.store.count(session)

    async def events(self, stream: str) -> list[StoredEvent]:
        runtime = self.app.state.runtime
        async with runtime.db.reading() as session:
            found: list[StoredEvent] = await runtime.store.load(session, stream)
            return found


@pytest.fixture
async def scoring(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> AsyncIterator[ScoringService]:
    settings = Settings(
        service="scoring",
        database_url=database_url,
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
    )
    source = Database(f"sqlite+aiosqlite:///{tmp_path / 'source.db'}")
    await source.create_all([kernel_metadata])
    now = [NOW]
    app = create_app(settings)
    app.dependency_overrides[clock] = lambda: now[0]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://scoring"
        ) as http,
    ):
        yield ScoringService(app=app, http=http, broker=broker, source=source, now=now)
    await source.dispose()
