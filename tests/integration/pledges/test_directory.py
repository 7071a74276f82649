"""The directory the web portal reads: branches (public), a branch's roster and a branch's
pledges (internal, like the other internal queries; who reads which: test_read_access)."""

from __future__ import annotations

import pytest

from shared.auth import Role
from tests.integration.pledges.conftest import YEAR, Pledges, role_token

pytestmark = pytest.mark.integration


async def test_branches_are_listed_without_sign_in(pledges: Pledges):
    await pledges.import_roster()
    response = await pledges.call("GET", "/public/branches", None)
    assert response.status_code == 200
    assert [(b["branch_id"], b["name"], b["unit_name"]) for b in response.json()] == [
        ("b-a", "采油一队党支部", "第一采油厂党委"),
        ("b-b", "采油二队党支部", "第一采油厂党委"),
    ]


async def test_a_branch_roster_is_for_its_staff_and_the_organization_department(
    pledges: Pledges,
):
    await pledges.import_roster()
    people = await pledges.ok("GET", "/roster/people?branch=b-a", pledges.employee)
    by_id = {p["person_id"]: p for p in people}
    assert set(by_id) == {"sec-a", "sec-a2", "m-a", "pm-a", "e-a"}
    assert by_id["sec-a"]["committee_label"] == "支部书记"
    assert by_id["pm-a"]["is_party_member"] is True
    assert by_id["e-a"]["is_party_member"] is False
    assert by_id["e-a"]["unit_id"] == "u-1"

    other = await pledges.call("GET", "/roster/people?branch=b-b", pledges.employee)
    assert other.status_code == 403
    assert other.json()["message"] == "只能查看本支部的记录"
    everyone = await pledges.call("GET", "/roster/people", pledges.employee)
    assert everyone.status_code == 403
    all_people = await pledges.ok("GET", "/roster/people", pledges.admin)
    assert len(all_people) == 8
    unknown = await pledges.call("GET", "/roster/people?branch=b-zz", pledges.admin)
    assert unknown.status_code == 404
    assert (await pledges.call("GET", "/roster/people", None)).status_code == 401


async def test_a_branch_pledges_in_every_state_for_the_committee(pledges: Pledges):
    await pledges.prepare_year()
    approved = await pledges.walk("approved", 1)
    declared = await pledges.walk("declared", 2)
    listed = await pledges.ok("GET", f"/branches/b-a/pledges?year={YEAR}", pledges.secretary)
    assert [(p["pledge_id"], p["status"]) for p in listed] == [
        (approved, "approved"),
        (declared, "declared"),
    ]
    assert listed[1]["member_name"] == "李秀英"
    assert await pledges.ok("GET", f"/branches/b-a/pledges?year={YEAR + 1}", pledges.admin) == []
    foreign = await pledges.call("GET", "/branches/b-a/pledges", role_token(Role.MEMBER, "b"))
    assert foreign.status_code == 403
