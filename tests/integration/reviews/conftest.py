"""The reviews service running in-process (its lifespan, a real database, the embedded broker
and its consumer), driven over HTTP by people holding real tokens.

The API tests give the service its roster by applying pledges events straight through the
roster projection in a transaction, as the consumer would; the end-to-end test goes through
the pledges service and the broker instead. Ids here start with ``rv-`` so that pledges
events other tests publish on the shared topic never touch these people.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.reviews.api.deps import clock
from services.reviews.app import create_app
from services.reviews.projections import apply
from shared.auth import Principal, Role, TokenIssuer
from shared.contracts import Actor, Envelope, Event, Org
from shared.contracts.pledges import (
    BranchRegistered,
    CommitteeMemberAppointed,
    CommitteePosition,
    Membership,
    PairingAgreementSigned,
    PersonDeparted,
    PersonRegistered,
    PledgeDeclared,
    QuarterlyWork,
    ResponsibilityArea,
    UnitRegistered,
)
from shared.eventstore import StoredEvent
from shared.eventstore.tables import events as es_events
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.settings import DEFAULT_SECRET, Settings

# 10:00 in Beijing on 20 March 2024: Q1 and H1 are under way.
NOW = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
YEAR = 2024
UNIT, BRANCH, OTHER_BRANCH = "rv-u1", "rv-b1", "rv-b2"

# person id -> (name, branch, membership, committee, departed)
PEOPLE: dict[str, tuple[str, str, Membership, bool, bool]] = {
    "rv-sec": ("王书记", BRANCH, Membership.FULL_MEMBER, True, False),
    "rv-m1": ("李秀英", BRANCH, Membership.FULL_MEMBER, False, False),
    "rv-m2": ("张伟", BRANCH, Membership.FULL_MEMBER, False, False),
    "rv-m3": ("陈静", BRANCH, Membership.FULL_MEMBER, False, False),
    "rv-pm": ("周敏", BRANCH, Membership.PROBATIONARY_MEMBER, False, False),
    "rv-e1": ("赵磊", BRANCH, Membership.NON_MEMBER, False, False),
    "rv-e2": ("孙丽", BRANCH, Membership.NON_MEMBER, False, False),
    "rv-gone": ("吴刚", BRANCH, Membership.FULL_MEMBER, False, True),
    "rv-sec2": ("刘洋", OTHER_BRANCH, Membership.FULL_MEMBER, True, False),
    "rv-x1": ("钱进", OTHER_BRANCH, Membership.FULL_MEMBER, False, False),
}
# 赵磊 signed a pairing agreement with 李秀英 on a pledge of the year.
PAIRED_EMPLOYEE, PAIRED_MEMBER = "rv-e1", "rv-m1"


def token(person_id: str, *roles: Role, branch: str | None = BRANCH) -> str:
    principal = Principal(
        person_id=person_id,
        name=person_id,
        roles=frozenset(roles),
        unit_id=UNIT,
        branch_id=branch,
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


def token_of(person_id: str) -> str:
    """The token a person of the example roster holds: everyone is an employee, members are
    members, committee members are committee members of their branch."""
    _, branch, membership, committee, _ = PEOPLE[person_id]
    roles = [Role.EMPLOYEE]
    if membership.is_party_member:
        roles.append(Role.MEMBER)
    if committee:
        roles.append(Role.BRANCH_COMMITTEE)
    return token(person_id, *roles, branch=branch)


ADMIN = token("rv-admin", Role.ORG_ADMIN, branch=None)


def roster_events() -> list[tuple[str, Event]]:
    """The example roster as the pledges service would publish it: (stream, event)."""
    out: list[tuple[str, Event]] = [
        (f"unit-{UNIT}", UnitRegistered(unit_id=UNIT, name="第一采油厂党委")),
        (
            f"branch-{BRANCH}",
            BranchRegistered(branch_id=BRANCH, unit_id=UNIT, name="采油一队党支部"),
        ),
        (
            f"branch-{OTHER_BRANCH}",
            BranchRegistered(branch_id=OTHER_BRANCH, unit_id=UNIT, name="采油二队党支部"),
        ),
    ]
    for person_id, (name, branch, membership, committee, departed) in PEOPLE.items():
        stream = f"person-{person_id}"
        out.append(
            (
                stream,
                PersonRegistered(
                    person_id=person_id,
                    name=name,
                    branch_id=branch,
                    membership=membership,
                    post=None,
                ),
            )
        )
        if committee:
            out.append(
                (
                    stream,
                    CommitteeMemberAppointed(
                        person_id=person_id,
                        branch_id=branch,
                        position=CommitteePosition.SECRETARY,
                    ),
                )
            )
        if departed:
            out.append(
                (
                    stream,
                    PersonDeparted(
                        person_id=person_id,
                        branch_id=branch,
                        departed_on=date(2024, 2, 1),
                        reason="退休",
                    ),
                )
            )
    pledge = "pledge-rv-1"
    out += [
        (
            pledge,
            PledgeDeclared(
                pledge_id="rv-1",
                member_id=PAIRED_MEMBER,
                branch_id=BRANCH,
                year=YEAR,
                area=ResponsibilityArea.SAFETY,
                item="夜班巡检照明改造",
                content="为巡检路线加装照明",
                quantity="12处",
                quality_standard="通过安全验收",
                due_date=date(2024, 9, 30),
                need_ids=(),
                paired_employee_id=PAIRED_EMPLOYEE,
            ),
        ),
        (
            pledge,
            PairingAgreementSigned(
                pledge_id="rv-1",
                member_id=PAIRED_MEMBER,
                employee_id=PAIRED_EMPLOYEE,
                signed_on=date(2024, 3, 10),
                problem="夜班巡检照明不足",
                quarterly_work=QuarterlyWork(q1="勘察路线"),
                final_goal="夜班巡检全程有照明",
            ),
        ),
    ]
    return out


def stored(items: Sequence[tuple[str, Event]], *, at: datetime = NOW) -> list[StoredEvent]:
    """Envelopes as the consumer decodes them from the topic, recorded at ``at``."""
    sequences: dict[str, int] = {}
    out = []
    for stream, event in items:
        sequences[stream] = sequences.get(stream, 0) + 1
        envelope = Envelope(
            event_id=uuid.uuid4(),
            type=event.type_name,
            version=event.schema_version,
            stream=stream,
            sequence=sequences[stream],
            occurred_at=at,
            actor=Actor(ref="rv-admin", role="org_admin"),
            org=Org(unit=UNIT, branch=BRANCH),
            year=YEAR,
            correlation_id=uuid.uuid4(),
            data=event.model_dump(mode="json"),
        )
        out.append(StoredEvent(position=-1, envelope=envelope, event=event))
    return out


@dataclass
class Reviews:
    app: FastAPI
    http: httpx.AsyncClient
    now: list[datetime] = field(default_factory=lambda: [NOW])

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def feed(self, items: Sequence[tuple[str, Event]], *, at: datetime = NOW) -> None:
        async with self.runtime.db.transaction() as session:
            await apply(session, stored(items, at=at))

    async def call(
        self, method: str, path: str, who: str | None, json: Any = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {who}"
        return await self.http.request(method, path, json=json, headers=headers, **kw)

    async def ok(self, method: str, path: str, who: str | None, json: Any = None) -> Any:
        response = await self.call(method, path, who, json)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    async def open(
        self,
        kind: str,
        period: str,
        *,
        period_id: str | None = None,
        scope_level: str = "branch",
        scope_id: str | None = BRANCH,
        deadline: str | None = None,
        who: str = ADMIN,
    ) -> str:
        period_id = period_id or f"rp-{kind}-{period}-{uuid.uuid4().hex[:6]}"
        body = {
            "period_id": period_id,
            "kind": kind,
            "period": period,
            "year": YEAR,
            "scope_level": scope_level,
            "scope_id": scope_id,
            "deadline": deadline,
        }
        await self.ok("POST", "/periods", who, body)
        return period_id

    async def cast(
        self,
        who: str,
        period_id: str,
        role: str,
        scores: dict[str, Any],
        comment: str | None = None,
    ) -> httpx.Response:
        lines = [
            {"member_id": member, "score": score, "comment": comment}
            for member, score in scores.items()
        ]
        return await self.call(
            "PUT", f"/periods/{period_id}/ballots/{role}", who, {"scores": lines}
        )

    async def event_count(self) -> int:
        async with self.runtime.db.reading() as session:
            return int(await self.runtime.store.count(session))

    async def events(self) -> list[StoredEvent]:
        async with self.runtime.db.reading() as session:
            result: list[StoredEvent] = await self.runtime.store.read_all(session, limit=100_000)
            return result

    async def raw_event_rows(self) -> list[dict[str, Any]]:
        async with self.runtime.db.reading() as session:
            rows = await session.execute(select(es_events))
            return [dict(row) for row in rows.mappings()]


def reviews_settings(database_url: str, broker: EmbeddedBroker, unique: str, tmp: Path) -> Settings:
    return Settings(
        service="reviews",
        database_url=database_url,
        broker_url=broker.bootstrap,
        group_suffix=unique,
        data_dir=tmp,
    )


@pytest.fixture
async def reviews(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> AsyncIterator[Reviews]:
    app = create_app(reviews_settings(database_url, broker, unique, tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reviews"
        ) as http,
    ):
        service = Reviews(app=app, http=http)
        app.dependency_overrides[clock] = lambda: service.now[0]
        await service.feed(roster_events())
        yield service
