"""Event payloads of the pledges service (DOMAIN.md sections 1 and 2).

Payloads hold the domain facts only: ids and values. Who did it, when it was recorded and in
which branch it travels is the envelope's job. The enumerations live here, not in the service,
because the subscribers (reviews, scoring, other systems) must read them without importing
the pledges service. Their ``label`` is the Chinese text users see.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from shared.contracts.events import Event
from shared.contracts.registry import event_type
from shared.labels import LabelledEnum


class ResponsibilityArea(LabelledEnum):
    """The seven responsibility areas, "七帮七带七做"."""

    POLITICAL = "political", "思想政治"
    PRODUCTION = "production", "生产建设"
    MANAGEMENT = "management", "经营管理"
    SAFETY = "safety", "安全环保"
    HARDSHIP = "hardship", "扶贫帮困"
    SERVICE = "service", "服务员工群众"
    STABILITY = "stability", "稳定工作"


class Membership(LabelledEnum):
    """A person's standing in the party. Everyone on the roster is an employee."""

    FULL_MEMBER = "full_member", "正式党员"
    PROBATIONARY_MEMBER = "probationary_member", "预备党员"
    NON_MEMBER = "non_member", "群众"

    @property
    def is_party_member(self) -> bool:
        return self is not Membership.NON_MEMBER


class CommitteePosition(LabelledEnum):
    SECRETARY = "secretary", "支部书记"
    DEPUTY_SECRETARY = "deputy_secretary", "支部副书记"
    MEMBER = "member", "支部委员"


class ExemptionReason(LabelledEnum):
    """Why a member is exempt from the year's review (DOMAIN.md section 5, "Exemptions")."""

    RETIRED = "retired", "退休"
    LONG_TERM_ILLNESS = "long_term_illness", "长期病休"
    MOBILE_MEMBER = "mobile_member", "流动党员"
    OTHER = "other", "其他"


class PublicationChannel(LabelledEnum):
    """The three ways the source names for making a pledge public (第五步)."""

    STAFF_MEETING = "staff_meeting", "员工大会"
    NOTICE_BOARD = "notice_board", "队务公开栏"
    PRINTED_NOTICE = "printed_notice", "印发公示表"


class LedgerAssessment(LabelledEnum):
    """The monthly assessment of one pledge in the branch's ledger (台账)."""

    ON_TRACK = "on_track", "按计划推进"
    BEHIND = "behind", "进度滞后"
    DONE = "done", "已完成"


class QuarterlyWork(BaseModel):
    """The work planned for each quarter in a pairing agreement; a quarter may be empty
    when the pledge starts or ends within the year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    q1: str | None = None
    q2: str | None = None
    q3: str | None = None
    q4: str | None = None


# Roster


@event_type("UnitRegistered", 1)
class UnitRegistered(Event):
    unit_id: str
    name: str


@event_type("UnitRenamed", 1)
class UnitRenamed(Event):
    unit_id: str
    name: str


@event_type("BranchRegistered", 1)
class BranchRegistered(Event):
    branch_id: str
    unit_id: str
    name: str


@event_type("BranchRenamed", 1)
class BranchRenamed(Event):
    branch_id: str
    name: str


@event_type("PersonRegistered", 1)
class PersonRegistered(Event):
    person_id: str
    name: str
    branch_id: str
    membership: Membership
    post: str | None


@event_type("PersonUpdated", 1)
class PersonUpdated(Event):
    """The person's attributes after the change, all of them, so a reader needs no history."""

    person_id: str
    name: str
    membership: Membership
    post: str | None


@event_type("PersonTransferred", 1)
class PersonTransferred(Event):
    person_id: str
    from_branch_id: str
    to_branch_id: str


@event_type("PersonDeparted", 1)
class PersonDeparted(Event):
    person_id: str
    branch_id: str
    departed_on: date
    reason: str | None


@event_type("MemberExempted", 1)
class MemberExempted(Event):
    """The committee exempted a party member from the year's review (免于评议): the member
    keeps a card that says so and is counted apart, not as missing."""

    member_id: str
    branch_id: str
    year: int
    reason: ExemptionReason
    reason_text: str | None
    """The reason in words; required when ``reason`` is ``other``."""
    evidence: str
    """The evidence note (e.g. the retirement notice or the sick leave certificate)."""


@event_type("MemberExemptionRevoked", 1)
class MemberExemptionRevoked(Event):
    """An exemption recorded by mistake or no longer true is revoked; the member is reviewed
    for the year again."""

    member_id: str
    branch_id: str
    year: int
    reason: str


@event_type("CommitteeMemberAppointed", 1)
class CommitteeMemberAppointed(Event):
    person_id: str
    branch_id: str
    position: CommitteePosition


@event_type("CommitteeMemberRemoved", 1)
class CommitteeMemberRemoved(Event):
    person_id: str
    branch_id: str


# Annual plan and needs


@event_type("PlanAdopted", 1)
class PlanAdopted(Event):
    branch_id: str
    year: int
    title: str
    summary: str
    meeting_date: date


@event_type("PlanAmended", 1)
class PlanAmended(Event):
    branch_id: str
    year: int
    title: str
    summary: str
    meeting_date: date


