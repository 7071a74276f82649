"""The portal in-process with the three services faked by httpx's MockTransport, signed in
as a given person (unit tests; tests/browser drives the real services)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

import httpx
import pytest
from fastapi.testclient import TestClient

from services.portal.app import BACKENDS, create_app
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


class StartPortal(Protocol):
    def __call__(self, handler: Handler, who: Principal | None = MEMBER) -> TestClient: ...


@pytest.fixture
def portal() -> Iterator[StartPortal]:
    clients: list[TestClient] = []

    def start(handler: Handler, who: Principal | None = MEMBER) -> TestClient:
        app = create_app(Settings(service="portal"))
        client = TestClient(app, follow_redirects=False)
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
