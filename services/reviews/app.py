"""Composition root of the reviews service.

Besides the shared runtime (database, event store, relay, and the checkpointed consumer
that keeps the roster from the pledges topic and the review policy from the scoring topic),
the service runs one small task: once a minute it closes the periods whose deadline has
passed. Ballots never depend on it; the domain refuses a ballot after the deadline whether
or not the closing is recorded yet."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI

from services.reviews.api import routers
from services.reviews.handlers import close_due_periods
from services.reviews.projections import apply
from shared.service import Periodic, Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

DEADLINE_SWEEP_SECONDS = 60.0

CONSUMES = ("suxing.pledges", "suxing.scoring")
"""The roster comes from pledges, the review policy from scoring."""


async def sweep_deadlines(runtime: Runtime) -> None:
    await close_due_periods(
        db=runtime.db, store=runtime.store, now=datetime.now(UTC), wake=runtime.relay.wake
    )


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="reviews",
        routers=routers,
        consumes=CONSUMES,
        projection=apply,
        periodic=[Periodic("close due periods", DEADLINE_SWEEP_SECONDS, sweep_deadlines)],
    )


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(spec(), settings)
