"""No one judges their own case: who may decide on a pledge (``access.judge_of_pledge``), as
a pure rule over the caller, the pledge and its member's place on the roster."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.pledges.domain import PledgeStatus
from services.pledges.handlers.access import judge_of_pledge
from shared.auth import Principal, Role
from shared.contracts.pledges import CommitteePosition
from shared.errors import Forbidden
from tests.unit.pledges.examples import BRANCH, MEMBER, OTHER_BRANCH, pledge_in

pytestmark = pytest.mark.unit

ACTION = "审核承诺（定诺）"
PLEDGE = pledge_in(PledgeStatus.DECLARED)
SECRETARY = replace(MEMBER, committee_position=CommitteePosition.SECRETARY)


def person(person_id: str, *roles: Role, branch: str | None = BRANCH) -> Principal:
    return Principal(person_id=person_id, name=person_id, roles=frozenset(roles), branch_id=branch)


OWNER_ON_COMMITTEE = person(MEMBER.person_id, Role.MEMBER, Role.BRANCH_COMMITTEE)
DEPUTY = person("P-1002", Role.MEMBER, Role.BRANCH_COMMITTEE)
ORG_ADMIN = person("admin", Role.ORG_ADMIN, branch=None)


def test_the_committee_decides_an_ordinary_members_pledge() -> None:
    assert judge_of_pledge(DEPUTY, PLEDGE, MEMBER, action=ACTION) is Role.BRANCH_COMMITTEE


def test_a_committee_member_cannot_decide_their_own_pledge() -> None:
    with pytest.raises(Forbidden) as refused:
        judge_of_pledge(OWNER_ON_COMMITTEE, PLEDGE, SECRETARY, action=ACTION)
    assert refused.value.message == (
        "不能审核承诺（定诺）：这是您本人的承诺，须由本支部另一名支委会成员或所属二级党委办理"
    )


def test_nor_when_the_roster_no_longer_shows_them_on_the_committee() -> None:
    with pytest.raises(Forbidden, match="本人的承诺"):
        judge_of_pledge(OWNER_ON_COMMITTEE, PLEDGE, MEMBER, action=ACTION)


def test_another_committee_member_decides_a_committee_members_pledge() -> None:
    assert judge_of_pledge(DEPUTY, PLEDGE, SECRETARY, action=ACTION) is Role.BRANCH_COMMITTEE


def test_the_organization_department_stands_in_for_the_unit_committee() -> None:
    assert judge_of_pledge(ORG_ADMIN, PLEDGE, SECRETARY, action=ACTION) is Role.ORG_ADMIN


UNIT_COMMITTEE = Principal(
    person_id="uc-1", name="uc-1", roles=frozenset({Role.UNIT_COMMITTEE}), unit_id="u-1"
)


def test_the_unit_committee_of_the_branchs_unit_decides_a_committee_members_pledge() -> None:
    decided = judge_of_pledge(UNIT_COMMITTEE, PLEDGE, SECRETARY, action=ACTION, unit_id="u-1")
    assert decided is Role.UNIT_COMMITTEE
    with pytest.raises(Forbidden, match="所属二级党委可以"):
        judge_of_pledge(UNIT_COMMITTEE, PLEDGE, SECRETARY, action=ACTION, unit_id="u-2")
    with pytest.raises(Forbidden, match="二级党委只办理支委会成员本人的承诺"):
        judge_of_pledge(UNIT_COMMITTEE, PLEDGE, MEMBER, action=ACTION, unit_id="u-1")


def test_the_organization_department_leaves_ordinary_pledges_to_the_branch() -> None:
    with pytest.raises(Forbidden) as refused:
        judge_of_pledge(ORG_ADMIN, PLEDGE, MEMBER, action=ACTION)
    assert refused.value.message == (
        "只有本支部的支委会成员可以审核承诺（定诺）；二级党委只办理支委会成员本人的承诺"
    )


@pytest.mark.parametrize(
    "caller",
    [
        person("P-1003", Role.MEMBER, Role.EMPLOYEE),
        person("P-9001", Role.MEMBER, Role.BRANCH_COMMITTEE, branch=OTHER_BRANCH),
        person("ops", Role.OPERATOR, branch=None),
    ],
    ids=["a member of the branch", "another branch's committee", "an operator"],
)
def test_nobody_else_decides_a_committee_members_pledge(caller: Principal) -> None:
    with pytest.raises(Forbidden) as refused:
        judge_of_pledge(caller, PLEDGE, SECRETARY, action=ACTION)
    assert refused.value.message == ("只有本支部另一名支委会成员或所属二级党委可以审核承诺（定诺）")


def test_an_ordinary_member_asking_to_approve_their_own_pledge_is_told_who_may() -> None:
    owner = person(MEMBER.person_id, Role.MEMBER, Role.EMPLOYEE)
    with pytest.raises(Forbidden) as refused:
        judge_of_pledge(owner, PLEDGE, MEMBER, action=ACTION)
    assert refused.value.message == "只有本支部的支委会成员可以审核承诺（定诺）"
