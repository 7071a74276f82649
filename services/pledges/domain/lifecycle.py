"""Steps 2 to 5: declare, approve (定诺), sign the pairing agreement, publish; and withdrawal.

Facts from other aggregates come in as arguments, loaded by the caller: the member and the
paired employee from the roster, the member's area for the year, the needs the pledge names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from services.pledges.commands import (
    ApprovePledge,
    DeclarePledge,
    PublishPledge,
    RequestRevision,
    RevisePledge,
    SignAgreement,
    WithdrawPledge,
)
from services.pledges.domain.areas import MemberYearState
from services.pledges.domain.planning import NeedState
from services.pledges.domain.pledge import (
    NOT_YET_APPROVED,
    PledgeState,
    PledgeStatus,
    existing,
    require_status,
)
from services.pledges.domain.roster import PersonState
from shared.contracts.events import Event
from shared.contracts.pledges import (
    PairingAgreementSigned,
    PledgeApproved,
    PledgeDeclared,
    PledgeHandedOver,
    PledgePublished,
    PledgeRevised,
    PledgeRevisionRequested,
    PledgeWithdrawn,
    QuarterlyWork,
)
from shared.errors import Conflict, InvalidInput, NotFound

_NOT_APPROVED_YET = "承诺尚未通过审核（定诺），不能{}"
_ALREADY_PUBLIC = frozenset(
    {
        PledgeStatus.PUBLISHED,
        PledgeStatus.ACCEPTANCE_REQUESTED,
        PledgeStatus.RETURNED,
        PledgeStatus.ACCEPTED,
    }
)


def decide_declare_pledge(
    state: PledgeState | None,
    command: DeclarePledge,
    *,
    member: PersonState | None,
    member_year: MemberYearState | None,
    needs: Sequence[NeedState],
    paired_employee: PersonState | None,
    today: date,
) -> list[Event]:
    """``member_year`` is the member's area for the command's year; ``needs`` are the
    needs named in ``need_ids``; ``paired_employee`` the person named, if any."""
    if state is not None:
        raise Conflict(f"承诺编号“{command.pledge_id}”已存在")
    if member is None:
        raise NotFound(f"党员“{command.member_id}”不存在")
    if not member.is_active:
        raise Conflict(f"{member.name}已离开，不能再申报承诺")
    if not member.is_party_member:
        raise InvalidInput(f"{member.name}不是党员，不能申报党员承诺")
    _check_terms(
        command,
        member_id=member.person_id,
        branch_id=member.branch_id,
        year=command.year,
        member_year=member_year,
        needs=needs,
        paired_employee=paired_employee,
        today=today,
    )
    return [
        PledgeDeclared(
            pledge_id=command.pledge_id,
            member_id=member.person_id,
            branch_id=member.branch_id,
            year=command.year,
            **_terms_of(command),
        )
    ]


def decide_request_revision(state: PledgeState | None, command: RequestRevision) -> list[Event]:
    pledge = existing(state, command.pledge_id)
    require_status(
        pledge,
        {PledgeStatus.DECLARED},
        "退回修改",
        {PledgeStatus.REVISION_REQUESTED: "承诺已退回修改，正等待党员修改后重新申报"},
    )
    return [PledgeRevisionRequested(pledge_id=pledge.pledge_id, reasons=command.reasons)]


def decide_revise_pledge(
    state: PledgeState | None,
    command: RevisePledge,
    *,
    member_year: MemberYearState | None,
    needs: Sequence[NeedState],
    paired_employee: PersonState | None,
    today: date,
) -> list[Event]:
    """Arguments as for ``decide_declare_pledge``, for the pledge's member and year."""
    pledge = existing(state, command.pledge_id)
    require_status(
        pledge,
        {PledgeStatus.REVISION_REQUESTED},
        "修改",
        {PledgeStatus.DECLARED: "承诺正在等待党支部审核，只有被退回修改后才能修改"},
    )
    _check_terms(
        command,
        member_id=pledge.member_id,
        branch_id=pledge.branch_id,
        year=pledge.year,
        member_year=member_year,
        needs=needs,
        paired_employee=paired_employee,
        today=today,
    )
    return [PledgeRevised(pledge_id=pledge.pledge_id, **_terms_of(command))]


