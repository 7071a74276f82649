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
    """A branch committee member's position (支委会职务)."""

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
    """The work planned for each quarter in a pairing agreement (季度开展工作内容); a quarter
    may be empty when the pledge starts or ends within the year."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    q1: str | None = None
    """The work planned for the first quarter (第一季度工作内容); null when none."""
    q2: str | None = None
    """The work planned for the second quarter (第二季度工作内容); null when none."""
    q3: str | None = None
    """The work planned for the third quarter (第三季度工作内容); null when none."""
    q4: str | None = None
    """The work planned for the fourth quarter (第四季度工作内容); null when none."""


# Roster


@event_type("UnitRegistered", 1, term="登记二级党委")
class UnitRegistered(Event):
    """A unit party committee (二级党委) was put on the roster by the organization department
    or an operator. Subscribers add the unit to the organization tree they keep."""

    unit_id: str
    """The unit's id (二级党委编号), stable for good."""
    name: str
    """The unit's name (二级党委名称), e.g. 采油厂党委."""


@event_type("UnitRenamed", 1, term="二级党委更名")
class UnitRenamed(Event):
    """A registered unit party committee's name was brought up to date on the roster.
    Subscribers show the new name from now on; the id is unchanged."""

    unit_id: str
    """The unit's id (二级党委编号)."""
    name: str
    """The unit's new name (二级党委名称)."""


@event_type("BranchRegistered", 1, term="登记党支部")
class BranchRegistered(Event):
    """A party branch (党支部/总支) was put on the roster under its unit, by the organization
    department or an operator. Subscribers add the branch to the organization tree; its unit
    never changes."""

    branch_id: str
    """The branch's id (党支部编号), stable for good."""
    unit_id: str
    """The id of the unit party committee (二级党委) the branch belongs to."""
    name: str
    """The branch's name (党支部名称), e.g. 采油一队党支部."""


@event_type("BranchRenamed", 1, term="党支部更名")
class BranchRenamed(Event):
    """A registered branch's name was brought up to date on the roster. Subscribers show the
    new name from now on; the id is unchanged."""

    branch_id: str
    """The branch's id (党支部编号)."""
    name: str
    """The branch's new name (党支部名称)."""


@event_type("PersonRegistered", 1, term="登记人员")
class PersonRegistered(Event):
    """A person (party member or not; everyone on the roster is an employee) was put on the
    roster (花名册) of a branch by the organization department or an operator. Subscribers add
    them to the branch's people: members get a card, employees may review."""

    person_id: str
    """The person's id (人员编号), stable for good; member and employee ids are these."""
    name: str
    """The person's name (姓名)."""
    branch_id: str
    """The id of the branch (党支部) the person belongs to."""
    membership: Membership
    """The person's standing in the party: full member, probationary member or non-member."""
    post: str | None
    """The person's post (岗位), e.g. 采油工; null when not given."""


@event_type("PersonUpdated", 1, term="更新人员信息")
class PersonUpdated(Event):
    """A registered person's name, standing in the party or post changed on the roster (by
    the organization department or an operator). The person's attributes after the change,
    all of them, so a reader needs no history.

    A change of branch is a ``PersonTransferred`` instead."""

    person_id: str
    """The person's id (人员编号)."""
    name: str
    """The person's name (姓名) now."""
    membership: Membership
    """The person's standing in the party now."""
    post: str | None
    """The person's post (岗位) now; null when none is given."""


@event_type("PersonTransferred", 1, term="人员调动")
class PersonTransferred(Event):
    """A person moved from one branch to another (调动), recorded by the organization
    department or an operator. Subscribers move them to the new branch; their past years stay
    with the old one (DOMAIN.md section 5, "Transfers")."""

    person_id: str
    """The person's id (人员编号)."""
    from_branch_id: str
    """The id of the branch the person left."""
    to_branch_id: str
    """The id of the branch the person joined (调入党支部)."""


@event_type("PersonDeparted", 1, term="人员离开")
class PersonDeparted(Event):
    """A person left the company's roster (登记人员离开), recorded by the organization
    department or an operator. Subscribers stop counting them from that day: they no longer
    review anyone; their past results stay."""

    person_id: str
    """The person's id (人员编号)."""
    branch_id: str
    """The id of the branch the person belonged to when they left."""
    departed_on: date
    """The day the person left (Beijing calendar date)."""
    reason: str | None
    """Why the person left (离开原因), in words; null when not given."""


