"""Carry-over (结转) of an unfinished pledge into the next year: a recorded step with a
reason, by which the pledge ends in its year and a new one continues it (docs/annual-cycle.md)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.pledges.commands import CarryOverPledge, RecordLedgerEntry, RequestAcceptance
from services.pledges.domain import (
    CarryOver,
    MemberYearState,
    PersonState,
    PledgeState,
    PledgeStatus,
    carried_pledge_id,
    decide_carry_over_pledge,
    decide_lock_area,
    decide_pledge_on_transfer,
    decide_record_ledger_entry,
    decide_request_acceptance,
    evolve_pledge,
)
from shared.contracts.pledges import (
    LedgerAssessment,
    PledgeCarriedOver,
    ResponsibilityArea,
    ResponsibilityAreaLocked,
)
from shared.errors import Conflict, InvalidInput, NotFound
from tests.unit.pledges.examples import EMPLOYEE, MEMBER, YEAR, apply, pledge_in

pytestmark = pytest.mark.unit

JANUARY = date(YEAR + 1, 1, 10)
NEXT_YEAR_AREA = MemberYearState(
    person_id=MEMBER.person_id, year=YEAR + 1, area=ResponsibilityArea.HARDSHIP
)
CARRY = CarryOverPledge(
    pledge_id="PL-1", reason="冬季施工受限，照料任务顺延", due_date=date(2025, 6, 30)
)


def carry(
    state: PledgeState | None, *, command: CarryOverPledge = CARRY, **facts: Any
) -> CarryOver:
    arguments: dict[str, Any] = {
        "successor": None,
        "member": MEMBER,
        "member_year": NEXT_YEAR_AREA,
        "paired_employee": EMPLOYEE,
        "today": JANUARY,
    }
    arguments.update(facts)
    return decide_carry_over_pledge(state, command, **arguments)


def test_a_published_pledge_ends_in_its_year_and_continues_in_the_next() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    decided = carry(state)
    assert decided.out == PledgeCarriedOver(
        pledge_id="PL-1",
        to_pledge_id="PL-1-2025",
        to_year=2025,
        due_date=date(2025, 6, 30),
        reason="冬季施工受限，照料任务顺延",
    )
    into = decided.into
    assert (into.pledge_id, into.from_pledge_id, into.year) == ("PL-1-2025", "PL-1", 2025)
    assert (into.member_id, into.branch_id) == (MEMBER.person_id, MEMBER.branch_id)
    assert (into.item, into.area, into.due_date) == (
        state.terms.item,
        state.terms.area,
        CARRY.due_date,
    )
    assert into.paired_employee_id == EMPLOYEE.person_id
    assert into.agreement is not None and into.agreement.signed_on == date(2024, 3, 1)
    assert into.published_on == date(2024, 3, 5) and into.channels == state.channels

    old = evolve_pledge(state, decided.out)
    assert (old.status, old.year, old.carried_to) == (PledgeStatus.CARRIED_OVER, YEAR, "PL-1-2025")
    assert old.status.label == "已结转"
    new = evolve_pledge(None, into)
    assert (new.status, new.year, new.carried_from) == (PledgeStatus.PUBLISHED, 2025, "PL-1")
    assert new.terms.due_date == date(2025, 6, 30) and new.terms.need_ids == ()
    # The new year's ledger is kept on the new pledge; the member applies for acceptance there.
    entry = RecordLedgerEntry(
        pledge_id="PL-1-2025", month="2025-01", assessment=LedgerAssessment.ON_TRACK
    )
    assert decide_record_ledger_entry(new, entry, today=JANUARY)
    # The carried pledge locks the member's area of the new year, as an approval does.
    assert decide_lock_area(NEXT_YEAR_AREA, into) == [
        ResponsibilityAreaLocked(person_id=MEMBER.person_id, year=2025, pledge_id="PL-1-2025")
    ]


@pytest.mark.parametrize(
    ("status", "starts_as"),
    [
        (PledgeStatus.APPROVED, PledgeStatus.APPROVED),
        (PledgeStatus.AGREEMENT_SIGNED, PledgeStatus.AGREEMENT_SIGNED),
        (PledgeStatus.ACCEPTANCE_REQUESTED, PledgeStatus.PUBLISHED),
        (PledgeStatus.RETURNED, PledgeStatus.PUBLISHED),
    ],
)
def test_the_new_pledge_starts_at_the_step_reached(
    status: PledgeStatus, starts_as: PledgeStatus
) -> None:
    decided = carry(pledge_in(status))
    assert evolve_pledge(None, decided.into).status is starts_as


def test_an_unpaired_pledge_carries_no_pairing() -> None:
    decided = carry(pledge_in(PledgeStatus.PUBLISHED, paired=False), paired_employee=None)
    assert decided.into.paired_employee_id is None and decided.into.agreement is None


def test_late_entries_for_its_own_months_still_go_to_the_carried_over_pledge() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    old = apply(state, [carry(state).out])
    december = RecordLedgerEntry(
        pledge_id="PL-1", month="2024-12", assessment=LedgerAssessment.BEHIND
    )
    assert decide_record_ledger_entry(old, december, today=JANUARY)
    with pytest.raises(Conflict, match="已结转"):
        decide_request_acceptance(
            old, RequestAcceptance(pledge_id="PL-1", summary="完成"), today=JANUARY
        )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (PledgeStatus.ACCEPTED, "承诺已验收，无需结转"),
        (PledgeStatus.WITHDRAWN, "承诺已撤回，不能结转"),
        (PledgeStatus.DECLARED, "承诺尚未定诺，不能结转"),
        (PledgeStatus.REVISION_REQUESTED, "承诺尚未定诺，不能结转"),
    ],
)
def test_only_an_approved_unfinished_pledge_is_carried(status: PledgeStatus, message: str) -> None:
    with pytest.raises(Conflict, match=message):
        carry(pledge_in(status))


def test_a_pledge_is_carried_over_once() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    old = apply(state, [carry(state).out])
    with pytest.raises(Conflict, match="承诺已结转至“PL-1-2025”，不能重复结转"):
        carry(old)
    new = evolve_pledge(None, carry(state).into)
    with pytest.raises(Conflict, match="已存在"):
        carry(state, successor=new)


def test_only_once_the_year_is_over_and_only_into_the_next() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    with pytest.raises(Conflict, match="2024年度尚未结束"):
        carry(state, today=date(2024, 12, 31))
    with pytest.raises(Conflict, match="只能结转至2025年度"):
        carry(state, today=date(2026, 1, 2))


@pytest.mark.parametrize(
    ("due", "message"),
    [
        (date(2026, 1, 31), "结转后的完成时间须在2025年内"),
        (date(2024, 12, 31), "结转后的完成时间须在2025年内"),
        (date(2025, 1, 9), "结转后的完成时间不能早于今天"),
    ],
)
def test_the_new_due_date_is_in_the_next_year_and_not_past(due: date, message: str) -> None:
    command = CarryOverPledge(pledge_id="PL-1", reason="顺延", due_date=due)
    with pytest.raises(InvalidInput, match=message):
        carry(pledge_in(PledgeStatus.PUBLISHED), command=command)


def test_a_reason_is_required() -> None:
    with pytest.raises(ValidationError, match="结转理由不能为空"):
        CarryOverPledge(pledge_id="PL-1", reason="  ", due_date=date(2025, 6, 30))


def test_the_member_chooses_the_next_years_area_first_and_it_must_match() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    with pytest.raises(Conflict, match="尚未选择2025年度的责任区；请党员先选择责任区“扶贫帮困”"):
        carry(state, member_year=None)
    other = replace(NEXT_YEAR_AREA, area=ResponsibilityArea.SAFETY)
    with pytest.raises(Conflict, match="与党员2025年度的责任区“安全环保”不一致"):
        carry(state, member_year=other)


def test_the_member_and_the_pairing_must_still_be_there() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    gone = replace(MEMBER, departed_on=date(2024, 12, 1))
    with pytest.raises(Conflict, match="已离开，承诺不能结转"):
        carry(state, member=gone)
    moved = replace(MEMBER, branch_id="B-JB-02")
    with pytest.raises(Conflict, match="已调至其他党支部"):
        carry(state, member=moved)
    with pytest.raises(NotFound):
        carry(state, member=None)
    away: PersonState = replace(EMPLOYEE, branch_id="B-JB-02")
    with pytest.raises(Conflict, match="已不在本党支部，结对关系不能结转"):
        carry(state, paired_employee=away)


def test_a_carried_over_pledge_stays_with_its_branch_on_transfer() -> None:
    state = pledge_in(PledgeStatus.PUBLISHED)
    old = apply(state, [carry(state).out])
    assert (
        decide_pledge_on_transfer(
            old, to_branch_id="B-JB-02", to_branch_name="二队", transfer_year=YEAR
        )
        == []
    )


def test_the_successor_id_is_derived_and_fits() -> None:
    assert carried_pledge_id("p-7", 2025) == "p-7-2025"
    long_id = "x" * 64
    derived = carried_pledge_id(long_id, 2025)
    assert len(derived) == 64 and derived.endswith("-2025")
    assert derived == carried_pledge_id(long_id, 2025) != carried_pledge_id("y" * 64, 2025)
