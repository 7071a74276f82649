"""Composition root of the scoring service."""

from __future__ import annotations

from fastapi import FastAPI

from services.scoring.api import routers
from services.scoring.handlers import finalize_due
from services.scoring.persistence import PROJECTION_VERSION, read_metadata
from services.scoring.projections import apply, apply_deferred, settle
from services.scoring.projections.fold import ScoringFold
from shared import clock as business_clock
from shared.auth import Principal, Role
from shared.contracts.topics import service_topic
from shared.readmodel.slots import ReadModelSpec
from shared.service import Periodic, Runtime, ServiceSpec, create_service_app
from shared.settings import Settings

CONSUMES = tuple(service_topic(name) for name in ("pledges", "reviews", "scoring"))
"""The scoring topic too: the policy in force is an event there, and a rebuild from offset 0
must see it to give the same cards."""

READ_MODEL = ReadModelSpec(
    name="scoring",
    metadata=read_metadata,
    version=PROJECTION_VERSION,
    catch_up=apply_deferred,
    settle=settle,
    fold=ScoringFold,
)
"""Cards, statistics and board tables, in blue/green slots (``suxing rebuild scoring``)."""


FINALIZE_CHECK_SECONDS = 300.0
SYSTEM = Principal(person_id="system", name="系统", roles=frozenset({Role.OPERATOR}))
"""Who finalizes results whose notice window closed: the service itself, as operator."""


async def finalize_closed_windows(runtime: Runtime) -> None:
    await finalize_due(
        db=runtime.db,
        read_db=runtime.read_db(),
        store=runtime.store,
        principal=SYSTEM,
        now=business_clock.now(),
        wake=runtime.relay.wake,
    )


def create_app(settings: Settings) -> FastAPI:
    spec = ServiceSpec(
        name="scoring",
        routers=routers,
        consumes=CONSUMES,
        projection=apply,
        read_model=READ_MODEL,
        periodic=[
            Periodic("finalize due results", FINALIZE_CHECK_SECONDS, finalize_closed_windows)
        ],
    )
    return create_service_app(spec, settings)
