"""Late ledger entries (补记) through HTTP on both databases: once a month's time has passed
(the end of the next month), an entry without a reason is refused with the date it was due
and records nothing; with a reason it is recorded, its reason is in the event and shown in
the branch's ledger beside the entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.pledges.api.deps import clock
from tests.integration.pledges.conftest import Pledges

pytestmark = pytest.mark.integration


async def test_a_closed_month_takes_an_entry_only_with_its_reason(pledges: Pledges) -> None:
    await pledges.prepare_year()
    pid = await pledges.walk("published")
    # 2 May: March's time ended on 30 April.
    pledges.app.dependency_overrides[clock] = lambda: datetime(2024, 5, 2, 2, 0, tzinfo=UTC)
    march = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-03", pledges.secretary)
    assert (march["closes_on"], march["not_recorded"]) == ("2024-04-30", 1)

    before = await pledges.count()
    refused = await pledges.call(
        "POST",
        f"/pledges/{pid}/ledger",
        pledges.secretary,
        {"month": "2024-03", "assessment": "done"},
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["message"] == (
        "2024-03的台账应在2024年4月30日前记录，现已逾期；补记须填写补记理由"
    )
    assert await pledges.count() == before

    await pledges.ok(
        "POST",
        f"/pledges/{pid}/ledger",
        pledges.secretary,
        {"month": "2024-03", "assessment": "done", "late_reason": "三月底井场抢险，支委会延期"},
    )
    events = await pledges.events()
    late = events[-1]
    assert late.envelope.type == "LedgerEntryRecorded"
    assert late.event.model_dump(mode="json")["late_reason"] == "三月底井场抢险，支委会延期"
    march = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-03", pledges.secretary)
    row = march["rows"][0]
    assert (row["assessment"], row["late_reason"], march["not_recorded"]) == (
        "done",
        "三月底井场抢险，支委会延期",
        0,
    )

    # April is still on time on 2 May: a reason sent along is not recorded as late.
    await pledges.ok(
        "POST",
        f"/pledges/{pid}/ledger",
        pledges.secretary,
        {"month": "2024-04", "assessment": "on_track", "late_reason": "不需要"},
    )
    april = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-04", pledges.secretary)
    assert (april["closes_on"], april["rows"][0]["late_reason"]) == ("2024-05-31", None)
