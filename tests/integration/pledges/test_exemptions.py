"""Exemptions (免于评议, DOMAIN.md section 5): who may record and revoke them, and the
refusals, each of which changes nothing."""

from __future__ import annotations

import pytest

from services.pledges.domain import person_stream
from shared.auth import Role
from shared.contracts.pledges import ExemptionReason, MemberExempted, MemberExemptionRevoked
from tests.integration.pledges.conftest import YEAR, Pledges, role_token, token

pytestmark = pytest.mark.integration

EXEMPTION = {"year": YEAR, "reason": "retired", "evidence": "退休审批表（2023年12月）"}


async def _exempt(pledges: Pledges, who: str, member: str = "m-a", **body: object):
    return await pledges.call(
        "POST", f"/roster/people/{member}/exemptions", who, {**EXEMPTION, **body}
    )


async def test_the_branch_committee_exempts_a_member_and_revokes_it(pledges: Pledges):
    await pledges.import_roster()
    before = len(await pledges.events(person_stream("m-a")))

    response = await _exempt(pledges, pledges.secretary)
    assert response.status_code == 200, response.text
    events = [e.event for e in await pledges.events(person_stream("m-a"))][before:]
    assert events == [
        MemberExempted(
            member_id="m-a",
            branch_id="b-a",
            year=YEAR,
            reason=ExemptionReason.RETIRED,
            reason_text=None,
            evidence="退休审批表（2023年12月）",
        )
    ]

    revoked = await pledges.call(
        "POST",
        f"/roster/people/m-a/exemptions/{YEAR}/revocation",
        pledges.deputy,
        {"reason": "登记有误，已返岗"},
    )
    assert revoked.status_code == 200, revoked.text
    last = (await pledges.events(person_stream("m-a")))[-1].event
    assert last == MemberExemptionRevoked(
        member_id="m-a", branch_id="b-a", year=YEAR, reason="登记有误，已返岗"
    )
    # Revoked, the member can be exempted again (another reason).
    again = await _exempt(pledges, pledges.secretary, reason="long_term_illness")
    assert again.status_code == 200, again.text


async def test_the_unit_committee_and_the_organization_department_may_exempt(pledges: Pledges):
    await pledges.import_roster()
    assert (await _exempt(pledges, pledges.unit_committee, member="m-b")).status_code == 200
    assert (await _exempt(pledges, pledges.admin, member="pm-a")).status_code == 200
    other_unit = token("uc-9", Role.UNIT_COMMITTEE, branch=None, unit="u-9")
    response = await _exempt(pledges, other_unit, member="m-a")
    assert response.status_code == 403
    assert "所属二级党委" in response.json()["message"]


@pytest.mark.parametrize(
    ("who", "member"),
    [
        (role_token(Role.BRANCH_COMMITTEE, "b"), "m-a"),  # another branch's committee
        (role_token(Role.MEMBER, "a"), "m-a"),  # the member themself
        (role_token(Role.EMPLOYEE, "a"), "m-a"),
        (role_token(Role.OPERATOR, "a"), "m-a"),
        (role_token(Role.MEMBER, "a"), "nobody"),  # refused before the roster is read
    ],
)
async def test_who_may_not_exempt_is_refused_and_nothing_changes(
    pledges: Pledges, who: str, member: str
):
    await pledges.import_roster()
    count = await pledges.count()
    response = await _exempt(pledges, who, member=member)
    assert response.status_code == 403
    assert response.json()["message"].startswith("只有")
    assert await pledges.count() == count


@pytest.mark.parametrize(
    ("member", "body", "status", "message"),
    [
        ("nobody", {}, 404, "人员“nobody”不在花名册上"),
        ("e-a", {}, 422, "赵磊是群众，不参加党员评议，无需免评"),
        (
            "m-a",
            {"year": YEAR - 2},
            422,
            "只能为2023年、2024年或2025年登记或撤销免评，不能办理2022年",
        ),
        (
            "m-a",
            {"year": YEAR + 2},
            422,
            "只能为2023年、2024年或2025年登记或撤销免评，不能办理2026年",
        ),
    ],
)
async def test_refusals_name_the_reason_and_change_nothing(
    pledges: Pledges, member: str, body: dict[str, object], status: int, message: str
):
    await pledges.import_roster()
    count = await pledges.count()
    response = await _exempt(pledges, pledges.admin, member=member, **body)
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert await pledges.count() == count


async def test_other_needs_words_and_evidence_is_required(pledges: Pledges):
    await pledges.import_roster()
    count = await pledges.count()
    response = await _exempt(pledges, pledges.secretary, reason="other")
    assert response.status_code == 422
    assert "免评原因为“其他”时须填写免评原因说明" in response.text
    response = await _exempt(pledges, pledges.secretary, evidence="  ")
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["evidence"]
    assert await pledges.count() == count
    ok = await _exempt(pledges, pledges.secretary, reason="other", reason_text="外派援建")
    assert ok.status_code == 200, ok.text


async def test_twice_is_a_conflict_and_revoking_none_is_not_found(pledges: Pledges):
    await pledges.import_roster()
    assert (await _exempt(pledges, pledges.secretary)).status_code == 200
    count = await pledges.count()

    twice = await _exempt(pledges, pledges.secretary, reason="mobile_member")
    assert (twice.status_code, twice.json()["message"]) == (
        409,
        "李秀英2024年度已登记免评，不能重复登记",
    )
    none = await pledges.call(
        "POST",
        f"/roster/people/m-a/exemptions/{YEAR + 1}/revocation",
        pledges.secretary,
        {"reason": "撤销"},
    )
    assert (none.status_code, none.json()["message"]) == (
        404,
        "李秀英2025年度没有免评登记，无法撤销",
    )
    assert await pledges.count() == count


async def test_a_member_who_left_before_the_year_cannot_be_exempted(pledges: Pledges):
    await pledges.import_roster()
    await pledges.ok(
        "POST", "/roster/people/m-b/departure", pledges.admin, {"departed_on": "2023-12-31"}
    )
    count = await pledges.count()
    response = await _exempt(pledges, pledges.admin, member="m-b")
    assert response.status_code == 409
    assert response.json()["message"] == "孙丽已于2023-12-31离开，2024年不在花名册上，无需免评"
    assert await pledges.count() == count
    # The year the member left is still one they were on the roster for.
    assert (await _exempt(pledges, pledges.admin, member="m-b", year=YEAR - 1)).status_code == 200
