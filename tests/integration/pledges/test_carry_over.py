"""Carry-over (结转) of an unfinished pledge into the next year, through HTTP on both
databases (docs/annual-cycle.md): once the year is over the branch committee carries a
published pledge over with a reason and a new due date; in one transaction the pledge ends
as carried over in its year and its successor starts in the next, published, with its
pairing and a link both ways; refusals change nothing, a retry is refused, the old pledge
keeps its year's (late) entries and the new one takes the new year's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.pledges.api.deps import clock
from services.pledges.domain import pledge_stream
from shared.auth import Role
from shared.eventstore.tables import events as es_events
from tests.integration.pledges.conftest import NOW, YEAR, Pledges, role_token

pytestmark = pytest.mark.integration

# 10:00 in Beijing on 10 January of the next year.
JANUARY = datetime(YEAR + 1, 1, 10, 2, 0, tzinfo=UTC)
CARRY = {"reason": "冬季停工，剩余4处照明点顺延至次年", "due_date": f"{YEAR + 1}-06-30"}


async def _published_in_january(pledges: Pledges) -> str:
    await pledges.prepare_year()
    pid = await pledges.walk("ledger", 1)
    pledges.app.dependency_overrides[clock] = lambda: JANUARY
    return pid


async def test_the_committee_carries_an_unfinished_pledge_into_the_next_year(
    pledges: Pledges,
) -> None:
    pid = await _published_in_january(pledges)
    new = f"{pid}-{YEAR + 1}"
    await pledges.ok("PUT", f"/members/m-a/areas/{YEAR + 1}", pledges.member, {"area": "safety"})
    before = await pledges.count()

    result = await pledges.ok("POST", f"/pledges/{pid}/carry-over", pledges.secretary, CARRY)
    assert result == {"id": new, "version": 1, "events": ["PledgeCarriedIn"]}

    events = (await pledges.events())[before:]
    assert [(e.envelope.type, e.envelope.stream) for e in events] == [
        ("PledgeCarriedOver", pledge_stream(pid)),
        ("PledgeCarriedIn", pledge_stream(new)),
        ("ResponsibilityAreaLocked", f"member-year-m-a-{YEAR + 1}"),
    ]
    out, into, _ = events
    assert out.envelope.data == {
        "pledge_id": pid,
        "to_pledge_id": new,
        "to_year": YEAR + 1,
        "due_date": f"{YEAR + 1}-06-30",
        "reason": CARRY["reason"],
    }
    assert (out.envelope.year, into.envelope.year) == (YEAR, YEAR + 1)
    assert into.envelope.data["from_pledge_id"] == pid
    assert into.envelope.data["paired_employee_id"] == "e-a"
    assert into.envelope.data["agreement"]["signed_on"] == f"{YEAR}-03-10"
    assert into.envelope.data["published_on"] == f"{YEAR}-03-12"
    assert into.envelope.causation_id == out.envelope.event_id
    assert {e.envelope.actor.ref for e in events} == {"sec-a"}
    async with pledges.app.state.runtime.db.reading() as session:
        keys = await session.scalars(
            select(es_events.c.partition_key).where(
                es_events.c.stream.in_([pledge_stream(pid), pledge_stream(new)])
            )
        )
        assert set(keys) == {"b-a"}

    old_row = await pledges.ok("GET", f"/pledges/{pid}", pledges.member)
    assert (old_row["status"], old_row["status_label"], old_row["year"]) == (
        "carried_over",
        "已结转",
        YEAR,
    )
    assert (old_row["carried_to"], old_row["carry_reason"]) == (new, CARRY["reason"])
    new_row = await pledges.ok("GET", f"/pledges/{new}", pledges.member)
    assert (new_row["status"], new_row["year"], new_row["carried_from"]) == (
        "published",
        YEAR + 1,
        pid,
    )
    assert (new_row["due_date"], new_row["paired_employee_id"]) == (f"{YEAR + 1}-06-30", "e-a")
    assert new_row["item"] == old_row["item"] and new_row["need_ids"] == []
    assert new_row["agreement"]["final_goal"] == old_row["agreement"]["final_goal"]
    # Both are public to the branch's staff (the old one was published in its year).
    for shown in (pid, new):
        await pledges.ok("GET", f"/pledges/{shown}", pledges.employee)

    # December's entry is still on time (until 31 January) and goes to the old pledge; the
    # new year's months go to the new one; each year's ledger lists its own pledge.
    december = {"month": f"{YEAR}-12", "assessment": "behind", "note": "停工"}
    await pledges.ok("POST", f"/pledges/{pid}/ledger", pledges.secretary, december)
    refused = await pledges.call("POST", f"/pledges/{new}/ledger", pledges.secretary, december)
    assert refused.status_code == 422, refused.text
    january = {"month": f"{YEAR + 1}-01", "assessment": "on_track", "note": "复工准备"}
    await pledges.ok("POST", f"/pledges/{new}/ledger", pledges.secretary, january)
    refused = await pledges.call("POST", f"/pledges/{pid}/ledger", pledges.secretary, january)
    assert refused.status_code == 422, refused.text
    dec = await pledges.ok("GET", f"/branches/b-a/ledger?month={YEAR}-12", pledges.secretary)
    assert [r["pledge_id"] for r in dec["rows"]] == [pid]
    jan = await pledges.ok("GET", f"/branches/b-a/ledger?month={YEAR + 1}-01", pledges.secretary)
    assert [r["pledge_id"] for r in jan["rows"]] == [new]

    # The member applies for acceptance of the new pledge, never of the old one.
    summary = {"summary": "照明点已全部安装"}
    refused = await pledges.call(
        "POST", f"/pledges/{pid}/acceptance-request", pledges.member, summary
    )
    assert refused.status_code == 409 and "已结转" in refused.json()["message"]
    await pledges.ok("POST", f"/pledges/{new}/acceptance-request", pledges.member, summary)

    # A retry is refused and records nothing.
    count = await pledges.count()
    again = await pledges.call("POST", f"/pledges/{pid}/carry-over", pledges.secretary, CARRY)
    assert again.status_code == 409, again.text
    assert again.json()["message"] == f"承诺已结转至“{new}”，不能重复结转"
    assert await pledges.count() == count


async def _refused(pledges: Pledges, pid: str, who: str, body: dict[str, Any], status: int) -> str:
    before = await pledges.count()
    response = await pledges.call("POST", f"/pledges/{pid}/carry-over", who, body)
    assert response.status_code == status, response.text
    assert await pledges.count() == before
    message: str = response.json()["message"]
    return message


async def test_refusals_change_nothing(pledges: Pledges) -> None:
    await pledges.prepare_year()
    pid = await pledges.walk("ledger", 1)
    # Within the year: the pledge can still be finished.
    message = await _refused(pledges, pid, pledges.secretary, CARRY, 409)
    assert message == f"{YEAR}年度尚未结束，承诺可在年内继续完成；年度结束后才能结转"

    pledges.app.dependency_overrides[clock] = lambda: JANUARY
    # The member has not chosen the new year's area yet.
    message = await _refused(pledges, pid, pledges.secretary, CARRY, 409)
    assert message == (
        f"李秀英尚未选择{YEAR + 1}年度的责任区；请党员先选择责任区“安全环保”，再结转"
    )
    await pledges.ok("PUT", f"/members/m-a/areas/{YEAR + 1}", pledges.member, {"area": "safety"})
    # No reason; a due date outside the next year or already past.
    message = await _refused(pledges, pid, pledges.secretary, {**CARRY, "reason": " "}, 422)
    assert "结转理由不能为空" in message
    for due, expected in (
        (f"{YEAR + 2}-01-15", f"结转后的完成时间须在{YEAR + 1}年内"),
        (f"{YEAR + 1}-01-09", "结转后的完成时间不能早于今天"),
    ):
        message = await _refused(pledges, pid, pledges.secretary, {**CARRY, "due_date": due}, 422)
        assert message == expected
    # Only the committee of the pledge's branch, and not the member.
    await _refused(pledges, pid, pledges.member, CARRY, 403)
    await _refused(pledges, pid, role_token(Role.BRANCH_COMMITTEE, "b"), CARRY, 403)
    await _refused(pledges, pid, pledges.unit_committee, CARRY, 403)
    # An accepted pledge needs no carry-over.
    pledges.app.dependency_overrides[clock] = lambda: NOW
    done = await pledges.walk("accepted", 2)
    pledges.app.dependency_overrides[clock] = lambda: JANUARY
    message = await _refused(pledges, done, pledges.secretary, CARRY, 409)
    assert message == "承诺已验收，无需结转"
    # The deputy secretary may carry it (the committee), and then it is done once.
    await pledges.ok("POST", f"/pledges/{pid}/carry-over", pledges.deputy, CARRY)
    await _refused(pledges, pid, pledges.secretary, CARRY, 409)
