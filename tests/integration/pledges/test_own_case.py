"""No one judges their own case (issue 14): a committee member is refused every decision on
their own pledge (approval, revision request, ledger, acceptance) with a 403 that says who
decides instead, and nothing is recorded; another committee member of the branch, or the
organization department standing in for the unit committee, then decides."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.pledges.domain import pledge_stream
from shared.auth import Role
from tests.integration.pledges.conftest import LEDGER, PUBLICATION, YEAR, Pledges, token

pytestmark = pytest.mark.integration

SECRETARY_PLEDGE = 9
"""Pledge 9 of each test is the branch secretary's own (sec-a, a member of branch b-a)."""


@dataclass(frozen=True)
class Decision:
    name: str
    before: str
    method: str
    suffix: str
    body: Any
    event: str


DECISIONS = [
    Decision("approve", "declared", "POST", "approval", None, "PledgeApproved"),
    Decision(
        "request_revision",
        "declared",
        "POST",
        "revision-request",
        {"reasons": ["请细化数量"]},
        "PledgeRevisionRequested",
    ),
    Decision("record_ledger_entry", "published", "POST", "ledger", LEDGER, "LedgerEntryRecorded"),
    Decision(
        "correct_ledger_entry",
        "ledger",
        "PUT",
        "ledger/2024-03",
        {"assessment": "behind", "reason": "核实后更正"},
        "LedgerEntryCorrected",
    ),
    Decision("accept", "acceptance_requested", "POST", "acceptance", {}, "PledgeAccepted"),
    Decision(
        "return",
        "acceptance_requested",
        "POST",
        "return",
        {"reasons": ["尚未全部完成"]},
        "PledgeReturned",
    ),
]
DECIDERS: dict[str, tuple[Callable[[Pledges], str], str, str]] = {
    "another committee member": (lambda p: p.deputy, "sec-a2", "branch_committee"),
    "the unit committee": (lambda p: p.unit_committee, "uc-1", "unit_committee"),
    "the organization department": (lambda p: p.admin, "admin-a", "org_admin"),
}


async def secretary_pledge_at(pledges: Pledges, step: str) -> str:
    """The secretary declares a pledge; the deputy secretary takes it to ``step``."""
    pid = pledges.pledge_id(SECRETARY_PLEDGE)
    await pledges.ok("PUT", f"/members/sec-a/areas/{YEAR}", pledges.secretary, {"area": "safety"})
    declaration = pledges.declaration(
        SECRETARY_PLEDGE, member_id="sec-a", need_ids=[], paired_employee_id=None
    )
    await pledges.ok("POST", "/pledges", pledges.secretary, declaration)
    if step == "declared":
        return pid
    walk: list[tuple[str, str, Any, str]] = [
        ("approval", pledges.deputy, None, "approved"),
        ("publication", pledges.deputy, PUBLICATION, "published"),
        ("ledger", pledges.deputy, LEDGER, "ledger"),
        ("acceptance-request", pledges.secretary, {"summary": "已完成"}, "acceptance_requested"),
    ]
    for suffix, who, body, reached in walk:
        await pledges.ok("POST", f"/pledges/{pid}/{suffix}", who, body)
        if reached == step:
            return pid
    raise AssertionError(f"no step {step!r}")


@pytest.mark.parametrize("decider", DECIDERS, ids=str)
@pytest.mark.parametrize("decision", DECISIONS, ids=lambda d: d.name)
async def test_a_committee_member_cannot_decide_their_own_pledge_but_another_can(
    pledges: Pledges, decision: Decision, decider: str
) -> None:
    await pledges.prepare_year()
    pid = await secretary_pledge_at(pledges, decision.before)
    path = f"/pledges/{pid}/{decision.suffix}"
    before = await pledges.count()

    refused = await pledges.call(decision.method, path, pledges.secretary, decision.body)

    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert message.startswith("不能") and "这是您本人的承诺" in message, message
    assert "须由本支部另一名支委会成员或所属二级党委办理" in message, message
    assert await pledges.count() == before, "the refusal recorded an event"

    who, ref, role = DECIDERS[decider]
    await pledges.ok(decision.method, path, who(pledges), decision.body)
    last = (await pledges.events(pledge_stream(pid)))[-1]
    assert last.event.type_name == decision.event
    assert (last.envelope.actor.ref, last.envelope.actor.role) == (ref, role)


async def test_the_organization_department_does_not_decide_an_ordinary_members_pledge(
    pledges: Pledges,
) -> None:
    await pledges.prepare_year()
    pid = await pledges.walk("declared")
    before = await pledges.count()

    response = await pledges.call("POST", f"/pledges/{pid}/approval", pledges.admin)

    assert (response.status_code, response.json()["message"]) == (
        403,
        "只有本支部的支委会成员可以审核承诺（定诺）；二级党委只办理支委会成员本人的承诺",
    )
    assert await pledges.count() == before


async def test_only_the_branchs_own_unit_committee_decides_and_not_an_ordinary_pledge(
    pledges: Pledges,
) -> None:
    await pledges.prepare_year()
    pid = await secretary_pledge_at(pledges, "declared")
    other_unit = token("uc-9", Role.UNIT_COMMITTEE, branch=None, unit="u-elsewhere")
    refused = await pledges.call("POST", f"/pledges/{pid}/approval", other_unit)
    assert (refused.status_code, refused.json()["message"]) == (
        403,
        "只有本支部另一名支委会成员或所属二级党委可以审核承诺（定诺）",
    )
    ordinary = await pledges.walk("declared")
    before = await pledges.count()
    response = await pledges.call("POST", f"/pledges/{ordinary}/approval", pledges.unit_committee)
    assert (response.status_code, response.json()["message"]) == (
        403,
        "只有本支部的支委会成员可以审核承诺（定诺）；二级党委只办理支委会成员本人的承诺",
    )
    assert await pledges.count() == before  # the refusal recorded nothing


async def test_the_secretary_still_records_the_steps_that_decide_nothing(pledges: Pledges) -> None:
    """Publication and the pairing agreement record what happened; they judge nothing, so
    the secretary may record them on their own pledge once another member approved it."""
    await pledges.prepare_year()
    pid = await secretary_pledge_at(pledges, "declared")
    await pledges.ok("POST", f"/pledges/{pid}/approval", pledges.deputy)
    await pledges.ok("POST", f"/pledges/{pid}/publication", pledges.secretary, PUBLICATION)
    assert (await pledges.ok("GET", f"/pledges/{pid}", pledges.secretary))["status"] == "published"
