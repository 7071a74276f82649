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

from typing import Any
from urllib.parse import urlsplit

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
    """ASGI middleware: refuses cross-site state changes, adds the security headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

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
        if cross_site_reason(scope["method"], headers) is not None:
            body = REFUSED.encode()
            await with_headers(
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
            return
        await self.app(scope, receive, with_headers)
