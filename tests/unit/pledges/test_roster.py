"""The roster: units, branches, people; idempotent registration, transfers, departures,
branch committee membership."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from services.pledges.commands import (
    AppointCommitteeMember,
    RecordDeparture,
    RegisterBranch,
    RegisterPerson,
    RegisterUnit,
    RemoveCommitteeMember,
    TransferPerson,
)
from services.pledges.domain import (
    BranchState,
    PersonState,
    UnitState,
    decide_appoint_committee_member,
    decide_record_departure,
    decide_register_branch,
    decide_register_person,
    decide_register_unit,
    decide_remove_committee_member,
    decide_transfer_person,
    evolve_branch,
    evolve_person,
    evolve_unit,
    fold,
)
from shared.contracts.events import Event
from shared.contracts.pledges import (
    BranchRegistered,
    BranchRenamed,
    CommitteeMemberAppointed,
    CommitteeMemberRemoved,
    CommitteePosition,
    Membership,
    PersonDeparted,
    PersonRegistered,
    PersonTransferred,
    PersonUpdated,
    UnitRegistered,
    UnitRenamed,
)
from shared.errors import Conflict, NotFound

pytestmark = pytest.mark.unit

UNIT = UnitState(unit_id="U-GY", name="公用事业管理公司党委")
BRANCH = BranchState(branch_id="B-JB", unit_id="U-GY", name="江北排水站党支部")
OTHER_BRANCH = BranchState(branch_id="B-CS", unit_id="U-GY", name="供水站党支部")
WANG = RegisterPerson(
    person_id="P-1001",
    name="王景奎",
    branch_id="B-JB",
    membership=Membership.FULL_MEMBER,
    post="排污班班长",
)


def registered(command: RegisterPerson = WANG) -> PersonState:
    state = fold(evolve_person, decide_register_person(None, command, branch=BRANCH))
    assert state is not None
    return state


def secretary() -> PersonState:
    return replace(registered(), committee_position=CommitteePosition.SECRETARY)


# Units and branches


def test_registering_a_unit_records_it() -> None:
    events = decide_register_unit(None, RegisterUnit(unit_id="U-GY", name=UNIT.name))
    assert events == [UnitRegistered(unit_id="U-GY", name=UNIT.name)]
    assert fold(evolve_unit, events) == UNIT


def test_registering_a_known_unit_again_changes_nothing() -> None:
    assert decide_register_unit(UNIT, RegisterUnit(unit_id="U-GY", name=UNIT.name)) == []


def test_registering_a_unit_under_a_new_name_renames_it() -> None:
    events = decide_register_unit(UNIT, RegisterUnit(unit_id="U-GY", name="公用事业公司党委"))
    assert events == [UnitRenamed(unit_id="U-GY", name="公用事业公司党委")]
    assert evolve_unit(UNIT, events[0]).name == "公用事业公司党委"


def test_a_branch_is_registered_under_a_known_unit() -> None:
    command = RegisterBranch(branch_id="B-JB", unit_id="U-GY", name=BRANCH.name)
    events = decide_register_branch(None, command, unit=UNIT)
    assert events == [BranchRegistered(branch_id="B-JB", unit_id="U-GY", name=BRANCH.name)]
    assert fold(evolve_branch, events) == BRANCH


def test_a_branch_cannot_be_registered_under_an_unknown_unit() -> None:
    command = RegisterBranch(branch_id="B-JB", unit_id="U-XX", name=BRANCH.name)
    with pytest.raises(NotFound) as refused:
        decide_register_branch(None, command, unit=None)
    assert refused.value.message == "二级党委“U-XX”不存在，请先登记二级党委"


def test_registering_a_known_branch_again_changes_nothing() -> None:
    command = RegisterBranch(branch_id="B-JB", unit_id="U-GY", name=BRANCH.name)
    assert decide_register_branch(BRANCH, command, unit=UNIT) == []


def test_registering_a_branch_under_a_new_name_renames_it() -> None:
    command = RegisterBranch(branch_id="B-JB", unit_id="U-GY", name="江北排水站党总支")
    events = decide_register_branch(BRANCH, command, unit=UNIT)
    assert events == [BranchRenamed(branch_id="B-JB", name="江北排水站党总支")]
    assert evolve_branch(BRANCH, events[0]).name == "江北排水站党总支"


def test_a_branch_cannot_move_to_another_unit() -> None:
    other_unit = UnitState(unit_id="U-CY", name="采油厂党委")
    command = RegisterBranch(branch_id="B-JB", unit_id="U-CY", name=BRANCH.name)
    with pytest.raises(Conflict) as refused:
        decide_register_branch(BRANCH, command, unit=other_unit)
    assert refused.value.message == (
        "党支部“江北排水站党支部”已登记在二级党委“U-GY”下，不能改挂到其他二级党委"
    )


# People


def test_registering_a_person_records_every_attribute() -> None:
    events = decide_register_person(None, WANG, branch=BRANCH)
    assert events == [
        PersonRegistered(
            person_id="P-1001",
            name="王景奎",
            branch_id="B-JB",
            membership=Membership.FULL_MEMBER,
            post="排污班班长",
        )
    ]
    person = registered()
    assert person.is_party_member
    assert person.is_active


def test_a_person_cannot_be_registered_in_an_unknown_branch() -> None:
    with pytest.raises(NotFound) as refused:
        decide_register_person(None, WANG, branch=None)
    assert refused.value.message == "党支部“B-JB”不存在，请先登记党支部"


def test_importing_the_same_roster_twice_changes_nothing() -> None:
    lines = [
        WANG,
        RegisterPerson(person_id="P-2001", name="李娟", branch_id="B-JB", membership="non_member"),
        RegisterPerson(
            person_id="P-1002",
            name="张红",
            branch_id="B-JB",
            membership="probationary_member",
            post="化验员",
        ),
    ]
    people: dict[str, PersonState | None] = {}
    for line in lines:
        events = decide_register_person(None, line, branch=BRANCH)
        people[line.person_id] = fold(evolve_person, events)

    second_import: list[Event] = []
    for line in lines:
        second_import += decide_register_person(people[line.person_id], line, branch=BRANCH)
    assert second_import == []


def test_a_changed_roster_line_updates_the_person() -> None:
    promoted = WANG.model_copy(update={"post": "排水站站长"})
    events = decide_register_person(registered(), promoted, branch=BRANCH)
    assert events == [
        PersonUpdated(
            person_id="P-1001",
            name="王景奎",
            membership=Membership.FULL_MEMBER,
            post="排水站站长",
        )
    ]
    assert evolve_person(registered(), events[0]).post == "排水站站长"


def test_a_roster_line_in_another_branch_is_a_transfer() -> None:
    moved = WANG.model_copy(update={"branch_id": "B-CS"})
    events = decide_register_person(registered(), moved, branch=OTHER_BRANCH)
    assert events == [
        PersonTransferred(person_id="P-1001", from_branch_id="B-JB", to_branch_id="B-CS")
    ]


def test_a_committee_member_moved_by_the_roster_leaves_the_old_committee_first() -> None:
    moved = WANG.model_copy(update={"branch_id": "B-CS"})
    events = decide_register_person(secretary(), moved, branch=OTHER_BRANCH)
    assert events == [
        CommitteeMemberRemoved(person_id="P-1001", branch_id="B-JB"),
        PersonTransferred(person_id="P-1001", from_branch_id="B-JB", to_branch_id="B-CS"),
    ]


def test_a_committee_member_who_is_no_longer_a_full_member_leaves_the_committee() -> None:
    demoted = WANG.model_copy(update={"membership": Membership.NON_MEMBER})
    events = decide_register_person(secretary(), demoted, branch=BRANCH)
    assert [type(event) for event in events] == [CommitteeMemberRemoved, PersonUpdated]


def test_a_departed_person_cannot_be_registered_again() -> None:
    gone = replace(registered(), departed_on=date(2024, 6, 30))
    with pytest.raises(Conflict) as refused:
        decide_register_person(gone, WANG, branch=BRANCH)
    assert refused.value.message == "王景奎已于2024-06-30离开，不能再办理此事项"


# Transfers and departures


def test_a_person_is_transferred_to_another_branch() -> None:
    events = decide_transfer_person(
        registered(),
        TransferPerson(person_id="P-1001", to_branch_id="B-CS"),
        to_branch=OTHER_BRANCH,
    )
    assert events == [
        PersonTransferred(person_id="P-1001", from_branch_id="B-JB", to_branch_id="B-CS")
    ]
    assert evolve_person(registered(), events[0]).branch_id == "B-CS"


def test_a_transferred_committee_member_leaves_the_old_committee() -> None:
    events = decide_transfer_person(
        secretary(), TransferPerson(person_id="P-1001", to_branch_id="B-CS"), to_branch=OTHER_BRANCH
    )
    assert [type(event) for event in events] == [CommitteeMemberRemoved, PersonTransferred]
    state = secretary()
    for event in events:
        state = evolve_person(state, event)
    assert state.committee_position is None
    assert state.branch_id == "B-CS"


def test_a_person_cannot_be_transferred_to_their_own_branch() -> None:
    with pytest.raises(Conflict) as refused:
        decide_transfer_person(
            registered(), TransferPerson(person_id="P-1001", to_branch_id="B-JB"), to_branch=BRANCH
        )
    assert refused.value.message == "王景奎已在该党支部，无需调动"


def test_a_person_cannot_be_transferred_to_an_unknown_branch() -> None:
    with pytest.raises(NotFound) as refused:
        decide_transfer_person(
            registered(), TransferPerson(person_id="P-1001", to_branch_id="B-XX"), to_branch=None
        )
    assert refused.value.message == "党支部“B-XX”不存在，请先登记党支部"


def test_an_unknown_person_cannot_be_transferred() -> None:
    with pytest.raises(NotFound) as refused:
        decide_transfer_person(
            None, TransferPerson(person_id="P-9", to_branch_id="B-CS"), to_branch=OTHER_BRANCH
        )
    assert refused.value.message == "人员“P-9”不存在"


def test_a_departure_is_recorded_with_its_date_and_reason() -> None:
    command = RecordDeparture(person_id="P-1001", departed_on=date(2024, 6, 30), reason="退休")
    events = decide_record_departure(registered(), command)
    assert events == [
        PersonDeparted(
            person_id="P-1001", branch_id="B-JB", departed_on=date(2024, 6, 30), reason="退休"
        )
    ]
    assert not evolve_person(registered(), events[0]).is_active


def test_a_departing_committee_member_leaves_the_committee() -> None:
    command = RecordDeparture(person_id="P-1001", departed_on=date(2024, 6, 30))
    events = decide_record_departure(secretary(), command)
    assert [type(event) for event in events] == [CommitteeMemberRemoved, PersonDeparted]


def test_a_departure_cannot_be_recorded_twice() -> None:
    gone = replace(registered(), departed_on=date(2024, 6, 30))
    command = RecordDeparture(person_id="P-1001", departed_on=date(2024, 7, 1))
    with pytest.raises(Conflict) as refused:
        decide_record_departure(gone, command)
    assert refused.value.message == "王景奎已于2024-06-30离开，不能再办理此事项"


def test_a_departed_person_cannot_be_transferred() -> None:
    gone = replace(registered(), departed_on=date(2024, 6, 30))
    with pytest.raises(Conflict):
        decide_transfer_person(
            gone, TransferPerson(person_id="P-1001", to_branch_id="B-CS"), to_branch=OTHER_BRANCH
        )


# Branch committee (支委会)


def test_a_full_member_is_appointed_to_the_branch_committee() -> None:
    command = AppointCommitteeMember(person_id="P-1001", position=CommitteePosition.SECRETARY)
    events = decide_appoint_committee_member(registered(), command)
    assert events == [
        CommitteeMemberAppointed(
            person_id="P-1001", branch_id="B-JB", position=CommitteePosition.SECRETARY
        )
    ]
    position = evolve_person(registered(), events[0]).committee_position
    assert position is not None
    assert position.label == "支部书记"


def test_a_probationary_member_cannot_sit_on_the_committee() -> None:
    probationary = replace(registered(), membership=Membership.PROBATIONARY_MEMBER)
    command = AppointCommitteeMember(person_id="P-1001", position=CommitteePosition.MEMBER)
    with pytest.raises(Conflict) as refused:
        decide_appoint_committee_member(probationary, command)
    assert refused.value.message == "王景奎是预备党员，只有正式党员才能担任支部委员"


def test_an_employee_cannot_sit_on_the_committee() -> None:
    employee = replace(registered(), membership=Membership.NON_MEMBER)
    command = AppointCommitteeMember(person_id="P-1001", position=CommitteePosition.MEMBER)
    with pytest.raises(Conflict) as refused:
        decide_appoint_committee_member(employee, command)
    assert refused.value.message == "王景奎是群众，只有正式党员才能担任支部委员"


def test_appointing_to_the_position_already_held_changes_nothing() -> None:
    command = AppointCommitteeMember(person_id="P-1001", position=CommitteePosition.SECRETARY)
    assert decide_appoint_committee_member(secretary(), command) == []


def test_appointing_to_another_position_moves_the_committee_member() -> None:
    command = AppointCommitteeMember(person_id="P-1001", position=CommitteePosition.MEMBER)
    events = decide_appoint_committee_member(secretary(), command)
    assert events == [
        CommitteeMemberAppointed(
            person_id="P-1001", branch_id="B-JB", position=CommitteePosition.MEMBER
        )
    ]


def test_a_committee_member_is_removed() -> None:
    events = decide_remove_committee_member(secretary(), RemoveCommitteeMember(person_id="P-1001"))
    assert events == [CommitteeMemberRemoved(person_id="P-1001", branch_id="B-JB")]
    assert evolve_person(secretary(), events[0]).committee_position is None


def test_only_a_committee_member_can_be_removed_from_the_committee() -> None:
    with pytest.raises(Conflict) as refused:
        decide_remove_committee_member(registered(), RemoveCommitteeMember(person_id="P-1001"))
    assert refused.value.message == "王景奎不是支部委员"


def test_applying_a_roster_event_to_the_wrong_state_is_a_bug() -> None:
    with pytest.raises(TypeError):
        evolve_person(None, CommitteeMemberRemoved(person_id="P-1001", branch_id="B-JB"))
    with pytest.raises(TypeError):
        evolve_unit(UNIT, UnitRegistered(unit_id="U-GY", name="again"))
