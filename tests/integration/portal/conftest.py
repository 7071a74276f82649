"""The portal against the real services: scoring in-process as its own tests run it."""

from tests.integration.scoring.conftest import scoring, year

__all__ = ["scoring", "year"]
