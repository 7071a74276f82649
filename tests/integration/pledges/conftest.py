"""The pledges service running in-process (its lifespan, a real database and the embedded
broker), driven over HTTP by people holding real tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.pledges.api.deps import clock
from services.pledges.app import create_app
from shared.auth import Principal, Role, TokenIssuer
from shared.eventstore import StoredEvent
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.settings import DEFAULT_SECRET, Settings

# 10:00 in Beijing on 15 March 2024: the plan is adopted, pledges are due within the year.
NOW = datetime(2024, 3, 15, 2, 0, tzinfo=UTC)
YEAR = 2024

ROSTER_CSV = """unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position
u-1,第一采油厂党委,b-a,采油一队党支部,sec-a,王建国,member,队长,secretary
u-1,第一采油厂党委,b-a,采油一队党支部,sec-a2,陈静,member,技术员,deputy_secretary
u-1,第一采油厂党委,b-a,采油一队党支部,m-a,李秀英,member,采油工,
u-1,第一采油厂党委,b-a,采油一队党支部,pm-a,周敏,probationary,采油工,
u-1,第一采油厂党委,b-a,采油一队党支部,e-a,赵磊,employee,采油工,
u-1,第一采油厂党委,b-b,采油二队党支部,sec-b,刘洋,member,队长,secretary
u-1,第一采油厂党委,b-b,采油二队党支部,m-b,孙丽,member,采油工,
u-1,第一采油厂党委,b-b,采油二队党支部,e-b,吴强,employee,维修工,
"""

BRANCH_OF = {"a": "b-a", "b": "b-b"}
_ROLE_PEOPLE = {
    Role.MEMBER: "m-{}",
    Role.EMPLOYEE: "e-{}",
    Role.BRANCH_COMMITTEE: "sec-{}",
    Role.UNIT_COMMITTEE: "uc-{}",
    Role.ORG_ADMIN: "admin-{}",
    Role.OPERATOR: "ops-{}",
}


def token(
    person_id: str, *roles: Role, branch: str | None = "b-a", unit: str | None = "u-1"
) -> str:
    principal = Principal(
        person_id=person_id, name=person_id, roles=frozenset(roles), unit_id=unit, branch_id=branch
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


def role_token(role: Role, side: str) -> str:
    """One role only, held by the person of that role in branch ``side`` ("a" or "b")."""
    return token(_ROLE_PEOPLE[role].format(side), role, branch=BRANCH_OF[side])


@dataclass
class Pledges:
    """The running service and the people of the example roster."""

    app: FastAPI
    http: httpx.AsyncClient
    unique: str

    admin = token("admin-a", Role.ORG_ADMIN, branch=None)
    unit_committee = token("uc-1", Role.UNIT_COMMITTEE, branch=None, unit="u-1")
    secretary = token("sec-a", Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE)
    deputy = token("sec-a2", Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE)
    member = token("m-a", Role.MEMBER, Role.EMPLOYEE)
    employee = token("e-a", Role.EMPLOYEE)

    async def call(
        self,
        method: str,
        path: str,
        who: str | None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if who is not None:
            all_headers["Authorization"] = f"Bearer {who}"
        return await self.http.request(method, path, json=json, headers=all_headers, **kw)

    async def ok(self, method: str, path: str, who: str | None, json: Any = None) -> Any:
        response = await self.call(method, path, who, json)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    async def events(self, stream: str | None = None) -> list[StoredEvent]:
        runtime = self.app.state.runtime
        async with runtime.db.reading() as session:
            if stream is not None:
                result: list[StoredEvent] = await runtime.store.load(session, stream)
                return result
            return await runtime.store.read_all(session, limit=100_000)

    async def count(self) -> int:
        runtime = self.app.state.runtime
        async with runtime.db.reading() as session:
            return int(await runtime.store.count(session))

    # The example year, step by step.

    def pledge_id(self, n: int = 1) -> str:
        return f"pl-{self.unique}-{n}"

    def need_id(self, n: int = 1) -> str:
        return f"need-{self.unique}-{n}"

    async def import_roster(self) -> Any:
        response = await self.call(
            "POST",
            "/roster/import",
            self.admin,
            content=ROSTER_CSV.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def prepare_year(self) -> None:
        """Roster, the branch's plan, one classified need, and the member's area."""
        await self.import_roster()
        await self.ok("PUT", f"/branches/b-a/plans/{YEAR}", self.secretary, PLAN)
        await self.ok("POST", "/needs", self.employee, self.need_body())
        await self.ok(
            "POST", f"/needs/{self.need_id()}/classification", self.secretary, {"area": "safety"}
        )
        await self.ok("PUT", f"/members/m-a/areas/{YEAR}", self.member, {"area": "safety"})

    def need_body(self, n: int = 1) -> dict[str, Any]:
        return {
            "need_id": self.need_id(n),
            "branch_id": "b-a",
            "year": YEAR,
            "employee_id": "e-a",
            "problem": "夜班巡检路线缺少照明",
            "suggested_area": "safety",
        }

    def declaration(self, n: int = 1, **changes: Any) -> dict[str, Any]:
        return {
            "pledge_id": self.pledge_id(n),
            "member_id": "m-a",
            "year": YEAR,
            "area": "safety",
            "item": "夜班巡检照明改造",
            "content": "为巡检路线加装照明并建立巡检记录",
            "quantity": "12处照明点",
            "quality_standard": "全部通过安全验收",
            "due_date": "2024-09-30",
            "need_ids": [self.need_id()],
            "paired_employee_id": "e-a",
            **changes,
        }

    async def walk(self, to: str, n: int = 1) -> str:
        """Take pledge ``n`` through the lifecycle up to the step ``to``; returns its id."""
        pid = self.pledge_id(n)
        steps: list[tuple[str, str, str, str, Any]] = [
            ("declared", "POST", "/pledges", self.member, self.declaration(n)),
            ("approved", "POST", f"/pledges/{pid}/approval", self.secretary, None),
            ("agreement_signed", "POST", f"/pledges/{pid}/agreement", self.secretary, AGREEMENT),
            ("published", "POST", f"/pledges/{pid}/publication", self.secretary, PUBLICATION),
            ("ledger", "POST", f"/pledges/{pid}/ledger", self.secretary, LEDGER),
            (
                "acceptance_requested",
                "POST",
                f"/pledges/{pid}/acceptance-request",
                self.member,
                {"summary": "12处照明点已全部安装"},
            ),
            ("accepted", "POST", f"/pledges/{pid}/acceptance", self.secretary, {"comment": "达标"}),
        ]
        for name, method, path, who, body in steps:
            await self.ok(method, path, who, body)
            if name == to:
                return pid
        raise AssertionError(f"no step {to!r}")


PLAN = {"title": "2024年党员塑形工程活动方案", "summary": "承诺践诺", "meeting_date": "2024-01-15"}
AGREEMENT = {
    "signed_on": "2024-03-10",
    "problem": "夜班巡检照明不足",
    "q1": "勘察路线",
    "q2": "安装一半",
    "q3": "全部安装",
    "final_goal": "夜班巡检全程有照明",
}
PUBLICATION = {"channels": ["staff_meeting", "notice_board"], "published_on": "2024-03-12"}
LEDGER = {"month": "2024-03", "assessment": "on_track", "note": "已勘察"}


@pytest.fixture
async def pledges(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> AsyncIterator[Pledges]:
    settings = Settings(
        service="pledges",
        database_url=database_url,
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp_path,
    )
    app = create_app(settings)
    app.dependency_overrides[clock] = lambda: NOW
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://pledges"
        ) as http,
    ):
        yield Pledges(app=app, http=http, unique=unique)
