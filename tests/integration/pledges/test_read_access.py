"""Who reads which pledges (issue 14): the staff of a branch read its published pledges and
their own; its committee and the organization department read all of them; another
branch's staff read only the public board; nobody reads without a token. A pledge one may
not read is answered as unknown, or left out of a list."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.auth import Role
from tests.integration.pledges.conftest import (
    AGREEMENT,
    PUBLICATION,
    YEAR,
    Pledges,
    role_token,
    token,
)

pytestmark = pytest.mark.integration

PUBLIC_GETS = {
    "/public/branches",
    "/public/branches/{branch_id}/pledges",
    "/health/live",
    "/health/ready",
    "/metrics",
}
EMPLOYEE = Pledges.employee
FELLOW_MEMBER = token("pm-a", Role.MEMBER, Role.EMPLOYEE)


@dataclass(frozen=True)
class Branch:
    """Member m-a's pledges in four states: public (sent back for revision once, then
    approved, published, and returned at acceptance), declared, sent back for revision,
    withdrawn."""

    public: str
    declared: str
    revision_requested: str
    withdrawn: str

    @property
    def all(self) -> set[str]:
        return {self.public, self.declared, self.revision_requested, self.withdrawn}


async def four_pledges(pledges: Pledges) -> Branch:
    await pledges.prepare_year()
    public = await pledges.walk("declared", 1)
    path = f"/pledges/{public}"
    await pledges.ok("POST", f"{path}/revision-request", pledges.secretary, {"reasons": ["细化"]})
    terms = {
        k: v
        for k, v in pledges.declaration(1).items()
        if k not in ("pledge_id", "member_id", "year")
    }
    await pledges.ok("POST", f"{path}/revision", pledges.member, terms)
    for suffix, who, body in [
        ("approval", pledges.secretary, None),
        ("agreement", pledges.secretary, AGREEMENT),
        ("publication", pledges.secretary, PUBLICATION),
        ("acceptance-request", pledges.member, {"summary": "已安装"}),
        ("return", pledges.secretary, {"reasons": ["尚未验收"]}),
    ]:
        await pledges.ok("POST", f"{path}/{suffix}", who, body)
    declared = await pledges.walk("declared", 2)
    sent_back = await pledges.walk("declared", 3)
    await pledges.ok(
        "POST", f"/pledges/{sent_back}/revision-request", pledges.secretary, {"reasons": ["换需求"]}
    )
    withdrawn = await pledges.walk("declared", 4)
    await pledges.ok("POST", f"/pledges/{withdrawn}/withdrawal", pledges.member, {"reason": "调岗"})
    return Branch(public, declared, sent_back, withdrawn)


async def listed(pledges: Pledges, path: str, who: str) -> set[str]:
    return {p["pledge_id"] for p in await pledges.ok("GET", path, who)}


@pytest.mark.parametrize("reader", [EMPLOYEE, FELLOW_MEMBER], ids=["employee", "member"])
async def test_branch_staff_read_only_the_published_pledges_of_others(
    pledges: Pledges, reader: str
) -> None:
    branch = await four_pledges(pledges)

    shown = await pledges.ok("GET", f"/pledges/{branch.public}", reader)
    assert (shown["status"], shown["item"]) == ("returned", "夜班巡检照明改造")
    # The committee's notes are for the member: the board shows the status, not the reasons.
    assert (shown["revision_reasons"], shown["return_reasons"]) == (None, None)
    for hidden in (branch.declared, branch.revision_requested, branch.withdrawn):
        response = await pledges.call("GET", f"/pledges/{hidden}", reader)
        assert response.status_code == 404, hidden
        assert response.json()["message"] == f"承诺“{hidden}”不存在"

    assert await listed(pledges, "/members/m-a/pledges", reader) == {branch.public}
    assert await listed(pledges, f"/branches/b-a/pledges?year={YEAR}", reader) == {branch.public}
    needs = await pledges.ok("GET", f"/branches/b-a/needs?year={YEAR}", reader)
    assert [p["pledge_id"] for n in needs for p in n["pledges"]] == [branch.public]
    ledger = await pledges.ok("GET", "/branches/b-a/ledger?month=2024-03", reader)
    assert [row["pledge_id"] for row in ledger["rows"]] == [branch.public]
    late = await pledges.ok("GET", "/branches/b-a/pledges/overdue?on=2024-10-08", reader)
    assert [o["pledge"]["pledge_id"] for o in late] == [branch.public]
    assert late[0]["pledge"]["return_reasons"] is None


async def test_a_member_reads_their_own_pledges_in_every_state(pledges: Pledges) -> None:
    branch = await four_pledges(pledges)

    assert await listed(pledges, "/members/m-a/pledges", pledges.member) == branch.all
    assert await listed(pledges, "/branches/b-a/pledges", pledges.member) == branch.all
    sent_back = await pledges.ok("GET", f"/pledges/{branch.revision_requested}", pledges.member)
    assert sent_back["revision_reasons"] == ["换需求"]
    withdrawn = await pledges.ok("GET", f"/pledges/{branch.withdrawn}", pledges.member)
    assert withdrawn["withdrawal_reason"] == "调岗"
    public = await pledges.ok("GET", f"/pledges/{branch.public}", pledges.member)
    assert (public["revision_reasons"], public["return_reasons"]) == (["细化"], ["尚未验收"])


@pytest.mark.parametrize("reader", ["secretary", "admin"])
async def test_the_committee_and_the_organization_department_read_every_pledge(
    pledges: Pledges, reader: str
) -> None:
    branch = await four_pledges(pledges)
    who = getattr(pledges, reader)

    assert await listed(pledges, "/members/m-a/pledges", who) == branch.all
    assert await listed(pledges, "/branches/b-a/pledges", who) == branch.all
    for pid in branch.all:
        await pledges.ok("GET", f"/pledges/{pid}", who)
    shown = await pledges.ok("GET", f"/pledges/{branch.public}", who)
    assert (shown["revision_reasons"], shown["return_reasons"]) == (["细化"], ["尚未验收"])
    needs = await pledges.ok("GET", f"/branches/b-a/needs?year={YEAR}", who)
    linked = {p["pledge_id"] for n in needs for p in n["pledges"]}
    assert linked == branch.all - {branch.withdrawn}  # a withdrawal unlinks the need


@pytest.mark.parametrize(
    "outsider",
    [role_token(Role.EMPLOYEE, "b"), role_token(Role.MEMBER, "b"), role_token(Role.OPERATOR, "b")],
    ids=["employee of another branch", "member of another branch", "operator"],
)
async def test_outside_the_branch_only_the_public_board_shows_its_pledges(
    pledges: Pledges, outsider: str
) -> None:
    branch = await four_pledges(pledges)

    for pid in branch.all:
        response = await pledges.call("GET", f"/pledges/{pid}", outsider)
        assert response.status_code == 404, (pid, response.text)
    assert await pledges.ok("GET", "/members/m-a/pledges", outsider) == []
    for path in (
        "/branches/b-a/pledges",
        "/branches/b-a/ledger?month=2024-03",
        f"/branches/b-a/needs?year={YEAR}",
        "/branches/b-a/pledges/overdue",
    ):
        response = await pledges.call("GET", path, outsider)
        assert (response.status_code, response.json()["message"]) == (
            403,
            "只能查看本支部的记录",
        ), path
    board = await pledges.ok("GET", "/public/branches/b-a/pledges", outsider)
    assert [p["pledge_id"] for p in board] == [branch.public]


async def test_every_read_but_the_public_board_and_health_needs_a_token(pledges: Pledges) -> None:
    branch = await four_pledges(pledges)
    spec = (await pledges.http.get("/openapi.json")).json()
    reads = [path for path, methods in spec["paths"].items() if "get" in methods]
    assert {path for path in reads if not spec["paths"][path]["get"].get("security")} == (
        PUBLIC_GETS
    )
    values = {
        "{pledge_id}": branch.public,
        "{person_id}": "m-a",
        "{branch_id}": "b-a",
    }
    query = {"month": "2024-03", "year": str(YEAR)}
    for path in reads:
        url = path
        for name, value in values.items():
            url = url.replace(name, value)
        response = await pledges.http.get(url, params=query)
        if path in PUBLIC_GETS:
            assert response.status_code == 200, (path, response.text)
        else:
            assert (response.status_code, response.json()["message"]) == (401, "请先登录"), path
