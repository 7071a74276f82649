"""What every portal response and every state-changing request passes through (issue 18).

- **Cross-site requests are refused.** A form on another site that posts to the portal rides
  on the member's cookie (SameSite=Lax does not stop a top-level POST from a same-site
  subdomain, and login CSRF needs no cookie at all). Browsers say where a request comes from:
  ``Sec-Fetch-Site`` (every current browser) and ``Origin`` (on every POST). A POST, PUT,
  PATCH or DELETE whose ``Sec-Fetch-Site`` is not ``same-origin`` (or ``none``: typed by the
  user), or whose ``Origin`` names another host than the request's, gets 403 and reaches no
  route. Requests without either header are not from a browser's page (the API clients and
  tests), and carry no ambient cookie of a member's browser.
- **Security headers** on every response: a Content-Security-Policy that allows only the
  portal's own scripts, styles and forms (inline ``style`` attributes are used for bar widths)
  and forbids framing; ``X-Frame-Options`` for older browsers; ``Referrer-Policy`` so that
  no portal address (with ids in it) leaves in a Referer; ``nosniff``.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from services.portal.web import COOKIE
from shared.settings import origin_of

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>请求被拒绝</title>'
    "<body><h1>请求被拒绝</h1><p>这项操作只能在塑形门户自己的页面上提交，"
    "来自其他网站的提交已被拒绝，没有做任何更改。请回到门户页面后重新操作。</p>"
    '<p><a href="/">返回门户首页</a></p></body></html>'
)


GATEWAY_PATH = "/signin/token"
GATEWAY_ONLY = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>请通过统一身份认证登录</title>'
    "<body><h1>请通过统一身份认证登录</h1><p>这个登录入口只接受企业统一身份认证网关的提交，"
    "本次提交不是来自已配置的网关，已被拒绝，没有登录。请从企业统一身份认证入口进入门户。</p>"
    '<p><a href="/signin">返回登录页</a></p></body></html>'
)


def gateway_reason(
    method: str, headers: dict[bytes, bytes], gateways: frozenset[str]
) -> str | None:
    """In production the token sign-in takes posts only from the configured sign-in
    gateways' origins; with none configured it takes none (the gateway can still forward
    ``Authorization: Bearer`` on every request)."""
    if method not in UNSAFE:
        return None
    origin = headers.get(b"origin")
    if origin is None or origin_of(origin.decode("latin-1")) not in gateways:
        shown = origin.decode("latin-1")[:200] if origin is not None else "none"
        return f"Origin {shown} is not a configured sign-in gateway"
    return None


def cross_site_reason(method: str, headers: dict[bytes, bytes]) -> str | None:
    """Why a request must be refused as cross-site, or None."""
    if method not in UNSAFE:
        return None
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return f"Sec-Fetch-Site: {site.decode('latin-1')}"
    origin = headers.get(b"origin")
    if origin is not None:
        host = headers.get(b"x-forwarded-host") or headers.get(b"host") or b""
        found = urlsplit(origin.decode("latin-1")).netloc
        if origin == b"null" or found.lower() != host.decode("latin-1").lower():
            return f"Origin: {origin.decode('latin-1')[:200]}"
    return None


class BrowserGuard:
    """ASGI middleware: refuses cross-site state changes, adds the security headers.

    ``gateways``: production's sign-in gateway origins (SUXING_SIGNIN_GATEWAYS); their
    posts to ``/signin/token`` are cross-site by nature and are the only ones it takes.
    None (embedded): ``/signin/token`` is same-origin like every other form."""

    def __init__(self, app: Any, gateways: frozenset[str] | None = None) -> None:
        self.app = app
        self.gateways = gateways

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        headers = dict(scope.get("headers") or ())
        if self.gateways is not None and scope["path"] == GATEWAY_PATH:
            refusal = (
                GATEWAY_ONLY if gateway_reason(scope["method"], headers, self.gateways) else None
            )
        else:
            refusal = REFUSED if cross_site_reason(scope["method"], headers) else None
        if refusal is not None:
            await _refuse(with_headers, refusal)
            return
        await self.app(scope, receive, with_headers)


# -- per-session form tokens ---------------------------------------------------------------

CSRF_COOKIE = "suxing_csrf"
CSRF_FIELD = "csrf_token"
SIGNIN_PATH = "/signin"
_POST_FORM = re.compile(rb"(<form\b[^>]*\bmethod=\"post\"[^>]*>)", re.IGNORECASE)
EXPIRED = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面已过期</title>'
    "<body><h1>页面已过期</h1><p>这个表单不是本次登录会话中打开的页面提交的（页面已过期，"
    "或来自其他地方），已被拒绝，没有做任何更改。请刷新页面后重新填写提交。</p>"
    '<p><a href="/">返回门户首页</a></p></body></html>'
)


def _cookies(headers: dict[bytes, bytes]) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            jar.setdefault(name, value)
    return jar


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class FormTokenGuard:
    """ASGI middleware: the synchronizer token of every portal form (issue 18).

    Each browser session holds a random token in an httponly, SameSite=Strict cookie
    (``__Host-`` prefixed over HTTPS, so no other host can plant one); every ``method="post"``
    form the portal renders carries the same token in a hidden field, inserted here so that
    no template can forget it; a POST that carries a portal cookie (signed in, or signing in)
    must send the field, equal to its cookie, or gets 403 and reaches no route. Signing in or
    out starts a new token (a token known before sign-in is worthless after). Requests with
    no portal cookie carry no ambient authority (API clients, the sign-in gateway's one post
    to ``/signin/token``) and pass; the cross-site check (BrowserGuard) still applies.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        name = f"__Host-{CSRF_COOKIE}" if https else CSRF_COOKIE
        headers = dict(scope.get("headers") or ())
        jar = _cookies(headers)
        token = jar.get(name)
        if (
            scope["method"] in UNSAFE
            and scope["path"] != GATEWAY_PATH
            and (token is not None or COOKIE in jar or scope["path"] == SIGNIN_PATH)
        ):
            body = await _read_body(receive)
            sent = _form_field(headers, body, CSRF_FIELD)
            if token is None or sent is None or not hmac.compare_digest(sent, token):
                await _refuse(send, EXPIRED)
                return
            receive = _replay(body, receive)
        fresh = token is None
        token = token or _new_token()

        start: dict[str, Any] | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Any) -> None:
            nonlocal start, token, fresh
            if message["type"] == "http.response.start":
                response_headers = list(message.get("headers", []))
                sets_session = any(
                    k.lower() == b"set-cookie" and v.startswith(f"{COOKIE}=".encode())
                    for k, v in response_headers
                )
                if sets_session:  # signed in or out: a new session, a new token
                    token, fresh = _new_token(), True
                if fresh:
                    attributes = "; Path=/; HttpOnly; SameSite=Strict" + (
                        "; Secure" if https else ""
                    )
                    response_headers.append((b"set-cookie", f"{name}={token}{attributes}".encode()))
                message = {**message, "headers": response_headers}
                content_type = dict((k.lower(), v) for k, v in response_headers).get(
                    b"content-type", b""
                )
                if content_type.startswith(b"text/html"):
                    start = message  # held until the body is complete
                    return
                await send(message)
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            field = f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'.encode()
            page = _POST_FORM.sub(lambda m: m.group(1) + field, b"".join(chunks))
            held = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            held.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": held})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, rewrite)


async def _read_body(receive: Any) -> bytes:
    """The whole request body (BodySizeLimit, outside this middleware, bounds it)."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts)
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _form_field(headers: dict[bytes, bytes], body: bytes, field: str) -> str | None:
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type != b"application/x-www-form-urlencoded":
        return None
    try:
        values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get(field)
    except UnicodeDecodeError:
        return None
    return values[0] if values else None


async def _refuse(send: Any, page: str) -> None:
    body = page.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
