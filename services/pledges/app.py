"""Composition root of the pledges service."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.pledges.api import routers
from services.pledges.handlers.roster_import import RosterRejected
from shared.service import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    app = create_service_app(ServiceSpec(name="pledges", routers=routers), settings)

    @app.exception_handler(RosterRejected)
    async def _roster_rejected(_: Request, exc: RosterRejected) -> JSONResponse:
        return JSONResponse(
            {
                "error": exc.code,
                "message": exc.message,
                "lines": [error.model_dump() for error in exc.errors],
            },
            status_code=exc.status_code,
        )

    return app
