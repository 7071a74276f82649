"""Composition root of the reviews service.

Besides the shared runtime (database, event store, relay, and the checkpointed consumer
that keeps the roster from the pledges topic and the review policy from the scoring topic),
the service runs two small tasks once a minute: it closes (and so tallies) the periods whose
deadline has passed, and destroys the keys of periods closed longer ago than
``SUXING_REVIEW_KEY_RETENTION_DAYS``. Ballots never depend on the first; the domain refuses a
ballot after the deadline whether or not the closing is recorded yet."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.reviews.api import routers
from services.reviews.handlers import close_due_periods, destroy_expired_keys
from services.reviews.projections import apply
from shared import clock as business_clock
from shared.service import Periodic, Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

DEADLINE_SWEEP_SECONDS = 60.0

CONSUMES = ("suxing.pledges", "suxing.scoring")
"""The roster comes from pledges, the review policy from scoring."""


async def sweep_deadlines(runtime: Runtime) -> None:
    await close_due_periods(
        db=runtime.db, store=runtime.store, now=business_clock.now(), wake=runtime.relay.wake
    )


async def sweep_keys(runtime: Runtime) -> None:
    await destroy_expired_keys(
        db=runtime.db,
        now=business_clock.now(),
        retention=timedelta(days=runtime.settings.review_key_retention_days),
    )


def spec() -> ServiceSpec:
    return ServiceSpec(
        name="reviews",
        routers=routers,
        consumes=CONSUMES,
        projection=apply,
        periodic=[
            Periodic("close due periods", DEADLINE_SWEEP_SECONDS, sweep_deadlines),
            Periodic("destroy expired period keys", DEADLINE_SWEEP_SECONDS, sweep_keys),
        ],
    )


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(spec(), settings)
