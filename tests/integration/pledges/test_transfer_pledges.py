"""A member's transfer and their open pledges, through HTTP on both databases (DOMAIN.md §5,
"Transfers"; docs/annual-cycle.md): in the transfer's transaction, a pledge not yet approved
is withdrawn with the reason and a published one is handed over to the new branch, whose
committee then keeps its ledger while the old committee is refused; an accepted pledge and
one of an earlier year stay where they were; each pledge's events keep one partition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.pledges.api.deps import clock
from services.pledges.domain import pledge_stream
from shared.auth import Role
from shared.eventstore.tables import events as es_events
from tests.integration.pledges.conftest import NOW, YEAR, Pledges, token

pytestmark = pytest.mark.integration

SECRETARY_B = token("sec-b", Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE, branch="b-b")


async def test_open_pledges_follow_the_member_and_done_ones_stay(pledges: Pledges) -> None:
    await pledges.prepare_year()
    published = await pledges.walk("published", 1)
    declared = await pledges.walk("declared", 3)
    accepted = await pledges.walk("accepted", 2)
    earlier = pledges.pledge_id(4)
    # A pledge declared the year before and still open: the old branch finishes it.
    pledges.app.dependency_overrides[clock] = lambda: datetime(YEAR - 1, 6, 1, 2, tzinfo=UTC)
    await pledges.ok("PUT", f"/members/m-a/areas/{YEAR - 1}", pledges.member, {"area": "safety"})
    await pledges.ok(
        "POST",
        "/pledges",
        pledges.member,
        pledges.declaration(4, year=YEAR - 1, due_date=f"{YEAR - 1}-12-31", need_ids=[]),
    )
    pledges.app.dependency_overrides[clock] = lambda: NOW
    before = await pledges.count()

    await pledges.ok("POST", "/roster/people/m-a/transfer", pledges.admin, {"to_branch_id": "b-b"})

    events = (await pledges.events())[before:]
    assert [(e.envelope.type, e.envelope.data.get("pledge_id")) for e in events] == [
        ("PersonTransferred", None),
        ("PledgeHandedOver", published),
        ("PledgeWithdrawn", declared),
    ]
    assert events[1].envelope.data == {
        "pledge_id": published,
        "from_branch_id": "b-a",
        "to_branch_id": "b-b",
    }
    assert events[2].envelope.data["reason"] == (
        "组织关系转至采油二队党支部：尚未定诺的承诺撤回，可在新支部重新申报"
    )
    # One transaction, one actor: the roster manager who recorded the transfer.
    assert {e.envelope.actor.ref for e in events} == {"admin-a"}
    assert len({e.envelope.correlation_id for e in events}) == 1

    shown = await pledges.ok("GET", f"/pledges/{published}", SECRETARY_B)
    assert shown["branch_id"] == "b-b"

    entry = {"month": "2024-03", "assessment": "behind"}
    refused = await pledges.call("POST", f"/pledges/{published}/ledger", pledges.secretary, entry)
    assert refused.status_code == 403, refused.text
    await pledges.ok("POST", f"/pledges/{published}/ledger", SECRETARY_B, entry)
    ledger = await pledges.ok("GET", "/branches/b-b/ledger?month=2024-03", SECRETARY_B)
    assert [r["pledge_id"] for r in ledger["rows"]] == [published]
    # Its events, the new committee's entry included, keep the home partition.
    async with pledges.app.state.runtime.db.reading() as session:
        keys = await session.scalars(
            select(es_events.c.partition_key).where(es_events.c.stream == pledge_stream(published))
        )
        assert set(keys) == {"b-a"}

    for pid, status, branch in (
        (accepted, "accepted", "b-a"),
        (declared, "withdrawn", "b-a"),
        (earlier, "declared", "b-a"),
    ):
        row = await pledges.ok("GET", f"/pledges/{pid}", pledges.admin)
        assert (row["status"], row["branch_id"]) == (status, branch), pid
    # The old committee still decides last year's pledge.
    await pledges.ok("POST", f"/pledges/{earlier}/approval", pledges.secretary)
