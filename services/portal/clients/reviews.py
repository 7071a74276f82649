"""The reviews service: review periods, ballots, turnout and results."""

from __future__ import annotations

from typing import Any

from services.portal.clients import ServiceClient, ServiceError


class ReviewsClient(ServiceClient):
    async def periods(self, year: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get("/periods", year=year)
        return result

    async def period(self, period_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/periods/{period_id}")
        return result

    async def open_period(self, body: dict[str, Any], idempotency_key: str | None = None) -> Any:
        """``idempotency_key``: the form's, so a form submitted twice opens one period."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self.post("/periods", body, headers=headers)

    async def adjust_window(self, period_id: str, body: dict[str, Any]) -> Any:
        return await self.post(f"/periods/{period_id}/window", body)

    async def close_period(self, period_id: str) -> Any:
        return await self.post(f"/periods/{period_id}/close")

    async def ballot_members(self, period_id: str, role: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/periods/{period_id}/ballot-members/{role}")
        return result

    async def my_ballot(self, period_id: str, role: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self.get(f"/periods/{period_id}/my-ballot/{role}")
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def cast(self, period_id: str, role: str, scores: list[dict[str, Any]]) -> Any:
        return await self.put(f"/periods/{period_id}/ballots/{role}", {"scores": scores})

    async def turnout(self, period_id: str, branch: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/periods/{period_id}/turnout", branch=branch)
        return result

    async def scope_turnout(self, year: int, scope: str, scope_id: str | None) -> dict[str, Any]:
        """Per review period of the year: eligible and voted reviewers of the company, a unit
        or a branch (counts only), in one call whatever the number of branches."""
        result: dict[str, Any] = await self.get("/turnout", year=year, scope=scope, id=scope_id)
        return result

    async def overview(self, branch_id: str, period_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/branches/{branch_id}/overview", period=period_id)
        return result