@event_type("MemberExempted", 1, term="免于评议")
class MemberExempted(Event):
    """The committee exempted a party member from the year's review (免于评议): the member
    keeps a card that says so and is counted apart, not as missing."""

    member_id: str
    """The exempted party member's person id (党员编号)."""
    branch_id: str
    """The id of the member's branch when the exemption was recorded."""
    year: int
    """The review year the exemption is for (年度)."""
    reason: ExemptionReason
    """Why the member is exempt (免评原因): retired, long-term illness, mobile member, other."""
    reason_text: str | None
    """The reason in words (免评原因说明); required when ``reason`` is ``other``."""
    evidence: str
    """The evidence note (证明材料说明, e.g. the retirement notice or the sick leave
    certificate)."""


@event_type("MemberExemptionRevoked", 1, term="撤销免评")
class MemberExemptionRevoked(Event):
    """An exemption recorded by mistake or no longer true is revoked (by the branch committee,
    the unit committee or the organization department); the member is reviewed for the year
    again."""

    member_id: str
    """The party member's person id (党员编号)."""
    branch_id: str
    """The id of the member's branch when the revocation was recorded."""
    year: int
    """The review year whose exemption is revoked (年度)."""
    reason: str
    """Why the exemption is revoked (撤销原因), in words."""


@event_type("CommitteeMemberAppointed", 1, term="任命支部委员")
class CommitteeMemberAppointed(Event):
    """A full party member was appointed to their branch's committee (支委会) in a position,
    by the organization department or an operator. Subscribers grant the committee's duties
    (approving pledges, the branch review) from now on."""

    person_id: str
    """The appointed member's person id (人员编号)."""
    branch_id: str
    """The id of the branch whose committee they join."""
    position: CommitteePosition
    """The position held (职务): secretary, deputy secretary or committee member."""


@event_type("CommitteeMemberRemoved", 1, term="免去支部委员")
class CommitteeMemberRemoved(Event):
    """A person left their branch's committee (removed, transferred away, departed, or no
    longer a full member). Subscribers take the committee's duties away from them from now
    on."""

    person_id: str
    """The former committee member's person id (人员编号)."""
    branch_id: str
    """The id of the branch whose committee they left."""


# Annual plan and needs


@event_type("PlanAdopted", 1, term="通过年度活动方案")
class PlanAdopted(Event):
    """The branch committee adopted the branch's activity plan (活动方案) for the year, the
    first of the six steps; from now on its employees' needs for the year may be submitted."""

    branch_id: str
    """The id of the branch whose plan it is."""
    year: int
    """The year the plan is for (年度)."""
    title: str
    """The plan's title (方案标题)."""
    summary: str
    """The plan's content in brief (内容摘要)."""
    meeting_date: date
    """The day of the meeting that adopted the plan (Beijing calendar date; in the year or in
    the December before)."""


@event_type("PlanAmended", 1, term="修改年度活动方案")
class PlanAmended(Event):
    """The branch committee adopted a different activity plan for a year that already had
    one; it replaces the earlier plan whole."""

    branch_id: str
    """The id of the branch whose plan it is."""
    year: int
    """The year the plan is for (年度)."""
    title: str
    """The plan's title (方案标题) now."""
    summary: str
    """The plan's content in brief (内容摘要) now."""
    meeting_date: date
    """The day of the meeting that adopted the plan (Beijing calendar date)."""


@event_type("NeedSubmitted", 1, term="提交需求")
class NeedSubmitted(Event):
    """An employee submitted a problem they need help with (员工需求), in production or daily
    life, for the branch to classify and its members to answer with pledges (step 1)."""

    need_id: str
    """The need's id (需求编号)."""
    branch_id: str
    """The id of the branch the need was submitted to."""
    year: int
    """The year the need belongs to (年度)."""
    employee_id: str
    """The person id of the employee who submitted it (员工编号)."""
    problem: str
    """The problem in the employee's words (问题描述)."""
    suggested_area: ResponsibilityArea | None
    """The responsibility area the employee suggests (建议责任区); null when none."""


@event_type("NeedClassified", 1, term="需求分类")
class NeedClassified(Event):
    """The branch committee classified a need under a responsibility area (分类汇总), or
    classified it again; the latest classification counts."""

    need_id: str
    """The need's id (需求编号)."""
    area: ResponsibilityArea
    """The responsibility area the need is classified under."""


