"""The six steps through HTTP: the events they record, in order, in the store and on the
real broker; and what the queries then show."""

from __future__ import annotations

import asyncio

import pytest

from services.pledges.domain import member_year_stream, need_stream, pledge_stream
from shared.auth import Role
from shared.messaging.embedded_broker import EmbeddedBroker
from tests.integration.pledges.conftest import YEAR, Pledges, role_token
from tests.support.kafka import first_occurrences, read_topic

pytestmark = pytest.mark.integration

PLEDGE_EVENTS = [
    "PledgeDeclared",
    "PledgeApproved",
    "PairingAgreementSigned",
    "PledgePublished",
    "LedgerEntryRecorded",
    "PledgeAcceptanceRequested",
    "PledgeAccepted",
]


async def test_a_pledge_walked_through_six_steps_records_its_events_in_order(
    pledges: Pledges, broker: EmbeddedBroker, request: pytest.FixtureRequest
):
    await pledges.prepare_year()
    pid = await pledges.walk("accepted")

    stored = await pledges.events(pledge_stream(pid))
    assert [s.event.type_name for s in stored] == PLEDGE_EVENTS
    assert [s.envelope.sequence for s in stored] == list(range(1, 8))
    approval = stored[1].envelope
    assert (approval.actor.ref, approval.actor.role) == ("sec-a", "branch_committee")
    assert (approval.org.unit, approval.org.branch, approval.year) == ("u-1", "b-a", YEAR)
    assert stored[0].envelope.actor.role == "member"

    need = await pledges.events(need_stream(pledges.need_id()))
    assert [s.event.type_name for s in need] == [
        "NeedSubmitted",
        "NeedClassified",
        "NeedPledgeLinked",
        "NeedSolved",
    ]
    area = await pledges.events(member_year_stream("m-a", YEAR))
    assert [s.event.type_name for s in area] == [
        "ResponsibilityAreaChosen",
        "ResponsibilityAreaLocked",
    ]
    # The fed facts name the event that caused them.
    assert area[1].envelope.causation_id == approval.event_id
    assert need[-1].envelope.causation_id == stored[-1].envelope.event_id

    if "sqlite" not in request.node.callspec.id:
        return  # the broker half once is enough: the relay is the same code on both
    seen = []
    for _ in range(60):
        everything = await read_topic(broker.bootstrap, "suxing.pledges", expect=10**9, timeout=1)
        seen = [s for s in everything if s.envelope and s.envelope.stream == pledge_stream(pid)]
        if len(seen) >= len(PLEDGE_EVENTS):
            break
        await asyncio.sleep(0.5)
    assert first_occurrences(seen)[pledge_stream(pid)] == list(range(1, 8))
    ordered = sorted(seen, key=lambda s: s.offset)
    assert [s.envelope.type for s in ordered if s.envelope] == PLEDGE_EVENTS
    assert {s.key for s in seen} == {b"b-a"}


async def test_queries_show_pledges_ledger_needs_and_overdue(pledges: Pledges):
    await pledges.prepare_year()
    pid = await pledges.walk("published")

    mine = await pledges.ok("GET", "/members/m-a/pledges", pledges.member)
    assert [(p["pledge_id"], p["status"], p["member_name"]) for p in mine] == [
        (pid, "published", "李秀英")
    ]
    # Names, not ids: the paired employee and the need's problem as the employee raised it.
    shown = await pledges.ok("GET", f"/pledges/{pid}", pledges.secretary)
    assert (shown["paired_employee_id"], shown["paired_employee_name"]) == ("e-a", "赵磊")
    assert shown["needs"] == [{"need_id": pledges.need_id(), "problem": "夜班巡检路线缺少照明"}]
    assert mine[0]["needs"] == shown["needs"]
    ledger = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-03", pledges.secretary)
    assert (ledger["not_recorded"], ledger["rows"][0]["assessment"]) == (1, None)
    await pledges.ok(
        "POST",
        f"/pledges/{pid}/ledger",
        pledges.secretary,
        {"month": "2024-03", "assessment": "behind"},
    )
    ledger = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-03", pledges.secretary)
    assert (ledger["not_recorded"], ledger["rows"][0]["assessment_label"]) == (0, "进度滞后")

    needs = await pledges.ok("GET", f"/branches/b-a/needs?year={YEAR}", pledges.employee)
    assert [(n["need_id"], n["area"], n["solved"]) for n in needs] == [
        (pledges.need_id(), "safety", False)
    ]
    assert [p["pledge_id"] for p in needs[0]["pledges"]] == [pid]

    public = await pledges.ok("GET", "/public/branches/b-a/pledges", None)
    assert [(p["pledge_id"], p["member_name"], p["status_label"]) for p in public] == [
        (pid, "李秀英", "已公开")
    ]
    assert await pledges.ok("GET", "/public/branches/b-b/pledges", None) == []

    overdue = await pledges.ok("GET", "/branches/b-a/pledges/overdue", pledges.secretary)
    assert overdue == []
    late = await pledges.ok("GET", "/branches/b-a/pledges/overdue?on=2024-10-08", pledges.secretary)
    assert [(o["pledge"]["pledge_id"], o["days_overdue"]) for o in late] == [(pid, 8)]

    detail = await pledges.ok("GET", f"/pledges/{pid}", pledges.member)
    assert detail["agreement"]["employee_id"] == "e-a"
    assert detail["channels"] == ["staff_meeting", "notice_board"]


