"""The shared service runtime: periodic seals, metrics and readiness of a real app."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.pledges.app import create_app
from shared.db import Database
from shared.eventstore.seal import verify_seals
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.service import Periodic, Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

pytestmark = pytest.mark.integration


async def test_a_running_service_seals_its_log_periodically(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path
) -> None:
    settings = Settings(
        service="pledges",
        database_url=database_url,
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
        seal_interval_seconds=0.2,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await asyncio.sleep(0.8)
            ready = await http.get("/health/ready")
            metrics = (await http.get("/metrics")).text
    assert ready.status_code == 200
    assert 'suxing_event_log_position{service="pledges"}' in metrics
    db = Database(database_url)
    try:
        async with db.reading() as session:
            checked, problems = await verify_seals(session, service="pledges")
    finally:
        await db.dispose()
    # An empty log is sealed once; later rounds see nothing new and add no seal.
    assert (checked, problems) == (1, [])


async def test_the_log_is_sealed_at_start_not_an_interval_later(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path
) -> None:
    settings = Settings(
        service="pledges",
        database_url=database_url,  # a new database: the service migrates it at start
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
        seal_interval_seconds=3600,  # the next periodic seal is an hour away
    )
    checked, problems = 0, []
    app = create_app(settings)
    db = Database(database_url)
    try:
        async with app.router.lifespan_context(app):
            for _ in range(100):
                async with db.reading() as session:
                    checked, problems = await verify_seals(session, service="pledges")
                if checked:
                    break
                await asyncio.sleep(0.1)
    finally:
        await db.dispose()
    assert (checked, problems) == (1, [])


async def test_a_periodic_task_outlives_its_failures(
    broker: EmbeddedBroker, unique: str, tmp_path
) -> None:
    rounds: list[str] = []

    async def flaky(runtime: Runtime) -> None:
        rounds.append(runtime.spec.name)
        if len(rounds) == 1:
            raise ConnectionError("database unreachable")

    settings = Settings(
        service="pledges",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
        seal_interval_seconds=0,
    )
    app = create_service_app(
        ServiceSpec(name="pledges", periodic=[Periodic("flaky", 0.05, flaky)]), settings
    )
    async with app.router.lifespan_context(app):
        for _ in range(100):
            if len(rounds) >= 3:
                break
            await asyncio.sleep(0.05)
    assert len(rounds) >= 3
    stopped = len(rounds)
    await asyncio.sleep(0.2)
    assert len(rounds) == stopped  # stopped with the app


async def test_metrics_answer_only_the_scrapers_token(
    broker: EmbeddedBroker, unique: str, tmp_path
) -> None:
    settings = Settings(
        service="pledges",
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
        seal_interval_seconds=0,
        metrics_token="prometheus-scrape-token-0123456789",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            anonymous = await http.get("/metrics")
            wrong = await http.get("/metrics", headers={"Authorization": "Bearer guess"})
            scraper = await http.get(
                "/metrics", headers={"Authorization": "Bearer prometheus-scrape-token-0123456789"}
            )
    assert anonymous.status_code == wrong.status_code == 401
    assert anonymous.json()["error"] == "metrics_refused"
    assert "suxing_" not in anonymous.text
    assert scraper.status_code == 200 and 'suxing_event_log_position{service="pledges"}' in (
        scraper.text
    )
