"""Declare, revise, approve (定诺), sign, publish, withdraw; and the whole six-step path."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from services.pledges.commands import (
    AcceptPledge,
    ApprovePledge,
    CorrectLedgerEntry,
    DeclarePledge,
    RecordLedgerEntry,
    RequestAcceptance,
    RequestRevision,
    ReturnPledge,
    RevisePledge,
    WithdrawPledge,
)
from services.pledges.domain import (
    PledgeState,
    PledgeStatus,
    decide_accept_pledge,
    decide_approve_pledge,
    decide_correct_ledger_entry,
    decide_declare_pledge,
    decide_publish_pledge,
    decide_record_ledger_entry,
    decide_request_acceptance,
    decide_request_revision,
    decide_return_pledge,
    decide_revise_pledge,
    decide_sign_agreement,
    decide_withdraw_pledge,
    evolve_pledge,
)
from shared.contracts.events import Event
from shared.contracts.pledges import (
    LedgerAssessment,
    LedgerEntryCorrected,
    LedgerEntryRecorded,
    PairingAgreementSigned,
    PledgeAcceptanceRequested,
    PledgeAccepted,
    PledgeApproved,
    PledgeDeclared,
    PledgePublished,
    PledgeReturned,
    PledgeRevised,
    PledgeRevisionRequested,
    PledgeWithdrawn,
    PublicationChannel,
    QuarterlyWork,
    ResponsibilityArea,
)
from shared.errors import Conflict, InvalidInput, NotFound
from tests.unit.pledges.examples import (
    AGREEMENT,
    BRANCH,
    EMPLOYEE,
    MEMBER,
    MEMBER_YEAR,
    NEED,
    PUBLISH,
    STRANGER,
    TODAY,
    YEAR,
    apply,
    declare,
    declared_events,
    pledge_in,
)

pytestmark = pytest.mark.unit


def revise(**changes: Any) -> RevisePledge:
    fields = declare().model_dump(exclude={"member_id", "year"})
    fields.update(changes)
    return RevisePledge(**fields)


def decide_declare(command: DeclarePledge | None = None, **facts: Any) -> list[Event]:
    arguments: dict[str, Any] = {
        "member": MEMBER,
        "member_year": MEMBER_YEAR,
        "needs": [NEED],
        "paired_employee": EMPLOYEE,
        "today": TODAY,
    }
    arguments.update(facts)
    return decide_declare_pledge(None, command or declare(), **arguments)


# Declare


def test_declaring_a_pledge_records_every_declared_term() -> None:
    assert declared_events() == [
        PledgeDeclared(
            pledge_id="PL-1",
            member_id=MEMBER.person_id,
            branch_id=BRANCH,
            year=YEAR,
            area=ResponsibilityArea.HARDSHIP,
            item="帮扶困难职工家庭",
            content="每周两次上门帮助照料卧床老人",
            quantity="每周2次，全年不少于80次",
            quality_standard="老人得到按时照料，家属满意",
            due_date=date(2024, 12, 20),
            need_ids=("N-1",),
            paired_employee_id=EMPLOYEE.person_id,
        )
    ]
    assert pledge_in(PledgeStatus.DECLARED).status.label == "已申报"


def test_a_pledge_without_needs_or_pairing_may_be_declared() -> None:
    events = decide_declare(declare(need_ids=(), paired_employee_id=None), needs=[])
    assert isinstance(events[0], PledgeDeclared)
    assert events[0].need_ids == ()
    assert events[0].paired_employee_id is None


def test_a_pledge_id_cannot_be_declared_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_declare_pledge(
            pledge_in(PledgeStatus.DECLARED),
            declare(),
            member=MEMBER,
            member_year=MEMBER_YEAR,
            needs=[NEED],
            paired_employee=EMPLOYEE,
            today=TODAY,
        )
    assert refused.value.message == "承诺编号“PL-1”已存在"


def test_a_member_must_choose_an_area_before_declaring() -> None:
    with pytest.raises(Conflict) as refused:
        decide_declare(member_year=None)
    assert refused.value.message == "请先选择2024年度的党员责任区，再申报承诺"


def test_a_member_declares_only_in_the_area_chosen_for_the_year() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(declare(area=ResponsibilityArea.SAFETY))
    assert refused.value.message == "承诺须在本人2024年度的责任区“扶贫帮困”内申报"


def test_a_non_member_cannot_declare_a_pledge() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(member=EMPLOYEE)
    assert refused.value.message == "李娟不是党员，不能申报党员承诺"


def test_an_unknown_member_cannot_declare() -> None:
    with pytest.raises(NotFound) as refused:
        decide_declare(member=None)
    assert refused.value.message == "党员“P-1001”不存在"


def test_a_departed_member_cannot_declare() -> None:
    with pytest.raises(Conflict) as refused:
        decide_declare(member=replace(MEMBER, departed_on=date(2024, 2, 1)))
    assert refused.value.message == "王景奎已离开，不能再申报承诺"


def test_the_due_date_must_fall_within_the_pledge_year() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(declare(due_date=date(2025, 1, 10)))
    assert refused.value.message == "完成时间须在2024年内"


def test_the_due_date_cannot_be_in_the_past() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(declare(due_date=date(2024, 3, 1)))
    assert refused.value.message == "完成时间不能早于今天"


def test_a_pledge_cannot_answer_an_unknown_need() -> None:
    with pytest.raises(NotFound) as refused:
        decide_declare(needs=[])
    assert refused.value.message == "需求“N-1”不存在"


def test_a_pledge_cannot_answer_another_branch_need() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(needs=[replace(NEED, branch_id="B-OTHER")])
    assert refused.value.message == "需求“N-1”不属于本党支部"


def test_a_pledge_cannot_answer_another_year_need() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(needs=[replace(NEED, year=2023)])
    assert refused.value.message == "需求“N-1”不是2024年度的需求"


def test_a_pledge_cannot_answer_a_need_not_yet_classified() -> None:
    with pytest.raises(Conflict) as refused:
        decide_declare(needs=[replace(NEED, area=None)])
    assert refused.value.message == "需求“N-1”尚未分类，党支部分类汇总后才能据此申报承诺"


def test_a_pledge_cannot_answer_a_solved_need() -> None:
    solved = replace(NEED, solved_by="PL-0", solved_on=date(2024, 2, 1))
    with pytest.raises(Conflict) as refused:
        decide_declare(needs=[solved])
    assert refused.value.message == "需求“N-1”已解决，请选择其他需求"


def test_a_member_cannot_pair_with_themselves() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(declare(paired_employee_id=MEMBER.person_id), paired_employee=MEMBER)
    assert refused.value.message == "不能与本人结对"


def test_the_paired_employee_must_be_of_the_same_branch() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_declare(declare(paired_employee_id=STRANGER.person_id), paired_employee=STRANGER)
    assert refused.value.message == "结对员工须与党员同属一个党支部，赵强不属于本党支部"


def test_the_paired_employee_must_exist() -> None:
    with pytest.raises(NotFound) as refused:
        decide_declare(paired_employee=None)
    assert refused.value.message == "结对员工“P-2001”不存在"


def test_a_departed_employee_cannot_be_paired() -> None:
    with pytest.raises(Conflict) as refused:
        decide_declare(paired_employee=replace(EMPLOYEE, departed_on=date(2024, 1, 31)))
    assert refused.value.message == "李娟已离开，不能结对"


def test_a_member_may_pair_with_another_member_of_the_branch() -> None:
    colleague = replace(MEMBER, person_id="P-1002", name="张红")
    events = decide_declare(declare(paired_employee_id="P-1002"), paired_employee=colleague)
    assert isinstance(events[0], PledgeDeclared)


# Revision


def test_the_committee_can_send_a_declared_pledge_back_with_reasons() -> None:
    state = pledge_in(PledgeStatus.DECLARED)
    command = RequestRevision(pledge_id="PL-1", reasons=("数量不够具体", "缺少质量标准"))
    events = decide_request_revision(state, command)
    assert events == [
        PledgeRevisionRequested(pledge_id="PL-1", reasons=("数量不够具体", "缺少质量标准"))
    ]
    assert apply(state, events).status.label == "退回修改"


def test_a_pledge_sent_back_cannot_be_sent_back_again() -> None:
    with pytest.raises(Conflict) as refused:
        decide_request_revision(
            pledge_in(PledgeStatus.REVISION_REQUESTED),
            RequestRevision(pledge_id="PL-1", reasons=("再改",)),
        )
    assert refused.value.message == "承诺已退回修改，正等待党员修改后重新申报"


def test_an_approved_pledge_cannot_be_sent_back_for_revision() -> None:
    with pytest.raises(Conflict) as refused:
        decide_request_revision(
            pledge_in(PledgeStatus.APPROVED), RequestRevision(pledge_id="PL-1", reasons=("改",))
        )
    assert refused.value.message == "承诺当前状态为“已定诺”，不能退回修改"


def test_revising_redeclares_the_pledge_with_its_new_terms() -> None:
    state = pledge_in(PledgeStatus.REVISION_REQUESTED)
    events = decide_revise_pledge(
        state,
        revise(quantity="每周3次，全年不少于120次"),
        member_year=MEMBER_YEAR,
        needs=[NEED],
        paired_employee=EMPLOYEE,
        today=TODAY,
    )
    assert len(events) == 1
    assert isinstance(events[0], PledgeRevised)
    assert events[0].quantity == "每周3次，全年不少于120次"
    revised = apply(state, events)
    assert revised.status is PledgeStatus.DECLARED
    assert revised.terms.quantity == "每周3次，全年不少于120次"


def test_a_pledge_not_sent_back_cannot_be_revised() -> None:
    with pytest.raises(Conflict) as refused:
        decide_revise_pledge(
            pledge_in(PledgeStatus.DECLARED),
            revise(),
            member_year=MEMBER_YEAR,
            needs=[NEED],
            paired_employee=EMPLOYEE,
            today=TODAY,
        )
    assert refused.value.message == "承诺正在等待党支部审核，只有被退回修改后才能修改"


def test_a_revision_follows_the_same_rules_as_a_declaration() -> None:
    with pytest.raises(InvalidInput) as refused:
        decide_revise_pledge(
            pledge_in(PledgeStatus.REVISION_REQUESTED),
            revise(due_date=date(2025, 6, 1)),
            member_year=MEMBER_YEAR,
            needs=[NEED],
            paired_employee=EMPLOYEE,
            today=TODAY,
        )
    assert refused.value.message == "完成时间须在2024年内"


# Approval (定诺)


def test_the_committee_approves_a_declared_pledge() -> None:
    state = pledge_in(PledgeStatus.DECLARED)
    events = decide_approve_pledge(state, ApprovePledge(pledge_id="PL-1"), member_year=MEMBER_YEAR)
    assert events == [
        PledgeApproved(
            pledge_id="PL-1",
            member_id=MEMBER.person_id,
            year=YEAR,
            area=ResponsibilityArea.HARDSHIP,
        )
    ]
    assert apply(state, events).status.label == "已定诺"


def test_a_pledge_sent_back_cannot_be_approved_before_it_is_revised() -> None:
    with pytest.raises(Conflict) as refused:
        decide_approve_pledge(
            pledge_in(PledgeStatus.REVISION_REQUESTED),
            ApprovePledge(pledge_id="PL-1"),
            member_year=MEMBER_YEAR,
        )
    assert refused.value.message == "承诺已退回修改，须党员修改后重新申报才能定诺"


def test_a_pledge_cannot_be_approved_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_approve_pledge(
            pledge_in(PledgeStatus.APPROVED),
            ApprovePledge(pledge_id="PL-1"),
            member_year=MEMBER_YEAR,
        )
    assert refused.value.message == "承诺当前状态为“已定诺”，不能定诺"


def test_a_pledge_outside_the_member_current_area_cannot_be_approved() -> None:
    moved = replace(MEMBER_YEAR, area=ResponsibilityArea.SAFETY)
    with pytest.raises(Conflict) as refused:
        decide_approve_pledge(
            pledge_in(PledgeStatus.DECLARED), ApprovePledge(pledge_id="PL-1"), member_year=moved
        )
    assert refused.value.message == (
        "承诺的责任区“扶贫帮困”与党员2024年度责任区“安全环保”不一致，请退回修改"
    )


def test_an_unknown_pledge_cannot_be_approved() -> None:
    with pytest.raises(NotFound) as refused:
        decide_approve_pledge(None, ApprovePledge(pledge_id="PL-9"), member_year=MEMBER_YEAR)
    assert refused.value.message == "承诺“PL-9”不存在"


# Pairing agreement (结对协议书)


def test_member_and_paired_employee_sign_the_agreement_after_approval() -> None:
    state = pledge_in(PledgeStatus.APPROVED)
    events = decide_sign_agreement(state, AGREEMENT, today=TODAY)
    assert events == [
        PairingAgreementSigned(
            pledge_id="PL-1",
            member_id=MEMBER.person_id,
            employee_id=EMPLOYEE.person_id,
            signed_on=date(2024, 3, 1),
            problem="老人下班后无人照料",
            quarterly_work=QuarterlyWork(
                q1="联系社区，排定照料时间",
                q2="每周两次上门照料",
                q3="每周两次上门照料",
                q4="总结照料情况，帮助申请护理补助",
            ),
            final_goal="老人得到稳定照料，李娟安心工作",
        )
    ]
    assert apply(state, events).status.label == "已签协议"


def test_an_agreement_cannot_be_signed_before_approval() -> None:
    with pytest.raises(Conflict) as refused:
        decide_sign_agreement(pledge_in(PledgeStatus.DECLARED), AGREEMENT, today=TODAY)
    assert refused.value.message == "承诺尚未通过审核（定诺），不能签订结对协议书"


def test_an_agreement_cannot_be_signed_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_sign_agreement(pledge_in(PledgeStatus.AGREEMENT_SIGNED), AGREEMENT, today=TODAY)
    assert refused.value.message == "结对协议书已签订，不能重复签订"


def test_a_pledge_without_a_paired_employee_needs_no_agreement() -> None:
    with pytest.raises(Conflict) as refused:
        decide_sign_agreement(
            pledge_in(PledgeStatus.APPROVED, paired=False), AGREEMENT, today=TODAY
        )
    assert refused.value.message == "该承诺没有结对员工，无需签订结对协议书"


def test_an_agreement_cannot_be_dated_in_the_future() -> None:
    later = AGREEMENT.model_copy(update={"signed_on": date(2024, 4, 1)})
    with pytest.raises(InvalidInput) as refused:
        decide_sign_agreement(pledge_in(PledgeStatus.APPROVED), later, today=TODAY)
    assert refused.value.message == "签订日期不能晚于今天"


# Publication (公开承诺)


def test_pledge_cannot_be_published_before_approval() -> None:
    for status in (PledgeStatus.DECLARED, PledgeStatus.REVISION_REQUESTED):
        with pytest.raises(Conflict) as refused:
            decide_publish_pledge(pledge_in(status), PUBLISH, today=TODAY)
        assert refused.value.message == "承诺尚未通过审核（定诺），不能公开"


def test_a_paired_pledge_cannot_be_published_before_its_agreement_is_signed() -> None:
    with pytest.raises(Conflict) as refused:
        decide_publish_pledge(pledge_in(PledgeStatus.APPROVED), PUBLISH, today=TODAY)
    assert refused.value.message == "该承诺有结对员工，须先签订结对协议书才能公开"


def test_a_paired_pledge_is_published_once_its_agreement_is_signed() -> None:
    state = pledge_in(PledgeStatus.AGREEMENT_SIGNED)
    events = decide_publish_pledge(state, PUBLISH, today=TODAY)
    assert events == [
        PledgePublished(
            pledge_id="PL-1",
            channels=(PublicationChannel.STAFF_MEETING, PublicationChannel.NOTICE_BOARD),
            published_on=date(2024, 3, 5),
        )
    ]
    assert apply(state, events).status.label == "已公开"


def test_an_unpaired_pledge_is_published_right_after_approval() -> None:
    events = decide_publish_pledge(
        pledge_in(PledgeStatus.APPROVED, paired=False), PUBLISH, today=TODAY
    )
    assert isinstance(events[0], PledgePublished)


def test_a_pledge_cannot_be_published_twice() -> None:
    for status in (PledgeStatus.PUBLISHED, PledgeStatus.RETURNED, PledgeStatus.ACCEPTED):
        with pytest.raises(Conflict) as refused:
            decide_publish_pledge(pledge_in(status), PUBLISH, today=TODAY)
        assert refused.value.message == "承诺已公开，不能重复公开"


def test_a_withdrawn_pledge_cannot_be_published() -> None:
    with pytest.raises(Conflict) as refused:
        decide_publish_pledge(pledge_in(PledgeStatus.WITHDRAWN), PUBLISH, today=TODAY)
    assert refused.value.message == "承诺当前状态为“已撤回”，不能公开"


def test_publication_cannot_be_dated_in_the_future() -> None:
    later = PUBLISH.model_copy(update={"published_on": date(2024, 3, 16)})
    with pytest.raises(InvalidInput) as refused:
        decide_publish_pledge(pledge_in(PledgeStatus.AGREEMENT_SIGNED), later, today=TODAY)
    assert refused.value.message == "公开日期不能晚于今天"


def test_publication_cannot_precede_the_agreement() -> None:
    early = PUBLISH.model_copy(update={"published_on": date(2024, 2, 28)})
    with pytest.raises(InvalidInput) as refused:
        decide_publish_pledge(pledge_in(PledgeStatus.AGREEMENT_SIGNED), early, today=TODAY)
    assert refused.value.message == "公开日期不能早于结对协议书的签订日期"


# Withdrawal


@pytest.mark.parametrize("status", [PledgeStatus.DECLARED, PledgeStatus.REVISION_REQUESTED])
def test_a_member_can_withdraw_a_pledge_before_approval(status: PledgeStatus) -> None:
    state = pledge_in(status)
    events = decide_withdraw_pledge(state, WithdrawPledge(pledge_id="PL-1", reason="岗位调整"))
    assert events == [PledgeWithdrawn(pledge_id="PL-1", reason="岗位调整")]
    assert apply(state, events).status.label == "已撤回"


@pytest.mark.parametrize(
    "status",
    [
        PledgeStatus.APPROVED,
        PledgeStatus.AGREEMENT_SIGNED,
        PledgeStatus.PUBLISHED,
        PledgeStatus.ACCEPTANCE_REQUESTED,
        PledgeStatus.RETURNED,
        PledgeStatus.ACCEPTED,
    ],
)
def test_a_pledge_cannot_be_withdrawn_after_approval(status: PledgeStatus) -> None:
    with pytest.raises(Conflict) as refused:
        decide_withdraw_pledge(pledge_in(status), WithdrawPledge(pledge_id="PL-1"))
    assert refused.value.message == "承诺已定诺，不能撤回"


def test_a_pledge_cannot_be_withdrawn_twice() -> None:
    with pytest.raises(Conflict) as refused:
        decide_withdraw_pledge(pledge_in(PledgeStatus.WITHDRAWN), WithdrawPledge(pledge_id="PL-1"))
    assert refused.value.message == "承诺已撤回"


def test_a_withdrawn_pledge_cannot_be_approved() -> None:
    with pytest.raises(Conflict) as refused:
        decide_approve_pledge(
            pledge_in(PledgeStatus.WITHDRAWN),
            ApprovePledge(pledge_id="PL-1"),
            member_year=MEMBER_YEAR,
        )
    assert refused.value.message == "承诺当前状态为“已撤回”，不能定诺"


# The whole path


def test_the_six_steps_produce_the_expected_events_in_order() -> None:
    log: list[Event] = []
    state: PledgeState | None = None

    def step(events: list[Event]) -> None:
        nonlocal state
        log.extend(events)
        state = apply(state, events)

    step(declared_events())
    step(
        decide_request_revision(state, RequestRevision(pledge_id="PL-1", reasons=("数量不够具体",)))
    )
    step(
        decide_revise_pledge(
            state,
            revise(quantity="每周2次，全年不少于90次"),
            member_year=MEMBER_YEAR,
            needs=[NEED],
            paired_employee=EMPLOYEE,
            today=TODAY,
        )
    )
    step(decide_approve_pledge(state, ApprovePledge(pledge_id="PL-1"), member_year=MEMBER_YEAR))
    step(decide_sign_agreement(state, AGREEMENT, today=TODAY))
    step(decide_publish_pledge(state, PUBLISH, today=TODAY))
    step(
        decide_record_ledger_entry(
            state,
            RecordLedgerEntry(pledge_id="PL-1", month="2024-03", assessment="on_track"),
            today=TODAY,
        )
    )
    step(
        decide_correct_ledger_entry(
            state,
            CorrectLedgerEntry(
                pledge_id="PL-1", month="2024-03", assessment="behind", reason="漏记一次缺勤"
            ),
        )
    )
    step(
        decide_record_ledger_entry(
            state,
            RecordLedgerEntry(pledge_id="PL-1", month="2024-04", assessment="done"),
            today=date(2024, 4, 30),
        )
    )
    step(
        decide_request_acceptance(
            state,
            RequestAcceptance(pledge_id="PL-1", summary="照料任务完成"),
            today=date(2024, 5, 2),
        )
    )
    step(decide_return_pledge(state, ReturnPledge(pledge_id="PL-1", reasons=("缺少家属评价",))))
    step(
        decide_request_acceptance(
            state,
            RequestAcceptance(pledge_id="PL-1", summary="已补充家属评价"),
            today=date(2024, 5, 10),
        )
    )
    step(decide_accept_pledge(state, AcceptPledge(pledge_id="PL-1"), today=date(2024, 5, 12)))

    assert [type(event) for event in log] == [
        PledgeDeclared,
        PledgeRevisionRequested,
        PledgeRevised,
        PledgeApproved,
        PairingAgreementSigned,
        PledgePublished,
        LedgerEntryRecorded,
        LedgerEntryCorrected,
        LedgerEntryRecorded,
        PledgeAcceptanceRequested,
        PledgeReturned,
        PledgeAcceptanceRequested,
        PledgeAccepted,
    ]
    assert log[-1] == PledgeAccepted(
        pledge_id="PL-1", need_ids=("N-1",), accepted_on=date(2024, 5, 12), comment=None
    )
    assert state is not None
    assert state.status is PledgeStatus.ACCEPTED
    assert [(e.month, e.assessment) for e in state.ledger] == [
        ("2024-03", LedgerAssessment.BEHIND),
        ("2024-04", LedgerAssessment.DONE),
    ]


def test_applying_an_event_to_a_pledge_that_does_not_exist_is_a_bug() -> None:
    with pytest.raises(TypeError):
        evolve_pledge(None, PledgeWithdrawn(pledge_id="PL-1", reason=None))
