"""The portal in-process with the three services faked by httpx's MockTransport, signed in
as a given person (unit tests; tests/browser drives the real services)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import httpx
import pytest
from fastapi.testclient import TestClient

from services.portal.app import BACKENDS, create_app
from services.portal.guard import CSRF_COOKIE, CSRF_FIELD
from services.portal.web import COOKIE
from shared.auth import Principal, Role, TokenIssuer
from shared.settings import DEFAULT_SECRET, Settings

Handler = Callable[[httpx.Request], httpx.Response]
MEMBER = Principal(
    person_id="p-1",
    name="李秀英",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE}),
    unit_id="u-1",
    branch_id="b-1",
)


FORM_TOKEN = "form-token-of-this-test-session"


class FormClient(TestClient):
    """A browser-like client: it holds the session's form-token cookie and sends the token
    with every form it posts, as the portal's rendered forms do (services/portal/guard.py).
    ``form_token=False`` posts without it (the guard's own tests)."""

    def post(self, url: Any, *args: Any, form_token: bool = True, **kwargs: Any) -> Any:
        data = kwargs.get("data")
        if form_token and isinstance(data, dict):
            kwargs["data"] = {**data, CSRF_FIELD: self.cookies.get(CSRF_COOKIE)}
        return super().post(url, *args, **kwargs)


class StartPortal(Protocol):
    def __call__(self, handler: Handler, who: Principal | None = MEMBER) -> TestClient: ...


@pytest.fixture
def portal() -> Iterator[StartPortal]:
    clients: list[TestClient] = []

    def start(handler: Handler, who: Principal | None = MEMBER) -> TestClient:
        app = create_app(Settings(service="portal"))
        client = FormClient(app, follow_redirects=False)
        client.cookies.set(CSRF_COOKIE, FORM_TOKEN)
        client.__enter__()
        clients.append(client)
        app.state.http = {
            name: httpx.AsyncClient(
                base_url=f"http://{name}", transport=httpx.MockTransport(handler)
            )
            for name in BACKENDS
        }
        if who is not None:
            client.cookies.set(COOKIE, TokenIssuer(DEFAULT_SECRET).issue(who))
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)
