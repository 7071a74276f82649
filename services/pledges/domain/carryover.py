"""Carry-over (结转): an approved pledge not finished in its year continues in the next.

It is a recorded step with a reason, never an edit: the pledge stays in its year and ends
there as carried over (signed, not completed: that year's figures do not move), and a new
pledge of the next year continues it from the step it had reached, with a new due date.
DOMAIN.md §5 ("The review year"); docs/annual-cycle.md.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import NamedTuple

from services.pledges.commands import CarryOverPledge
from services.pledges.domain.areas import MemberYearState
from services.pledges.domain.pledge import (
    CARRIABLE,
    NOT_YET_APPROVED,
    PledgeState,
    PledgeStatus,
    existing,
)
from services.pledges.domain.roster import PersonState
from shared.contracts.pledges import PledgeCarriedIn, PledgeCarriedOver
from shared.errors import Conflict, InvalidInput, NotFound

_MAX_ID = 64


def carried_pledge_id(pledge_id: str, year: int) -> str:
    """The id of the pledge that continues ``pledge_id`` in ``year``: derived, so a retried
    carry-over finds it taken. Kept within the 64 characters of an id."""
    suffix = f"-{year}"
    if len(pledge_id) + len(suffix) <= _MAX_ID:
        return f"{pledge_id}{suffix}"
    digest = hashlib.sha256(pledge_id.encode()).hexdigest()[:8]
    keep = _MAX_ID - len(suffix) - len(digest) - 1
    return f"{pledge_id[:keep]}-{digest}{suffix}"


class CarryOver(NamedTuple):
    """``out`` ends the pledge's stream; ``into`` starts the next year's pledge's."""

    out: PledgeCarriedOver
    into: PledgeCarriedIn


def decide_carry_over_pledge(
    state: PledgeState | None,
    command: CarryOverPledge,
    *,
    successor: PledgeState | None,
    member: PersonState | None,
    member_year: MemberYearState | None,
    paired_employee: PersonState | None,
    today: date,
) -> CarryOver:
    """``successor`` is the stream of ``carried_pledge_id(pledge, year + 1)``; ``member`` and
    ``paired_employee`` are from the roster; ``member_year`` is the member's area for the
    next year, which the carried pledge must be in (the member chooses it first).

    Only once the pledge's year is over (``today``, Beijing), and only into the next year."""
    pledge = existing(state, command.pledge_id)
    _require_carriable(pledge)
    year, to_year = pledge.year, pledge.year + 1
    if today.year <= year:
        raise Conflict(f"{year}年度尚未结束，承诺可在年内继续完成；年度结束后才能结转")
    if today.year > to_year:
        raise Conflict(f"{year}年度的承诺只能结转至{to_year}年度，{to_year}年度已结束，不能再结转")
    to_pledge_id = carried_pledge_id(pledge.pledge_id, to_year)
    if successor is not None:
        raise Conflict(f"承诺编号“{to_pledge_id}”已存在，不能结转")
    if member is None:
        raise NotFound(f"党员“{pledge.member_id}”不存在")
    if not member.is_active:
        raise Conflict(f"{member.name}已离开，承诺不能结转")
    if member.branch_id != pledge.branch_id:
        raise Conflict(f"{member.name}已调至其他党支部，承诺不能结转；可在新支部重新申报")
    area = pledge.terms.area
    if member_year is None:
        raise Conflict(
            f"{member.name}尚未选择{to_year}年度的责任区；请党员先选择责任区“{area.label}”，再结转"
        )
    if member_year.area is not area:
        raise Conflict(
            f"承诺的责任区“{area.label}”与党员{to_year}年度的责任区“{member_year.area.label}”"
            "不一致，不能结转"
        )
    employee_id = pledge.terms.paired_employee_id
    if employee_id is not None:
        if paired_employee is None or not paired_employee.is_active:
            raise Conflict("结对员工已离开，结对关系不能结转；可在新年度重新申报承诺")
        if paired_employee.branch_id != pledge.branch_id:
            raise Conflict(
                f"结对员工{paired_employee.name}已不在本党支部，结对关系不能结转；"
                "可在新年度重新申报承诺"
            )
    if command.due_date.year != to_year:
        raise InvalidInput(f"结转后的完成时间须在{to_year}年内")
    if command.due_date < today:
        raise InvalidInput("结转后的完成时间不能早于今天")
    terms = pledge.terms
    return CarryOver(
        out=PledgeCarriedOver(
            pledge_id=pledge.pledge_id,
            to_pledge_id=to_pledge_id,
            to_year=to_year,
            due_date=command.due_date,
            reason=command.reason,
        ),
        into=PledgeCarriedIn(
            pledge_id=to_pledge_id,
            from_pledge_id=pledge.pledge_id,
            member_id=pledge.member_id,
            branch_id=pledge.branch_id,
            year=to_year,
            area=terms.area,
            item=terms.item,
            content=terms.content,
            quantity=terms.quantity,
            quality_standard=terms.quality_standard,
            due_date=command.due_date,
            paired_employee_id=employee_id,
            agreement=pledge.agreement,
            channels=pledge.channels,
            published_on=pledge.published_on,
        ),
    )


def _require_carriable(pledge: PledgeState) -> None:
    if pledge.status in CARRIABLE:
        return
    match pledge.status:
        case PledgeStatus.CARRIED_OVER:
            reason = f"承诺已结转至“{pledge.carried_to}”，不能重复结转"
        case PledgeStatus.ACCEPTED:
            reason = "承诺已验收，无需结转"
        case PledgeStatus.WITHDRAWN:
            reason = "承诺已撤回，不能结转"
        case status if status in NOT_YET_APPROVED:
            reason = "承诺尚未定诺，不能结转；可由党员撤回后在新年度重新申报"
        case _:
            reason = f"承诺当前状态为“{pledge.status.label}”，不能结转"
    raise Conflict(reason)
