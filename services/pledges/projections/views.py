"""What the queries answer: the read models as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class MemberAreaView(_View):
    """A member's responsibility area (党员责任区) of a year, if chosen."""

    person_id: str
    year: int
    area: str | None = Field(description="null: not chosen yet")
    area_label: str | None
    locked: bool = Field(description="true once the first pledge was approved: no more changes")


class NeedRef(_View):
    """A need a pledge answers: its id and the problem as the employee raised it."""

    need_id: str
    problem: str


class PledgeView(_View):
    """A pledge as the reader may read it (``access``): the committee's review notes are
    null for readers other than the member, the committee and the organization department."""

    pledge_id: str
    member_id: str
    member_name: str | None = Field(description="姓名（来自花名册）")
    branch_id: str
    year: int
    status: str = Field(description="declared, revision_requested, approved, ...")
    status_label: str
    area: str
    area_label: str
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    need_ids: list[str]
    needs: list[NeedRef] = Field(
        default_factory=list, description="the needs it answers, with the problem text"
    )
    paired_employee_id: str | None
    paired_employee_name: str | None = Field(default=None, description="结对员工姓名")
    revision_reasons: list[str] | None = Field(
        description="why the committee sent it back for revision (member and committee only)"
    )
    agreement: dict[str, Any] | None
    channels: list[str] | None
    published_on: date | None
    acceptance_summary: str | None
    acceptance_requested_on: date | None
    return_reasons: list[str] | None = Field(
        description="why the committee returned it at acceptance (member and committee only)"
    )
    accepted_on: date | None
    acceptance_comment: str | None
    withdrawal_reason: str | None
    carried_to: str | None = Field(
        default=None, description="the next year's pledge that continues this one (已结转至)"
    )
    carry_reason: str | None = Field(default=None, description="why it was carried over")
    carried_from: str | None = Field(
        default=None, description="the previous year's pledge this one continues (结转自)"
    )
    declared_at: datetime
    updated_at: datetime
    version: int = Field(description="the pledge stream's version after the last event")


class PublicPledgeView(_View):
    """What every member of staff may see of a published pledge."""

    pledge_id: str
    member_name: str | None
    year: int
    area_label: str
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    status_label: str
    published_on: date | None
    channels: list[str]


class LedgerRow(_View):
    pledge_id: str
    member_id: str
    member_name: str | None
    item: str
    status: str
    due_date: date
    assessment: str | None = Field(description="on_track, behind, done; null: not yet recorded")
    assessment_label: str | None
    note: str | None
    correction_reason: str | None
    late_reason: str | None = Field(
        description="why the entry was recorded late (补记); null: on time"
    )


class LedgerView(_View):
    """The branch's pledge ledger (台账) for one month: every pledge being tracked then."""

    branch_id: str
    month: str
    rows: list[LedgerRow]
    closes_on: date = Field(
        description="the last day the month's entries are on time (the end of the next month); "
        "after it an entry needs a late reason (补记)"
    )
    not_recorded: int = Field(description="pledges without an entry for the month yet")


class NeedPledge(_View):
    pledge_id: str
    member_id: str
    item: str
    status: str


class NeedView(_View):
    need_id: str
    branch_id: str
    year: int
    employee_id: str
    problem: str
    suggested_area: str | None
    area: str | None
    area_label: str | None
    solved: bool
    solved_by: str | None
    solved_on: date | None
    pledges: list[NeedPledge]


class OverduePledge(_View):
    pledge: PledgeView
    days_overdue: int


class BranchEntry(_View):
    """A branch as the public board lists it."""

    branch_id: str
    name: str
    unit_id: str
    unit_name: str | None


class PersonEntry(_View):
    """One person on a branch's roster (internal)."""

    person_id: str
    name: str
    branch_id: str
    unit_id: str | None
    membership: str
    membership_label: str
    is_party_member: bool
    post: str | None
    committee_position: str | None
    committee_label: str | None
    departed_on: date | None
