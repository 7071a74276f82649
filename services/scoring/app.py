"""Composition root of the scoring service."""

from __future__ import annotations

from fastapi import FastAPI

from shared.service import ServiceSpec, create_service_app
from shared.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    return create_service_app(ServiceSpec(name="scoring"), settings)