@event_type("NeedPledgeLinked", 1, term="需求对应承诺")
class NeedPledgeLinked(Event):
    """A declared or revised pledge names the need as one it answers; recorded on the need's
    stream so the need lists the pledges answering it."""

    need_id: str
    """The need's id (需求编号)."""
    pledge_id: str
    """The id of the pledge that answers the need (承诺编号)."""


@event_type("NeedPledgeUnlinked", 1, term="取消需求对应承诺")
class NeedPledgeUnlinked(Event):
    """A pledge no longer answers the need: it was revised without it, or withdrawn.
    Subscribers drop the pledge from the need's answers."""

    need_id: str
    """The need's id (需求编号)."""
    pledge_id: str
    """The id of the pledge that no longer answers the need (承诺编号)."""


@event_type("NeedSolved", 1, term="需求已解决")
class NeedSolved(Event):
    """The first pledge answering the need was accepted, so the need is solved (解决问题);
    it counts among the problems solved for employees and takes no new pledges."""

    need_id: str
    """The need's id (需求编号)."""
    pledge_id: str
    """The id of the accepted pledge that solved it (承诺编号)."""
    solved_on: date
    """The day that pledge was accepted (Beijing calendar date)."""


# Responsibility area of a member for a year


@event_type("ResponsibilityAreaChosen", 1, term="选定责任区")
class ResponsibilityAreaChosen(Event):
    """A party member chose their one responsibility area (党员责任区) for the year; their
    pledges of the year are declared within it."""

    person_id: str
    """The member's person id (党员编号)."""
    year: int
    """The year the area is chosen for (年度)."""
    area: ResponsibilityArea
    """The chosen responsibility area."""


@event_type("ResponsibilityAreaChanged", 1, term="更改责任区")
class ResponsibilityAreaChanged(Event):
    """A party member changed the year's responsibility area before any of their pledges of
    the year was approved; the new area replaces the earlier one."""

    person_id: str
    """The member's person id (党员编号)."""
    year: int
    """The year the area is for (年度)."""
    previous_area: ResponsibilityArea
    """The area chosen before."""
    area: ResponsibilityArea
    """The area chosen now."""


@event_type("ResponsibilityAreaLocked", 1, term="责任区确定")
class ResponsibilityAreaLocked(Event):
    """The member's first pledge of the year was approved; the area is fixed from now on.

    Recorded with the approval, on the member's year stream; a change of the year's area is
    refused from now on."""

    person_id: str
    """The member's person id (党员编号)."""
    year: int
    """The year whose area is fixed (年度)."""
    pledge_id: str
    """The id of the approved pledge that fixed it (承诺编号)."""


# Pledge lifecycle


@event_type("PledgeDeclared", 1, term="申报承诺")
class PledgeDeclared(Event):
    """A party member declared a pledge (党员申报承诺, step 2) within their responsibility area:
    item, content, quantity, quality standard, due date and the needs it answers. The branch
    committee approves it or sends it back; it is not public yet."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    member_id: str
    """The declaring party member's person id (党员编号)."""
    branch_id: str
    """The id of the member's branch, whose committee decides on the pledge."""
    year: int
    """The year the pledge belongs to (年度)."""
    area: ResponsibilityArea
    """The responsibility area the pledge is within (the member's area of the year)."""
    item: str
    """The pledge item (承诺项目), in brief."""
    content: str
    """What the member pledges to do (承诺内容)."""
    quantity: str
    """How much (数量), in words."""
    quality_standard: str
    """The quality standard (质量标准) the result is accepted against."""
    due_date: date
    """The due date (完成时限), Beijing calendar date."""
    need_ids: tuple[str, ...]
    """Ids of the employees' needs the pledge answers (对应需求编号); may be empty."""
    paired_employee_id: str | None
    """Person id of the employee paired with the member for this pledge (结对员工);
    null when there is no pairing (then no pairing agreement is signed)."""


@event_type("PledgeRevisionRequested", 1, term="退回修改")
class PledgeRevisionRequested(Event):
    """The branch committee sent a declared pledge back for revision (step 3), with its
    reasons; the member revises and re-declares it, or withdraws it."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    reasons: tuple[str, ...]
    """The committee's reasons (退回修改理由), one per item, at least one."""


