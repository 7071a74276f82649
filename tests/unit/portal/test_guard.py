"""Cross-site requests, framing and oversized bodies against the portal, tried as an attacker's
page would (services/portal/guard.py): each refused before any service is called."""

from __future__ import annotations

import httpx
import pytest

from services.portal.guard import CSP
from shared.auth import TokenIssuer
from shared.settings import DEFAULT_SECRET
from tests.unit.portal.conftest import MEMBER, StartPortal


def recorder() -> tuple[list[httpx.Request], object]:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(200, json=[] if request.method == "GET" else {})

    return calls, handler


CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "https://intranet.testserver"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_cross_site_form_post_changes_nothing(
    portal: StartPortal, headers: dict[str, str]
) -> None:
    calls, handler = recorder()
    client = portal(handler)  # type: ignore[arg-type]
    response = client.post("/me/area", data={"area": "a-1"}, headers=headers)
    assert response.status_code == 403
    assert "来自其他网站的提交已被拒绝" in response.text
    assert calls == []


def test_login_csrf_a_foreign_page_cannot_sign_the_browser_in(portal: StartPortal) -> None:
    _, handler = recorder()
    client = portal(handler, who=None)  # type: ignore[arg-type]
    attacker = TokenIssuer(DEFAULT_SECRET).issue(MEMBER)  # the attacker's own valid token
    response = client.post(
        "/signin/token",
        data={"token": attacker},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert not client.cookies


def test_the_portals_own_pages_still_post(portal: StartPortal) -> None:
    calls, handler = recorder()
    client = portal(handler)  # type: ignore[arg-type]
    same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}
    response = client.post("/me/area", data={"area": "a-1"}, headers=same)
    assert response.status_code == 303
    assert [c.method for c in calls] == ["PUT"] and "/areas/" in calls[0].url.path
    # A proxy that forwards the public host: the browser's Origin names that host.
    forwarded = {"Origin": "https://portal.example", "X-Forwarded-Host": "portal.example"}
    assert client.post("/me/area", data={"area": "a-1"}, headers=forwarded).status_code == 303


def test_every_page_forbids_framing_and_foreign_scripts(portal: StartPortal) -> None:
    _, handler = recorder()
    client = portal(handler, who=None)  # type: ignore[arg-type]
    for path in ("/signin", "/static/portal.css", "/no-such-page"):
        response = client.get(path)
        assert response.headers["content-security-policy"] == CSP, path
        assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_an_oversized_body_is_refused_before_any_route(portal: StartPortal) -> None:
    calls, handler = recorder()
    client = portal(handler)  # type: ignore[arg-type]
    response = client.post("/me/area", content=b"area=" + b"x" * (5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"
    assert calls == []
