"""The pledges service: roster, plans and needs, the six-step pledge lifecycle."""

from __future__ import annotations

from typing import Any

import httpx

from services.portal.clients import ServiceClient, ServiceError


class PledgesClient(ServiceClient):
    async def branches(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get("/public/branches")
        return result

    async def people(self, branch: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get("/roster/people", branch=branch)
        return result

    async def published(self, branch_id: str, year: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get(
            f"/public/branches/{branch_id}/pledges", year=year
        )
        return result

    async def pledge(self, pledge_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/pledges/{pledge_id}")
        return result

    async def timeline(self, pledge_id: str) -> dict[str, Any] | None:
        """The pledge's steps (承诺历程); None when the service does not have it."""
        try:
            result = await self.get(f"/pledges/{pledge_id}/timeline")
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise
        return result if isinstance(result, dict) else None

    async def member_pledges(self, person_id: str, year: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get(f"/members/{person_id}/pledges", year=year)
        return result

    async def branch_pledges(self, branch_id: str, year: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get(f"/branches/{branch_id}/pledges", year=year)
        return result

    async def needs(self, branch_id: str, year: int) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get(f"/branches/{branch_id}/needs", year=year)
        return result

    async def ledger(self, branch_id: str, month: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/branches/{branch_id}/ledger", month=month)
        return result

    async def submit_need(self, body: dict[str, Any]) -> Any:
        return await self.post("/needs", body)

    async def classify_need(self, need_id: str, area: str) -> Any:
        return await self.post(f"/needs/{need_id}/classification", {"area": area})

    async def member_area(self, person_id: str, year: int) -> dict[str, Any]:
        result: dict[str, Any] = await self.get(f"/members/{person_id}/areas/{year}")
        return result

    async def choose_area(self, person_id: str, year: int, area: str) -> Any:
        return await self.put(f"/members/{person_id}/areas/{year}", {"area": area})

    async def declare(self, body: dict[str, Any]) -> Any:
        return await self.post("/pledges", body)

    async def act(self, pledge_id: str, step: str, body: dict[str, Any] | None = None) -> Any:
        """One lifecycle step: revision-request, revision, approval, agreement, publication,
        ledger, acceptance-request, acceptance, return, withdrawal."""
        return await self.post(f"/pledges/{pledge_id}/{step}", body)

    async def ledger_export(self, branch_id: str, month: str) -> httpx.Response:
        response: httpx.Response = await self.call(
            "GET", f"/branches/{branch_id}/ledger/export.xlsx", raw=True, params={"month": month}
        )
        return response

    async def correct_ledger(self, pledge_id: str, month: str, body: dict[str, Any]) -> Any:
        """更正台账: ``{"assessment", "note", "reason"}`` for the month's entry."""
        return await self.put(f"/pledges/{pledge_id}/ledger/{month}", body)

    async def exempt(self, person_id: str, body: dict[str, Any]) -> Any:
        """登记免评: ``{"year", "reason", "reason_text", "evidence"}``."""
        return await self.post(f"/roster/people/{person_id}/exemptions", body)

    async def revoke_exemption(self, person_id: str, year: int, reason: str) -> Any:
        return await self.post(
            f"/roster/people/{person_id}/exemptions/{year}/revocation", {"reason": reason}
        )

    async def adopt_plan(self, branch_id: str, year: int, body: dict[str, Any]) -> Any:
        return await self.put(f"/branches/{branch_id}/plans/{year}", body)
