"""`python -m services.portal`: run the web portal (settings from SUXING_* variables)."""

import logging

import uvicorn

from services.portal.app import create_app
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings(service="portal")
    refusal = settings.listening_refusal()
    if refusal is not None:
        raise SystemExit(refusal)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.resolved_port(),
        log_level="warning",
    )
