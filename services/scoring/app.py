"""Composition root of the scoring service."""

from __future__ import annotations

from fastapi import FastAPI

from services.scoring.api import routers
from services.scoring.projections import apply
from shared.contracts.topics import service_topic
from shared.service import ServiceSpec, create_service_app
from shared.settings import Settings

CONSUMES = tuple(service_topic(name) for name in ("pledges", "reviews", "scoring"))
"""The scoring topic too: the policy in force is an event there, and a rebuild from offset 0
must see it to give the same cards."""


def create_app(settings: Settings) -> FastAPI:
    spec = ServiceSpec(
        name="scoring",
        routers=routers,
        consumes=CONSUMES,
        projection=apply,
    )
    return create_service_app(spec, settings)