@event_type("PledgeRevised", 1, term="修改后重新申报")
class PledgeRevised(Event):
    """The member re-declared a pledge the committee had sent back (修改后重新申报): the
    re-declared pledge, every declared field, after the committee sent it back. The terms
    replace the declared ones whole, and the committee decides on the pledge again."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    area: ResponsibilityArea
    """The responsibility area the pledge is within (the member's area of the year)."""
    item: str
    """The pledge item (承诺项目), in brief."""
    content: str
    """What the member pledges to do (承诺内容)."""
    quantity: str
    """How much (数量), in words."""
    quality_standard: str
    """The quality standard (质量标准) the result is accepted against."""
    due_date: date
    """The due date (完成时限), Beijing calendar date."""
    need_ids: tuple[str, ...]
    """Ids of the employees' needs the pledge answers (对应需求编号); may be empty."""
    paired_employee_id: str | None
    """Person id of the employee paired with the member for this pledge (结对员工);
    null when there is no pairing (then no pairing agreement is signed)."""


@event_type("PledgeApproved", 1, term="通过定诺")
class PledgeApproved(Event):
    """The branch committee approved the pledge (定诺, step 3): it is the branch's pledge now,
    counted as signed, and the member can no longer withdraw it. Next come the pairing
    agreement (if any) and publication."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    member_id: str
    """The pledging party member's person id (党员编号)."""
    year: int
    """The year the pledge belongs to (年度)."""
    area: ResponsibilityArea
    """The responsibility area the pledge is within."""


@event_type("PairingAgreementSigned", 1, term="签订结对协议书")
class PairingAgreementSigned(Event):
    """The member and the paired employee signed the pairing agreement (结对协议书, step 4) of an
    approved pledge, as the branch committee recorded; it counts as a pairing formed, and the
    pledge may now be published."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    member_id: str
    """The pledging party member's person id (党员编号)."""
    employee_id: str
    """The paired employee's person id (结对员工编号)."""
    signed_on: date
    """The signing date (签订时间), Beijing calendar date."""
    problem: str
    """The problem the pledge is to solve (承诺解决的问题)."""
    quarterly_work: QuarterlyWork
    """The work planned for each quarter (季度开展工作内容)."""
    final_goal: str
    """The final goal of the pairing (最终目标)."""


@event_type("PledgePublished", 1, term="公开承诺")
class PledgePublished(Event):
    """The pledge was announced publicly (公开承诺, step 5), as the branch committee recorded:
    visible to all the branch's staff from now on, and tracked in the monthly ledger until
    accepted."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    channels: tuple[PublicationChannel, ...]
    """How it was made public (公开方式): one or more, each at most once."""
    published_on: date
    """The day it was made public (公开日期), Beijing calendar date."""


@event_type("LedgerEntryRecorded", 1, term="记录月度台账")
class LedgerEntryRecorded(Event):
    """The branch committee recorded a month's assessment of a published pledge in the
    ledger (台账, step 6), to be posted publicly; one entry per pledge per month."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    month: str
    """The ledger month (台账月份) assessed, as YYYY-MM, e.g. 2024-03."""
    assessment: LedgerAssessment
    """The month's assessment (本月考核): on track, behind, or done."""
    note: str | None
    """The committee's note on the month (考核说明); null when none."""
    late_reason: str | None = None
    """Why the entry is late (补记理由): set when the month's entry was recorded after its time
    (the end of the next month); null in entries recorded on time."""


@event_type("LedgerEntryCorrected", 1, term="更正月度台账")
class LedgerEntryCorrected(Event):
    """The branch committee corrected a recorded month's ledger entry, with the reason; the
    corrected entry replaces the month's earlier one whole."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    month: str
    """The ledger month (台账月份) corrected, as YYYY-MM."""
    assessment: LedgerAssessment
    """The month's assessment (本月考核) after the correction."""
    note: str | None
    """The note on the month (考核说明) after the correction; null when none."""
    reason: str
    """Why the entry was corrected (更正理由), posted with the ledger."""


@event_type("PledgeAcceptanceRequested", 1, term="申请验收")
class PledgeAcceptanceRequested(Event):
    """The member reported a published pledge done and applied for acceptance (申请验收, step
    6); the branch committee accepts it or returns it."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    summary: str
    """What the member did (完成情况), in their words."""
    requested_on: date
    """The day of the application, Beijing calendar date."""


@event_type("PledgeAccepted", 1, term="验收通过")
class PledgeAccepted(Event):
    """The branch committee accepted the pledge (验收通过): it is completed, and the needs it
    answers are solved. Subscribers count it as a pledge completed."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    need_ids: tuple[str, ...]
    """Ids of the needs the pledge answers (对应需求编号), solved by it unless already solved;
    may be empty."""
    accepted_on: date
    """The day of acceptance (验收日期), Beijing calendar date."""
    comment: str | None
    """The committee's comment (验收意见); null when none."""


@event_type("PledgeReturned", 1, term="验收退回")
class PledgeReturned(Event):
    """The branch committee returned an application for acceptance with its reasons (验收退回):
    the pledge is tracked again, and the member may apply again."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    reasons: tuple[str, ...]
    """The committee's reasons (验收退回理由), one per item, at least one."""


@event_type("PledgeWithdrawn", 1, term="撤回承诺")
class PledgeWithdrawn(Event):
    """A pledge not yet approved was withdrawn (撤回承诺), by its member or because the member
    transferred to another branch; it ends here and no longer answers any need."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    reason: str | None
    """Why it was withdrawn (撤回原因); null when not given."""


@event_type("PledgeHandedOver", 1, term="移交新党支部")
class PledgeHandedOver(Event):
    """An open pledge follows its member to the branch they transferred to, whose committee
    keeps its ledger and accepts it from now on (the stream keeps its home partition)."""

    pledge_id: str
    """The pledge's id (承诺编号)."""
    from_branch_id: str
    """The id of the branch that decided on the pledge until now."""
    to_branch_id: str
    """The id of the branch that decides on it from now on (the member's new branch)."""


class CarriedAgreement(BaseModel):
    """The pairing agreement a carried-over pledge keeps: as signed in the earlier year."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    employee_id: str
    """The paired employee's person id (结对员工编号)."""
    signed_on: date
    """The signing date (签订时间) in the earlier year, Beijing calendar date."""
    problem: str
    """The problem the pledge is to solve (承诺解决的问题)."""
    quarterly_work: QuarterlyWork
    """The work planned for each quarter (季度开展工作内容), as signed."""
    final_goal: str
    """The final goal of the pairing (最终目标)."""


@event_type("PledgeCarriedOver", 1, term="结转下一年度")
class PledgeCarriedOver(Event):
    """An approved pledge not finished in its year is carried over (结转) into the next, by
    the committee, with the reason. The pledge stays in its year and ends here: counted
    there as signed, not completed. Its continuation is ``to_pledge_id`` in ``to_year``."""

    pledge_id: str
    """The id of the pledge carried over (承诺编号), which ends here."""
    to_pledge_id: str
    """The id of its continuation in the next year (a ``PledgeCarriedIn`` starts it)."""
    to_year: int
    """The year the pledge is carried into (the next year)."""
    due_date: date
    """The continuation's new due date (完成时限), Beijing calendar date."""
    reason: str
    """Why it is carried over (结转理由)."""


@event_type("PledgeCarriedIn", 1, term="由上一年度结转")
class PledgeCarriedIn(Event):
    """The first event of a pledge carried over from ``from_pledge_id`` of the year before:
    approved (and published, if it was) there, it starts here at the same step, with the
    new due date, the same member, branch, terms and pairing. Needs stay with the earlier
    pledge (they are that year's)."""

    pledge_id: str
    """The new pledge's id (承诺编号) in this year."""
    from_pledge_id: str
    """The id of the pledge of the year before it continues."""
    member_id: str
    """The pledging party member's person id (党员编号)."""
    branch_id: str
    """The id of the branch that decides on the pledge."""
    year: int
    """The year the pledge is carried into (年度)."""
    area: ResponsibilityArea
    """The responsibility area of the earlier pledge (it fixes the member's area this year)."""
    item: str
    """The pledge item (承诺项目), as before."""
    content: str
    """What the member pledges to do (承诺内容), as before."""
    quantity: str
    """How much (数量), in words, as before."""
    quality_standard: str
    """The quality standard (质量标准), as before."""
    due_date: date
    """The new due date (完成时限), Beijing calendar date."""
    paired_employee_id: str | None
    """Person id of the paired employee (结对员工), as before; null when no pairing."""
    agreement: CarriedAgreement | None
    """The pairing agreement signed in the earlier year; null when none was signed."""
    channels: tuple[PublicationChannel, ...]
    """How the earlier pledge was made public (公开方式); empty when it was not published."""
    published_on: date | None
    """The day the earlier pledge was made public (公开日期), Beijing calendar date; null
    when it was not published."""
