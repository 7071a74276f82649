"""Cross-site requests, framing and oversized bodies against the portal, tried as an attacker's
page would (services/portal/guard.py): each refused before any service is called."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from services.portal.app import create_app
from services.portal.guard import CSP, CSRF_COOKIE, CSRF_FIELD
from services.portal.web import COOKIE
from shared.auth import TokenIssuer
from shared.settings import DEFAULT_SECRET, Settings
from tests.unit.portal.conftest import FORM_TOKEN, MEMBER, StartPortal


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
    assert COOKIE not in client.cookies


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


# -- per-session form tokens -------------------------------------------------------------

SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"}


@pytest.mark.parametrize("token", [None, "", "a-token-from-another-session"])
def test_a_form_without_this_sessions_token_changes_nothing(
    portal: StartPortal, token: str | None
) -> None:
    """Even from the portal's own origin (a same-site page the guard above lets through, a
    browser that sends no Origin): no token of this session, no change."""
    calls, handler = recorder()
    client = portal(handler)  # type: ignore[arg-type]
    form = {"area": "a-1"} if token is None else {"area": "a-1", CSRF_FIELD: token}
    response = client.post("/me/area", data=form, headers=SAME_ORIGIN, form_token=False)
    assert response.status_code == 403
    assert "页面已过期" in response.text and "没有做任何更改" in response.text
    assert calls == []


def test_every_post_form_carries_the_sessions_token(portal: StartPortal) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[])

    client = portal(handler, who=None)  # type: ignore[arg-type]
    client.cookies.clear()
    page = client.get("/signin")
    assert page.status_code == 200
    issued = page.cookies.get(CSRF_COOKIE)
    assert issued and issued != FORM_TOKEN and len(issued) >= 40
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    hidden = f'<input type="hidden" name="{CSRF_FIELD}" value="{issued}">'
    assert page.text.count("<form") >= 1 and page.text.count(hidden) == page.text.count(
        'method="post"'
    )
    assert int(page.headers["content-length"]) == len(page.content)
    # The next page keeps the same token (no new cookie), and posting it is accepted.
    again = client.get("/signin")
    assert CSRF_COOKIE not in again.cookies and hidden in again.text


def test_signing_in_starts_a_new_token(portal: StartPortal) -> None:
    people = [
        {
            "person_id": "p-1",
            "name": "李秀英",
            "is_party_member": True,
            "committee_position": None,
            "unit_id": "u-1",
            "branch_id": "b-1",
            "departed_on": None,
        }
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=people if request.url.path == "/roster/people" else [])

    client = portal(handler, who=None)  # type: ignore[arg-type]
    refused = client.post("/signin", data={"person_id": "p-1"}, form_token=False)
    assert refused.status_code == 403 and COOKIE not in refused.cookies  # login CSRF
    signed = client.post("/signin", data={"person_id": "p-1"})
    assert signed.status_code == 303 and signed.cookies.get(COOKIE)
    rotated = signed.cookies.get(CSRF_COOKIE)
    assert rotated and rotated != FORM_TOKEN
    # The token known before signing in no longer opens anything.
    client.cookies.set(CSRF_COOKIE, rotated)
    stale = client.post("/me/area", data={"area": "a-1", CSRF_FIELD: FORM_TOKEN}, form_token=False)
    assert stale.status_code == 403


def test_over_https_the_cookie_is_host_only_and_secure(portal: StartPortal) -> None:
    _, handler = recorder()
    client = portal(handler, who=None)  # type: ignore[arg-type]
    client.base_url = httpx.URL("https://testserver")
    page = client.get("/signin")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"__Host-{CSRF_COOKIE}=") and "; Secure" in cookie


# -- production: /signin/token only from the configured sign-in gateway ------------------

GATEWAY_SECRET = "s" * 40


def production_portal(gateways: str | None) -> TestClient:
    settings = Settings(
        profile="production",
        service="portal",
        pledges_url="http://pledges",
        reviews_url="http://reviews",
        scoring_url="http://scoring",
        jwt_secret=GATEWAY_SECRET,
        signin_gateways=gateways,
    )
    return TestClient(
        create_app(settings), follow_redirects=False, base_url="https://portal.example"
    )


@pytest.mark.parametrize(
    ("origin", "configured", "signed_in"),
    [
        ("https://sso.example.com", "https://sso.example.com, https://sso2.example.com", True),
        ("https://SSO2.example.com", "https://sso.example.com,https://sso2.example.com", True),
        ("https://evil.example", "https://sso.example.com", False),
        ("https://sso.example.com.evil.example", "https://sso.example.com", False),
        ("http://sso.example.com", "https://sso.example.com", False),  # not over TLS
        (None, "https://sso.example.com", False),
        ("https://portal.example", "https://sso.example.com", False),  # not even same-origin
        ("https://sso.example.com", None, False),  # no gateway configured: no token post
    ],
)
def test_production_takes_a_token_post_only_from_a_configured_gateway(
    origin: str | None, configured: str | None, signed_in: bool
) -> None:
    token = TokenIssuer(GATEWAY_SECRET).issue(MEMBER)
    headers = {"Sec-Fetch-Site": "cross-site"}
    if origin is not None:
        headers["Origin"] = origin
    with production_portal(configured) as client:
        response = client.post("/signin/token", data={"token": token}, headers=headers)
    if signed_in:
        assert response.status_code == 303 and response.headers["location"] == "/"
        assert response.cookies.get(COOKIE) == token
    else:
        assert response.status_code == 403
        assert "统一身份认证网关" in response.text
        assert COOKIE not in response.cookies


def test_the_gateway_still_cannot_sign_in_with_a_forged_token() -> None:
    forged = TokenIssuer("x" * 40).issue(MEMBER)  # not the provider's key
    with production_portal("https://sso.example.com") as client:
        response = client.post(
            "/signin/token",
            data={"token": forged},
            headers={"Origin": "https://sso.example.com", "Sec-Fetch-Site": "cross-site"},
        )
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")
    assert COOKIE not in response.cookies
