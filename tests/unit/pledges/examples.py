"""Plain example data for the pledges domain tests: a branch, its people, and pledges walked
to a given status through the real decisions (so a test never builds an impossible state)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from services.pledges.commands import (
    AcceptPledge,
    ApprovePledge,
    DeclarePledge,
    PublishPledge,
    RequestAcceptance,
    RequestRevision,
    ReturnPledge,
    SignAgreement,
    WithdrawPledge,
)
from services.pledges.domain import (
    MemberYearState,
    NeedState,
    PersonState,
    PledgeState,
    PledgeStatus,
    decide_accept_pledge,
    decide_approve_pledge,
    decide_declare_pledge,
    decide_publish_pledge,
    decide_request_acceptance,
    decide_request_revision,
    decide_return_pledge,
    decide_sign_agreement,
    decide_withdraw_pledge,
    evolve_pledge,
)
from shared.contracts.events import Event
from shared.contracts.pledges import Membership, PublicationChannel, ResponsibilityArea

YEAR = 2024
TODAY = date(2024, 3, 15)
BRANCH = "B-JB-01"
OTHER_BRANCH = "B-JB-02"

MEMBER = PersonState(
    person_id="P-1001",
    name="王景奎",
    branch_id=BRANCH,
    membership=Membership.FULL_MEMBER,
    post="排污班班长",
)
EMPLOYEE = PersonState(
    person_id="P-2001",
    name="李娟",
    branch_id=BRANCH,
    membership=Membership.NON_MEMBER,
    post="排污工",
)
STRANGER = PersonState(
    person_id="P-3001",
    name="赵强",
    branch_id=OTHER_BRANCH,
    membership=Membership.NON_MEMBER,
    post="采油工",
)
MEMBER_YEAR = MemberYearState(
    person_id=MEMBER.person_id, year=YEAR, area=ResponsibilityArea.HARDSHIP
)
NEED = NeedState(
    need_id="N-1",
    branch_id=BRANCH,
    year=YEAR,
    employee_id=EMPLOYEE.person_id,
    problem="家中老人长期卧床，下班后无人照料",
    suggested_area=ResponsibilityArea.HARDSHIP,
    area=ResponsibilityArea.HARDSHIP,
)


def declare(**changes: Any) -> DeclarePledge:
    fields: dict[str, Any] = {
        "pledge_id": "PL-1",
        "member_id": MEMBER.person_id,
        "year": YEAR,
        "area": ResponsibilityArea.HARDSHIP,
        "item": "帮扶困难职工家庭",
        "content": "每周两次上门帮助照料卧床老人",
        "quantity": "每周2次，全年不少于80次",
        "quality_standard": "老人得到按时照料，家属满意",
        "due_date": date(2024, 12, 20),
        "need_ids": (NEED.need_id,),
        "paired_employee_id": EMPLOYEE.person_id,
    }
    fields.update(changes)
    return DeclarePledge(**fields)


def declared_events(command: DeclarePledge | None = None) -> list[Event]:
    command = command or declare()
    return decide_declare_pledge(
        None,
        command,
        member=MEMBER,
        member_year=MEMBER_YEAR,
        needs=[NEED],
        paired_employee=EMPLOYEE if command.paired_employee_id else None,
        today=TODAY,
    )


AGREEMENT = SignAgreement(
    pledge_id="PL-1",
    signed_on=date(2024, 3, 1),
    problem="老人下班后无人照料",
    q1="联系社区，排定照料时间",
    q2="每周两次上门照料",
    q3="每周两次上门照料",
    q4="总结照料情况，帮助申请护理补助",
    final_goal="老人得到稳定照料，李娟安心工作",
)
PUBLISH = PublishPledge(
    pledge_id="PL-1",
    channels=(PublicationChannel.STAFF_MEETING, PublicationChannel.NOTICE_BOARD),
    published_on=date(2024, 3, 5),
)


def apply(state: PledgeState | None, events: list[Event]) -> PledgeState:
    for event in events:
        state = evolve_pledge(state, event)
    assert state is not None
    return state


def _approve(state: PledgeState) -> list[Event]:
    return decide_approve_pledge(state, ApprovePledge(pledge_id="PL-1"), member_year=MEMBER_YEAR)


def _sign(state: PledgeState) -> list[Event]:
    return decide_sign_agreement(state, AGREEMENT, today=TODAY)


def _publish(state: PledgeState) -> list[Event]:
    return decide_publish_pledge(state, PUBLISH, today=TODAY)


def _request_acceptance(state: PledgeState) -> list[Event]:
    command = RequestAcceptance(pledge_id="PL-1", summary="全年照料任务完成")
    return decide_request_acceptance(state, command, today=TODAY)


def _return(state: PledgeState) -> list[Event]:
    return decide_return_pledge(state, ReturnPledge(pledge_id="PL-1", reasons=("缺少家属评价",)))


def _accept(state: PledgeState) -> list[Event]:
    return decide_accept_pledge(state, AcceptPledge(pledge_id="PL-1"), today=TODAY)


_PATH: list[tuple[PledgeStatus, Callable[[PledgeState], list[Event]]]] = [
    (PledgeStatus.APPROVED, _approve),
    (PledgeStatus.AGREEMENT_SIGNED, _sign),
    (PledgeStatus.PUBLISHED, _publish),
    (PledgeStatus.ACCEPTANCE_REQUESTED, _request_acceptance),
    (PledgeStatus.RETURNED, _return),
    (PledgeStatus.ACCEPTED, _accept),
]


def pledge_in(status: PledgeStatus, *, paired: bool = True) -> PledgeState:
    """A pledge walked through the real decisions until it reaches ``status``."""
    state = apply(None, declared_events(declare(paired_employee_id=None) if not paired else None))
    if status is PledgeStatus.REVISION_REQUESTED:
        command = RequestRevision(pledge_id="PL-1", reasons=("数量不够具体",))
        return apply(state, decide_request_revision(state, command))
    if status is PledgeStatus.WITHDRAWN:
        return apply(state, decide_withdraw_pledge(state, WithdrawPledge(pledge_id="PL-1")))
    for reached, step in _PATH:
        if state.status is status:
            break
        if (reached is PledgeStatus.AGREEMENT_SIGNED and not paired) or (
            reached is PledgeStatus.RETURNED and status is not PledgeStatus.RETURNED
        ):
            continue
        state = apply(state, step(state))
    assert state.status is status
    return state
