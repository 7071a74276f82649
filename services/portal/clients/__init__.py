"""Thin httpx clients for the three services. Each call carries the signed-in person's token,
so the services decide who may do what; a refusal comes back as ``ServiceError`` holding the
service's Chinese message and, for bad fields, the reason per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

UNREACHABLE = "服务暂时无法访问，请稍后重试；已填写的内容仍保留在表单中"


@dataclass
class ServiceError(Exception):
    status: int
    message: str
    code: str = "error"
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ServiceError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        fields: dict[str, str] = {}
        for item in body.get("fields") or []:
            name = str(item.get("field", ""))
            fields.setdefault(name, str(item.get("reason", "")))
            # "scores.0.score" is also shown next to the form field "scores.0.score";
            # "body.problem" or "problem" next to "problem".
            fields.setdefault(name.rsplit(".", 1)[-1], str(item.get("reason", "")))
        message = body.get("message") or f"操作未成功（HTTP {response.status_code}）"
        return cls(response.status_code, str(message), str(body.get("error", "error")), fields)


class ServiceClient:
    """One service, as one person: every request carries ``token`` (when there is one)."""

    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self._http = http
        self._token = token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        raw: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Any:
        headers = dict(headers or {})
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(
                method, path, json=json, params=clean, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ServiceError(503, UNREACHABLE, "unavailable") from exc
        if response.status_code >= 400:
            raise ServiceError.from_response(response)
        if raw:
            return response
        return response.json() if response.content else None

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        return await self.call("POST", path, json=body if body is not None else {}, headers=headers)

    async def put(self, path: str, body: Any) -> Any:
        return await self.call("PUT", path, json=body)