def decide_approve_pledge(
    state: PledgeState | None, command: ApprovePledge, *, member_year: MemberYearState | None
) -> list[Event]:
    """After this, feed the ``PledgeApproved`` to ``areas.decide_lock_area``."""
    pledge = existing(state, command.pledge_id)
    require_status(
        pledge,
        {PledgeStatus.DECLARED},
        "定诺",
        {PledgeStatus.REVISION_REQUESTED: "承诺已退回修改，须党员修改后重新申报才能定诺"},
    )
    area = pledge.terms.area
    # The member may have changed area since declaring; the pledge must follow it.
    if member_year is None or member_year.area is not area:
        chosen = "未选择" if member_year is None else f"“{member_year.area.label}”"
        raise Conflict(
            f"承诺的责任区“{area.label}”与党员{pledge.year}年度责任区{chosen}不一致，请退回修改"
        )
    return [
        PledgeApproved(
            pledge_id=pledge.pledge_id, member_id=pledge.member_id, year=pledge.year, area=area
        )
    ]


def decide_sign_agreement(
    state: PledgeState | None, command: SignAgreement, *, today: date
) -> list[Event]:
    pledge = existing(state, command.pledge_id)
    not_approved = _NOT_APPROVED_YET.format("签订结对协议书")
    require_status(
        pledge,
        {PledgeStatus.APPROVED},
        "签订结对协议书",
        {
            PledgeStatus.DECLARED: not_approved,
            PledgeStatus.REVISION_REQUESTED: not_approved,
            PledgeStatus.AGREEMENT_SIGNED: "结对协议书已签订，不能重复签订",
        },
    )
    employee_id = pledge.terms.paired_employee_id
    if employee_id is None:
        raise Conflict("该承诺没有结对员工，无需签订结对协议书")
    if command.signed_on > today:
        raise InvalidInput("签订日期不能晚于今天")
    return [
        PairingAgreementSigned(
            pledge_id=pledge.pledge_id,
            member_id=pledge.member_id,
            employee_id=employee_id,
            signed_on=command.signed_on,
            problem=command.problem,
            quarterly_work=QuarterlyWork(
                q1=command.q1, q2=command.q2, q3=command.q3, q4=command.q4
            ),
            final_goal=command.final_goal,
        )
    ]


def decide_publish_pledge(
    state: PledgeState | None, command: PublishPledge, *, today: date
) -> list[Event]:
    pledge = existing(state, command.pledge_id)
    not_approved = _NOT_APPROVED_YET.format("公开")
    require_status(
        pledge,
        {PledgeStatus.APPROVED, PledgeStatus.AGREEMENT_SIGNED},
        "公开",
        {
            PledgeStatus.DECLARED: not_approved,
            PledgeStatus.REVISION_REQUESTED: not_approved,
            **dict.fromkeys(_ALREADY_PUBLIC, "承诺已公开，不能重复公开"),
        },
    )
    if pledge.terms.paired_employee_id is not None and pledge.agreement_signed_on is None:
        raise Conflict("该承诺有结对员工，须先签订结对协议书才能公开")
    if command.published_on > today:
        raise InvalidInput("公开日期不能晚于今天")
    if pledge.agreement_signed_on is not None and command.published_on < pledge.agreement_signed_on:
        raise InvalidInput("公开日期不能早于结对协议书的签订日期")
    return [
        PledgePublished(
            pledge_id=pledge.pledge_id,
            channels=command.channels,
            published_on=command.published_on,
        )
    ]


def decide_withdraw_pledge(state: PledgeState | None, command: WithdrawPledge) -> list[Event]:
    """Only before approval: once approved (定诺) the pledge is the branch's commitment too."""
    pledge = existing(state, command.pledge_id)
    if pledge.status is PledgeStatus.WITHDRAWN:
        raise Conflict("承诺已撤回")
    if pledge.status not in NOT_YET_APPROVED:
        raise Conflict("承诺已定诺，不能撤回")
    return [PledgeWithdrawn(pledge_id=pledge.pledge_id, reason=command.reason)]


