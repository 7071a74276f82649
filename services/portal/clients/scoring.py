"""The scoring service: cards, results and their publication, statistics, policy."""

from __future__ import annotations

from typing import Any

import httpx

from services.portal.clients import ServiceClient


class ScoringClient(ServiceClient):
    async def board(self, branch_id: str, year: int, month: str | None) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(
            f"/public/branches/{branch_id}/board/{year}", month=month
        )
        return result

    async def card(self, member_id: str, year: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/members/{member_id}/cards/{year}")
        return result

    async def results(self, branch_id: str, year: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/branches/{branch_id}/results/{year}")
        return result

    async def results_step(
        self, branch_id: str, year: int, step: str, body: dict[str, Any] | None = None
    ) -> Any:
        """publish, objections, objections/{id}/decision, finalize."""
        return await self.post(f"/branches/{branch_id}/results/{year}/{step}", body)

    async def statistics(self, year: int, scope: str, scope_id: str | None) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/statistics/{year}", scope=scope, id=scope_id)
        return result

    async def export(
        self, year: int, scope: str = "company", scope_id: str | None = None
    ) -> httpx.Response:
        """The scope's statistics as Excel, with a row per unit and branch under it."""
        params = {"scope": scope, **({"id": scope_id} if scope_id else {})}
        response: httpx.Response = await self.call(
            "GET", f"/statistics/{year}/export.xlsx", raw=True, params=params
        )
        return response

    async def member_history(self, member_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/members/{member_id}/cards")
        return result

    async def statistics_history(
        self, scope: str, scope_id: str | None, first: int, last: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(
            "/statistics/history", scope=scope, id=scope_id, **{"from": first, "to": last}
        )
        return result

    async def statistics_history_export(
        self, scope: str, scope_id: str | None, first: int, last: int
    ) -> httpx.Response:
        params = {"scope": scope, "id": scope_id, "from": first, "to": last}
        response: httpx.Response = await self.call(
            "GET", "/statistics/history/export.xlsx", params=params, raw=True
        )
        return response

    async def review_year(self, branch_id: str | None) -> dict[str, Any]:
        """The year review and result pages show by default (see services/portal/years.py)."""
        result: dict[str, Any] = await self.get("/review-year", branch_id=branch_id)
        return result

    async def policy(self, year: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/policies/{year}")
        return result

    async def adopt_policy(self, body: dict[str, Any]) -> Any:
        return await self.post("/policies", body)
