"""Composition root of the web portal. It has no database and no event store: every page
reads from and writes to the three services over HTTP, as the signed-in person."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.portal.clients import ServiceError
from services.portal.guard import BrowserGuard, FormTokenGuard
from services.portal.routes import (
    board,
    committee,
    member,
    org,
    org_reviews,
    pledge,
    signin,
    staff,
)
from services.portal.web import COOKIE, NotPermitted, PageError, SignInRequired, context
from services.portal.years import FIRST_YEAR, LAST_YEAR
from shared import clock as business_clock
from shared.auth import Principal, Role, TokenIssuer
from shared.service import BodySizeLimit, token_verifier
from shared.settings import Settings

BACKENDS = ("pledges", "reviews", "scoring")
PARAMETER_LABELS = {
    "year": f"年度（{FIRST_YEAR}至{LAST_YEAR}年之间的年份）",
    "month": "月份（如 2026-05）",
}
READER = Principal(person_id="portal", name="门户", roles=frozenset({Role.OPERATOR}))
"""Embedded profile only: the portal lists the roster for its sign-in picker as this."""


def create_app(settings: Settings) -> FastAPI:
    business_clock.configure(settings.clock_file)
    urls = {name: settings.service_url(name) for name in BACKENDS}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = {
            name: httpx.AsyncClient(base_url=url, timeout=30) for name, url in urls.items()
        }
        try:
            yield
        finally:
            for client in app.state.http.values():
                await client.aclose()

    app = FastAPI(title="塑形 Suxing 门户", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.verifier = token_verifier(settings)
    app.state.issuer = None
    app.state.reader_token = None
    if settings.embedded:
        issuer = TokenIssuer(
            settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        app.state.issuer = issuer
        app.state.reader_token = issuer.issue(READER)
    static = Path(__file__).resolve().parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    for module in (signin, board, staff, member, pledge, committee, org_reviews, org):
        app.include_router(module.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/signin?next={quote(target)}", status_code=303)

    @app.exception_handler(NotPermitted)
    async def _not_permitted(request: Request, exc: Exception) -> Response:
        ctx = await context(request)
        return ctx.render("error.html", status_code=403, error=exc)

    @app.exception_handler(RequestValidationError)
    async def _bad_address(request: Request, exc: Exception) -> Response:
        """A page's address with a parameter out of range (``?year=abc``): a page in Chinese
        naming the parameter, not the framework's JSON."""
        assert isinstance(exc, RequestValidationError)
        names = dict.fromkeys(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
        labels = [PARAMETER_LABELS.get(name, name) for name in names]
        message = f"地址中的参数有误：{'、'.join(labels) or '未知参数'}。请检查后重试。"
        ctx = await context(request)
        return ctx.render("error.html", status_code=422, error=PageError(message))

    @app.exception_handler(ServiceError)
    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        if exc.status == 401:
            response = RedirectResponse("/signin", status_code=303)
            response.delete_cookie(COOKIE)
            return response
        ctx = await context(request)
        return ctx.render("error.html", status_code=exc.status, error=exc)

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok", "service": "portal"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        checks = {}
        for name, client in request.app.state.http.items():
            try:
                ok = (await client.get("/health/live", timeout=3)).status_code == 200
            except httpx.HTTPError:
                ok = False
            checks[name] = "ok" if ok else "unreachable"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status_code=200 if healthy else 503,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> HTMLResponse:
        return HTMLResponse("", status_code=204)

    # Innermost first: form tokens checked on a body already bounded by the size limit.
    app.add_middleware(FormTokenGuard)
    app.add_middleware(BodySizeLimit, limit=settings.max_body_bytes)
    # Outermost: cross-site posts stop here, and every response (a 413 too) gets the headers.
    app.add_middleware(BrowserGuard, gateways=settings.gateway_origins())
    return app