def _check_terms(
    terms: DeclarePledge | RevisePledge,
    *,
    member_id: str,
    branch_id: str,
    year: int,
    member_year: MemberYearState | None,
    needs: Sequence[NeedState],
    paired_employee: PersonState | None,
    today: date,
) -> None:
    """The rules a declared or re-declared pledge must meet."""
    if member_year is None:
        raise Conflict(f"请先选择{year}年度的党员责任区，再申报承诺")
    if terms.area is not member_year.area:
        raise InvalidInput(f"承诺须在本人{year}年度的责任区“{member_year.area.label}”内申报")
    if terms.due_date.year != year:
        raise InvalidInput(f"完成时间须在{year}年内")
    if terms.due_date < today:
        raise InvalidInput("完成时间不能早于今天")
    found = {need.need_id: need for need in needs}
    for need_id in terms.need_ids:
        need = found.get(need_id)
        if need is None:
            raise NotFound(f"需求“{need_id}”不存在")
        if need.branch_id != branch_id:
            raise InvalidInput(f"需求“{need_id}”不属于本党支部")
        if need.year != year:
            raise InvalidInput(f"需求“{need_id}”不是{year}年度的需求")
        if need.area is None:
            raise Conflict(f"需求“{need_id}”尚未分类，党支部分类汇总后才能据此申报承诺")
        if need.is_solved:
            raise Conflict(f"需求“{need_id}”已解决，请选择其他需求")
    if terms.paired_employee_id is not None:
        _check_pair(terms.paired_employee_id, member_id, branch_id, paired_employee)


def _check_pair(
    employee_id: str, member_id: str, branch_id: str, employee: PersonState | None
) -> None:
    if employee_id == member_id:
        raise InvalidInput("不能与本人结对")
    if employee is None or employee.person_id != employee_id:
        raise NotFound(f"结对员工“{employee_id}”不存在")
    if not employee.is_active:
        raise Conflict(f"{employee.name}已离开，不能结对")
    # The source counts pairings between members as well as with non-members.
    if employee.branch_id != branch_id:
        raise InvalidInput(f"结对员工须与党员同属一个党支部，{employee.name}不属于本党支部")


def _terms_of(terms: DeclarePledge | RevisePledge) -> dict[str, Any]:
    return {
        "area": terms.area,
        "item": terms.item,
        "content": terms.content,
        "quantity": terms.quantity,
        "quality_standard": terms.quality_standard,
        "due_date": terms.due_date,
        "need_ids": terms.need_ids,
        "paired_employee_id": terms.paired_employee_id,
    }


def decide_pledge_on_transfer(
    state: PledgeState, *, to_branch_id: str, to_branch_name: str, transfer_year: int
) -> list[Event]:
    """What a member's transfer does to one of their pledges (DOMAIN.md §5, "Transfers"):
    past years stay with the branch they were in, so a pledge of an earlier year stays with
    the old branch, whose committee finishes it; an open pledge of the transfer year or later
    follows the member. Not yet approved, it is withdrawn (the new branch has not agreed to
    it: the member declares it there anew); approved, it is handed over, and the new
    branch's committee keeps its ledger and accepts it. Accepted and withdrawn pledges are
    done and stay as they are, and so are carried-over ones (their continuation of the next
    year is the pledge that follows)."""
    if state.year < transfer_year or state.status in (
        PledgeStatus.ACCEPTED,
        PledgeStatus.WITHDRAWN,
        PledgeStatus.CARRIED_OVER,
    ):
        return []
    if state.branch_id == to_branch_id:
        return []
    if state.status in NOT_YET_APPROVED:
        reason = f"组织关系转至{to_branch_name}：尚未定诺的承诺撤回，可在新支部重新申报"
        return [PledgeWithdrawn(pledge_id=state.pledge_id, reason=reason)]
    return [
        PledgeHandedOver(
            pledge_id=state.pledge_id, from_branch_id=state.branch_id, to_branch_id=to_branch_id
        )
    ]
