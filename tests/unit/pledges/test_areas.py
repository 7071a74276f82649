"""A member's responsibility area for the year: one of seven, changeable until the first
pledge of the year is approved."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.pledges.commands import ApprovePledge, ChooseArea
from services.pledges.domain import (
    MemberYearState,
    PledgeStatus,
    decide_approve_pledge,
    decide_choose_area,
    decide_lock_area,
    evolve_member_year,
    fold,
)
from shared.contracts.pledges import (
    PledgeApproved,
    ResponsibilityArea,
    ResponsibilityAreaChanged,
    ResponsibilityAreaChosen,
    ResponsibilityAreaLocked,
)
from shared.errors import Conflict, InvalidInput, NotFound
from tests.unit.pledges.examples import EMPLOYEE, MEMBER, MEMBER_YEAR, YEAR, pledge_in

pytestmark = pytest.mark.unit

CHOOSE_SAFETY = ChooseArea(person_id=MEMBER.person_id, year=YEAR, area=ResponsibilityArea.SAFETY)
APPROVED = PledgeApproved(
    pledge_id="PL-1", member_id=MEMBER.person_id, year=YEAR, area=ResponsibilityArea.HARDSHIP
)


def locked() -> MemberYearState:
    return replace(MEMBER_YEAR, locked_by="PL-1")


def test_the_seven_areas_carry_their_chinese_names() -> None:
    assert [area.label for area in ResponsibilityArea] == [
        "思想政治",
        "生产建设",
        "经营管理",
        "安全环保",
        "扶贫帮困",
        "服务员工群众",
        "稳定工作",
    ]


def test_a_member_chooses_one_area_for_the_year() -> None:
    events = decide_choose_area(None, CHOOSE_SAFETY, member=MEMBER)
    assert events == [
        ResponsibilityAreaChosen(
            person_id=MEMBER.person_id, year=YEAR, area=ResponsibilityArea.SAFETY
        )
    ]
    state = fold(evolve_member_year, events)
    assert state is not None
    assert state.area is ResponsibilityArea.SAFETY
    assert not state.is_locked


def test_choosing_the_area_already_chosen_changes_nothing() -> None:
    same = CHOOSE_SAFETY.model_copy(update={"area": MEMBER_YEAR.area})
    assert decide_choose_area(MEMBER_YEAR, same, member=MEMBER) == []
    assert decide_choose_area(locked(), same, member=MEMBER) == []


def test_the_area_can_change_before_the_first_pledge_is_approved() -> None:
    events = decide_choose_area(MEMBER_YEAR, CHOOSE_SAFETY, member=MEMBER)
    assert events == [
        ResponsibilityAreaChanged(
            person_id=MEMBER.person_id,
            year=YEAR,
            previous_area=ResponsibilityArea.HARDSHIP,
            area=ResponsibilityArea.SAFETY,
        )
    ]
    assert evolve_member_year(MEMBER_YEAR, events[0]).area is ResponsibilityArea.SAFETY


def test_the_area_cannot_change_after_the_first_pledge_is_approved() -> None:
    with pytest.raises(Conflict) as refused:
        decide_choose_area(locked(), CHOOSE_SAFETY, member=MEMBER)
    assert refused.value.message == "2024年度已有承诺通过定诺，责任区“扶贫帮困”不能再更改"


def test_the_first_approved_pledge_locks_the_area() -> None:
    events = decide_lock_area(MEMBER_YEAR, APPROVED)
    assert events == [
        ResponsibilityAreaLocked(person_id=MEMBER.person_id, year=YEAR, pledge_id="PL-1")
    ]
    state = evolve_member_year(MEMBER_YEAR, events[0])
    assert state.is_locked
    assert state.locked_by == "PL-1"


def test_later_approvals_leave_the_lock_as_it_is() -> None:
    second = APPROVED.model_copy(update={"pledge_id": "PL-2"})
    assert decide_lock_area(locked(), second) == []


def test_an_approval_without_a_chosen_area_cannot_lock_it() -> None:
    with pytest.raises(Conflict) as refused:
        decide_lock_area(None, APPROVED)
    assert refused.value.message == "党员2024年度尚未选择责任区"


def test_only_party_members_choose_an_area() -> None:
    command = CHOOSE_SAFETY.model_copy(update={"person_id": EMPLOYEE.person_id})
    with pytest.raises(InvalidInput) as refused:
        decide_choose_area(None, command, member=EMPLOYEE)
    assert refused.value.message == "李娟不是党员，不需要选择党员责任区"


def test_a_departed_member_cannot_choose_an_area() -> None:
    gone = replace(MEMBER, departed_on=date(2024, 2, 1))
    with pytest.raises(Conflict) as refused:
        decide_choose_area(None, CHOOSE_SAFETY, member=gone)
    assert refused.value.message == "王景奎已离开，不能再选择责任区"


def test_an_unknown_member_cannot_choose_an_area() -> None:
    with pytest.raises(NotFound) as refused:
        decide_choose_area(None, CHOOSE_SAFETY, member=None)
    assert refused.value.message == "党员“P-1001”不存在"


def test_an_area_change_is_refused_once_the_handler_feeds_in_the_first_approval() -> None:
    pledge = pledge_in(PledgeStatus.DECLARED)
    approval = decide_approve_pledge(
        pledge, ApprovePledge(pledge_id="PL-1"), member_year=MEMBER_YEAR
    )
    assert isinstance(approval[0], PledgeApproved)
    member_year = MEMBER_YEAR
    for event in decide_lock_area(member_year, approval[0]):
        member_year = evolve_member_year(member_year, event)
    with pytest.raises(Conflict):
        decide_choose_area(member_year, CHOOSE_SAFETY, member=MEMBER)
