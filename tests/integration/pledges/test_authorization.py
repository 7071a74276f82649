"""Who may do what: every role, in the branch concerned and in another one, against every
command. A refusal is a 403 with the reason, and leaves no event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from shared.auth import Role
from tests.integration.pledges.conftest import (
    AGREEMENT,
    LEDGER,
    PLAN,
    PUBLICATION,
    ROSTER_CSV,
    YEAR,
    Pledges,
    role_token,
)

pytestmark = pytest.mark.integration

ROSTER_KEEPERS = frozenset(
    {(Role.ORG_ADMIN, "a"), (Role.ORG_ADMIN, "b"), (Role.OPERATOR, "a"), (Role.OPERATOR, "b")}
)
COMMITTEE = frozenset({(Role.BRANCH_COMMITTEE, "a")})
OWNER = frozenset({(Role.MEMBER, "a")})
EMPLOYEE = frozenset({(Role.EMPLOYEE, "a")})
# Denied first, so the allowed call meets the state the denied ones left untouched.
PRINCIPALS = sorted(
    ((role, side) for role in Role for side in ("a", "b")), key=lambda rs: (rs[0].value, rs[1])
)


@dataclass(frozen=True)
class Case:
    name: str
    allowed: frozenset[tuple[Role, str]]
    request: Callable[[Pledges], tuple[str, str, Any]]
    before: str | None = None
    """Where pledge 1 must be: a step of ``Pledges.walk`` or "revision_requested"."""


def _pledge(suffix: str) -> Callable[[Pledges], str]:
    return lambda p: f"/pledges/{p.pledge_id()}/{suffix}"


CASES = [
    Case(
        "register_unit",
        ROSTER_KEEPERS,
        lambda p: ("POST", "/roster/units", {"unit_id": "u-9", "name": "机关党委"}),
    ),
    Case(
        "register_branch",
        ROSTER_KEEPERS,
        lambda p: (
            "POST",
            "/roster/branches",
            {"branch_id": "b-c", "unit_id": "u-1", "name": "采油三队党支部"},
        ),
    ),
    Case(
        "register_person",
        ROSTER_KEEPERS,
        lambda p: (
            "POST",
            "/roster/people",
            {"person_id": "e-new", "name": "钱多", "branch_id": "b-a", "membership": "non_member"},
        ),
    ),
    Case(
        "transfer_person",
        ROSTER_KEEPERS,
        lambda p: ("POST", "/roster/people/e-b/transfer", {"to_branch_id": "b-a"}),
    ),
    Case(
        "record_departure",
        ROSTER_KEEPERS,
        lambda p: ("POST", "/roster/people/e-b/departure", {"departed_on": "2024-03-01"}),
    ),
    Case(
        "appoint_committee_member",
        ROSTER_KEEPERS,
        lambda p: ("PUT", "/roster/people/m-b/committee", {"position": "member"}),
    ),
    Case(
        "remove_committee_member",
        ROSTER_KEEPERS,
        lambda p: ("DELETE", "/roster/people/sec-a2/committee", None),
    ),
    Case("import_roster", ROSTER_KEEPERS, lambda p: ("POST", "/roster/import", ROSTER_CSV)),
    Case(
        "adopt_plan",
        COMMITTEE,
        lambda p: ("PUT", f"/branches/b-a/plans/{YEAR}", {**PLAN, "title": "修订方案"}),
    ),
    Case("submit_need", EMPLOYEE, lambda p: ("POST", "/needs", p.need_body(2))),
    Case(
        "classify_need",
        COMMITTEE,
        lambda p: ("POST", f"/needs/{p.need_id()}/classification", {"area": "service"}),
    ),
    Case(
        "choose_area", OWNER, lambda p: ("PUT", f"/members/m-a/areas/{YEAR}", {"area": "service"})
    ),
    Case("declare_pledge", OWNER, lambda p: ("POST", "/pledges", p.declaration(2))),
    Case("withdraw_pledge", OWNER, lambda p: ("POST", _pledge("withdrawal")(p), {}), "declared"),
    Case(
        "request_revision",
        COMMITTEE,
        lambda p: ("POST", _pledge("revision-request")(p), {"reasons": ["请细化数量"]}),
        "declared",
    ),
    Case(
        "revise_pledge",
        OWNER,
        lambda p: (
            "POST",
            _pledge("revision")(p),
            {
                k: v
                for k, v in p.declaration().items()
                if k not in ("pledge_id", "member_id", "year")
            },
        ),
        "revision_requested",
    ),
    Case("approve_pledge", COMMITTEE, lambda p: ("POST", _pledge("approval")(p), None), "declared"),
    Case(
        "sign_agreement",
        COMMITTEE,
        lambda p: ("POST", _pledge("agreement")(p), AGREEMENT),
        "approved",
    ),
    Case(
        "publish_pledge",
        COMMITTEE,
        lambda p: ("POST", _pledge("publication")(p), PUBLICATION),
        "agreement_signed",
    ),
    Case(
        "record_ledger_entry",
        COMMITTEE,
        lambda p: ("POST", _pledge("ledger")(p), LEDGER),
        "published",
    ),
    Case(
        "correct_ledger_entry",
        COMMITTEE,
        lambda p: (
            "PUT",
            _pledge("ledger/2024-03")(p),
            {"assessment": "behind", "reason": "核实后更正"},
        ),
        "ledger",
    ),
    Case(
        "request_acceptance",
        OWNER,
        lambda p: ("POST", _pledge("acceptance-request")(p), {"summary": "已完成"}),
        "published",
    ),
    Case(
        "accept_pledge",
        COMMITTEE,
        lambda p: ("POST", _pledge("acceptance")(p), {}),
        "acceptance_requested",
    ),
    Case(
        "return_pledge",
        COMMITTEE,
        lambda p: ("POST", _pledge("return")(p), {"reasons": ["照明点未全部验收"]}),
        "acceptance_requested",
    ),
]


async def _bring_pledge_to(pledges: Pledges, step: str) -> None:
    if step == "revision_requested":
        await pledges.walk("declared")
        path = f"/pledges/{pledges.pledge_id()}/revision-request"
        await pledges.ok("POST", path, pledges.secretary, {"reasons": ["请细化"]})
    else:
        await pledges.walk(step)


async def _send(pledges: Pledges, token: str, method: str, path: str, body: Any) -> Any:
    if isinstance(body, str):
        headers = {"Content-Type": "text/csv"}
        return await pledges.call(method, path, token, content=body.encode(), headers=headers)
    return await pledges.call(method, path, token, body)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_each_command_is_allowed_only_to_its_role_in_its_branch(pledges: Pledges, case: Case):
    await pledges.prepare_year()
    if case.before is not None:
        await _bring_pledge_to(pledges, case.before)
    method, path, body = case.request(pledges)
    ordered = sorted(PRINCIPALS, key=lambda rs: rs in case.allowed)
    first_allowed = True
    for role, side in ordered:
        before = await pledges.count()
        response = await _send(pledges, role_token(role, side), method, path, body)
        who = f"{role.value} of branch {side}"
        if (role, side) not in case.allowed:
            assert response.status_code == 403, (who, response.text)
            assert response.json()["message"].startswith("只有"), response.text
            assert await pledges.count() == before, f"{who} was refused but an event was written"
        elif first_allowed:
            assert response.status_code in (200, 201), (who, response.text)
            first_allowed = False
        else:
            # A second allowed caller may find the work done (409), but is never refused.
            assert response.status_code != 403, (who, response.text)