async def test_revision_and_withdrawal_keep_the_needs_links_in_step(pledges: Pledges):
    await pledges.prepare_year()
    await pledges.ok("POST", "/needs", pledges.employee, pledges.need_body(2))
    await pledges.ok(
        "POST", f"/needs/{pledges.need_id(2)}/classification", pledges.secretary, {"area": "safety"}
    )
    pid = await pledges.walk("declared")
    await pledges.ok(
        "POST", f"/pledges/{pid}/revision-request", pledges.secretary, {"reasons": ["换一个需求"]}
    )
    terms = pledges.declaration(need_ids=[pledges.need_id(2)])
    for key in ("pledge_id", "member_id", "year"):
        del terms[key]

    revised = await pledges.ok("POST", f"/pledges/{pid}/revision", pledges.member, terms)

    assert revised["events"] == ["PledgeRevised"]
    first = [s.event.type_name for s in await pledges.events(need_stream(pledges.need_id()))]
    assert first[-2:] == ["NeedPledgeLinked", "NeedPledgeUnlinked"]
    needs = await pledges.ok("GET", f"/branches/b-a/needs?year={YEAR}", pledges.secretary)
    assert {n["need_id"]: [p["pledge_id"] for p in n["pledges"]] for n in needs} == {
        pledges.need_id(): [],
        pledges.need_id(2): [pid],
    }

    await pledges.ok("POST", f"/pledges/{pid}/withdrawal", pledges.member, {"reason": "调岗"})

    second = [s.event.type_name for s in await pledges.events(need_stream(pledges.need_id(2)))]
    assert second[-1] == "NeedPledgeUnlinked"
    detail = await pledges.ok("GET", f"/pledges/{pid}", pledges.member)
    assert (detail["status"], detail["withdrawal_reason"]) == ("withdrawn", "调岗")


async def test_internal_records_are_for_the_branch_and_the_public_board_for_all(
    pledges: Pledges,
):
    await pledges.prepare_year()
    pid = await pledges.walk("published")
    outsider = role_token(Role.MEMBER, "b")

    for path in (
        "/branches/b-a/ledger?month=2024-03",
        f"/branches/b-a/needs?year={YEAR}",
        "/branches/b-a/pledges/overdue",
    ):
        response = await pledges.call("GET", path, outsider)
        assert (response.status_code, response.json()["message"]) == (
            403,
            "只能查看本支部的记录",
        ), path
        assert (await pledges.call("GET", path, role_token(Role.ORG_ADMIN, "b"))).status_code == 200
    # Another branch's pledge is not confirmed to exist, nor listed among a person's.
    response = await pledges.call("GET", f"/pledges/{pid}", outsider)
    assert (response.status_code, response.json()["message"]) == (404, f"承诺“{pid}”不存在")
    assert await pledges.ok("GET", "/members/m-a/pledges", outsider) == []
    admin_b = role_token(Role.ORG_ADMIN, "b")
    assert (await pledges.ok("GET", f"/pledges/{pid}", admin_b))["pledge_id"] == pid
    assert len(await pledges.ok("GET", "/members/m-a/pledges", admin_b)) == 1
    assert len(await pledges.ok("GET", "/public/branches/b-a/pledges", None)) == 1
