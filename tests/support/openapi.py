"""Checks over a service's own OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping

import httpx


async def reads_without_token(
    http: httpx.AsyncClient, *, public: set[str], values: Mapping[str, str]
) -> dict[str, int]:
    """GET every read the service documents, without a token; path parameters filled from
    ``values``. Asserts the document marks exactly ``public`` as needing no token, and
    answers each path's status."""
    spec = (await http.get("/openapi.json")).json()
    reads = [path for path, methods in spec["paths"].items() if "get" in methods]
    unsecured = {path for path in reads if not spec["paths"][path]["get"].get("security")}
    assert unsecured == public, unsecured ^ public
    found: dict[str, int] = {}
    for path in reads:
        url = path
        for name, value in values.items():
            url = url.replace(name, value)
        assert "{" not in url, f"no value for a parameter of {path}"
        response = await http.get(url, params={"year": "2024", "period": "p", "branch": "b"})
        found[path] = response.status_code
        if path not in public:
            assert response.json()["message"] == "请先登录", (path, response.text)
    return found