@event_type("NeedSubmitted", 1)
class NeedSubmitted(Event):
    need_id: str
    branch_id: str
    year: int
    employee_id: str
    problem: str
    suggested_area: ResponsibilityArea | None


@event_type("NeedClassified", 1)
class NeedClassified(Event):
    need_id: str
    area: ResponsibilityArea


@event_type("NeedPledgeLinked", 1)
class NeedPledgeLinked(Event):
    need_id: str
    pledge_id: str


@event_type("NeedPledgeUnlinked", 1)
class NeedPledgeUnlinked(Event):
    need_id: str
    pledge_id: str


@event_type("NeedSolved", 1)
class NeedSolved(Event):
    need_id: str
    pledge_id: str
    solved_on: date


# Responsibility area of a member for a year


@event_type("ResponsibilityAreaChosen", 1)
class ResponsibilityAreaChosen(Event):
    person_id: str
    year: int
    area: ResponsibilityArea


@event_type("ResponsibilityAreaChanged", 1)
class ResponsibilityAreaChanged(Event):
    person_id: str
    year: int
    previous_area: ResponsibilityArea
    area: ResponsibilityArea


@event_type("ResponsibilityAreaLocked", 1)
class ResponsibilityAreaLocked(Event):
    """The member's first pledge of the year was approved; the area is fixed from now on."""

    person_id: str
    year: int
    pledge_id: str


# Pledge lifecycle


@event_type("PledgeDeclared", 1)
class PledgeDeclared(Event):
    pledge_id: str
    member_id: str
    branch_id: str
    year: int
    area: ResponsibilityArea
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    need_ids: tuple[str, ...]
    paired_employee_id: str | None


@event_type("PledgeRevisionRequested", 1)
class PledgeRevisionRequested(Event):
    pledge_id: str
    reasons: tuple[str, ...]


@event_type("PledgeRevised", 1)
class PledgeRevised(Event):
    """The re-declared pledge, every declared field, after the committee sent it back."""

    pledge_id: str
    area: ResponsibilityArea
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    need_ids: tuple[str, ...]
    paired_employee_id: str | None


@event_type("PledgeApproved", 1)
class PledgeApproved(Event):
    pledge_id: str
    member_id: str
    year: int
    area: ResponsibilityArea


@event_type("PairingAgreementSigned", 1)
class PairingAgreementSigned(Event):
    pledge_id: str
    member_id: str
    employee_id: str
    signed_on: date
    problem: str
    quarterly_work: QuarterlyWork
    final_goal: str


@event_type("PledgePublished", 1)
class PledgePublished(Event):
    pledge_id: str
    channels: tuple[PublicationChannel, ...]
    published_on: date


@event_type("LedgerEntryRecorded", 1)
class LedgerEntryRecorded(Event):
    pledge_id: str
    month: str
    assessment: LedgerAssessment
    note: str | None
    # Set when the month's entry was recorded after its time (the end of the next month):
    # why it is late. Absent in entries recorded on time.
    late_reason: str | None = None


@event_type("LedgerEntryCorrected", 1)
class LedgerEntryCorrected(Event):
    pledge_id: str
    month: str
    assessment: LedgerAssessment
    note: str | None
    reason: str


@event_type("PledgeAcceptanceRequested", 1)
class PledgeAcceptanceRequested(Event):
    pledge_id: str
    summary: str
    requested_on: date


@event_type("PledgeAccepted", 1)
class PledgeAccepted(Event):
    pledge_id: str
    need_ids: tuple[str, ...]
    accepted_on: date
    comment: str | None


@event_type("PledgeReturned", 1)
class PledgeReturned(Event):
    pledge_id: str
    reasons: tuple[str, ...]


@event_type("PledgeWithdrawn", 1)
class PledgeWithdrawn(Event):
    pledge_id: str
    reason: str | None


@event_type("PledgeHandedOver", 1)
class PledgeHandedOver(Event):
    """An open pledge follows its member to the branch they transferred to, whose committee
    keeps its ledger and accepts it from now on (the stream keeps its home partition)."""

    pledge_id: str
    from_branch_id: str
    to_branch_id: str


class CarriedAgreement(BaseModel):
    """The pairing agreement a carried-over pledge keeps: as signed in the earlier year."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    employee_id: str
    signed_on: date
    problem: str
    quarterly_work: QuarterlyWork
    final_goal: str


@event_type("PledgeCarriedOver", 1)
class PledgeCarriedOver(Event):
    """An approved pledge not finished in its year is carried over (结转) into the next, by
    the committee, with the reason. The pledge stays in its year and ends here: counted
    there as signed, not completed. Its continuation is ``to_pledge_id`` in ``to_year``."""

    pledge_id: str
    to_pledge_id: str
    to_year: int
    due_date: date
    reason: str


@event_type("PledgeCarriedIn", 1)
class PledgeCarriedIn(Event):
    """The first event of a pledge carried over from ``from_pledge_id`` of the year before:
    approved (and published, if it was) there, it starts here at the same step, with the
    new due date, the same member, branch, terms and pairing. Needs stay with the earlier
    pledge (they are that year's)."""

    pledge_id: str
    from_pledge_id: str
    member_id: str
    branch_id: str
    year: int
    area: ResponsibilityArea
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    paired_employee_id: str | None
    agreement: CarriedAgreement | None
    channels: tuple[PublicationChannel, ...]
    published_on: date | None
