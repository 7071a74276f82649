"""Composition root of the reviews service.

Besides the shared runtime (database, event store, relay, and the checkpointed consumer
that keeps the roster from the pledges topic and the review policy from the scoring topic),
the service runs one small task: once a minute it closes the periods whose deadline has
passed. Ballots never depend on it; the domain refuses a ballot after the deadline whether
or not the closing is recorded yet."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from services.reviews.api import routers
from services.reviews.handlers import close_due_periods
from services.reviews.projections import apply
from shared.service import Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

log = logging.getLogger(__name__)

DEADLINE_SWEEP_SECONDS = 60.0


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="reviews",
        routers=routers,
        consumes=["suxing.pledges", "suxing.scoring"],
        projection=apply,
    )


async def sweep_deadlines(runtime: Runtime, *, every: float = DEADLINE_SWEEP_SECONDS) -> None:
    while True:
        try:
            await close_due_periods(
                db=runtime.db,
                store=runtime.store,
                now=datetime.now(UTC),
                wake=runtime.relay.wake,
            )
        except Exception:
            # The next sweep tries again; a database outage must not end the task.
            log.exception("closing periods past their deadline failed")
        await asyncio.sleep(every)


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(spec(), settings)
    runtime_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime_lifespan(app):
            task = asyncio.create_task(sweep_deadlines(app.state.runtime), name="reviews-deadlines")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app
