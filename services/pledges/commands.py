"""Commands of the pledges service: what someone asks the domain to do.

Each command validates its own values, so a bad value is refused before any state is read,
with a Chinese message that names the field. Rules that need state (the pledge's year, the
member's chosen area, the roster) are the domain's, in ``services.pledges.domain``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.contracts.pledges import (
    CommitteePosition,
    ExemptionReason,
    LedgerAssessment,
    Membership,
    PublicationChannel,
    ResponsibilityArea,
)
from shared.text import text_problem, typed

_LABELS = {
    "unit_id": "二级党委编号",
    "branch_id": "党支部编号",
    "to_branch_id": "调入党支部编号",
    "person_id": "人员编号",
    "member_id": "党员编号",
    "employee_id": "员工编号",
    "paired_employee_id": "结对员工编号",
    "need_id": "需求编号",
    "need_ids": "对应需求编号",
    "pledge_id": "承诺编号",
    "name": "名称",
    "post": "岗位",
    "reason": "原因",
    "reasons": "理由",
    "year": "年度",
    "title": "方案标题",
    "summary": "内容摘要",
    "problem": "问题描述",
    "item": "承诺项目",
    "content": "承诺内容",
    "quantity": "数量",
    "quality_standard": "质量标准",
    "final_goal": "最终目标",
    "q1": "第一季度工作内容",
    "q2": "第二季度工作内容",
    "q3": "第三季度工作内容",
    "q4": "第四季度工作内容",
    "month": "台账月份",
    "note": "考核说明",
    "comment": "验收意见",
    "reason_text": "免评原因说明",
    "evidence": "证明材料说明",
}
# Where one field name means different things in different commands.
_LABEL_OVERRIDES = {
    ("RegisterPerson", "name"): "姓名",
    ("RegisterUnit", "name"): "二级党委名称",
    ("RegisterBranch", "name"): "党支部名称",
    ("RequestAcceptance", "summary"): "完成情况",
    ("SignAgreement", "problem"): "承诺解决的问题",
    ("RequestRevision", "reasons"): "退回修改理由",
    ("ReturnPledge", "reasons"): "验收退回理由",
    ("CorrectLedgerEntry", "reason"): "更正理由",
    ("RecordDeparture", "reason"): "离开原因",
    ("WithdrawPledge", "reason"): "撤回原因",
    ("CarryOverPledge", "reason"): "结转理由",
    ("CarryOverBody", "reason"): "结转理由",
}

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _label(info: ValidationInfo) -> str:
    model = (info.config or {}).get("title", "")
    field = info.field_name or ""
    return _LABEL_OVERRIDES.get((model, field)) or _LABELS.get(field, field)


def _text(max_length: int, *, multiline: bool = True) -> AfterValidator:
    def check(value: str, info: ValidationInfo) -> str:
        text = typed(value)
        if not text:
            raise PydanticCustomError("blank_text", "{label}不能为空", {"label": _label(info)})
        if len(text) > max_length:
            raise PydanticCustomError(
                "text_too_long",
                "{label}不能超过{max_length}个字",
                {"label": _label(info), "max_length": max_length},
            )
        if (problem := text_problem(text, multiline=multiline)) is not None:
            raise PydanticCustomError(
                "unsafe_text", "{label}{problem}", {"label": _label(info), "problem": problem}
            )
        return text

    return AfterValidator(check)


def _ref(value: str, info: ValidationInfo) -> str:
    if not _REF.fullmatch(value):
        raise PydanticCustomError(
            "bad_ref",
            "{label}格式不正确：只能由字母、数字和 - _ . : 组成，最长64个字符",
            {"label": _label(info)},
        )
    return value


def _year(value: int, info: ValidationInfo) -> int:
    if not 2000 <= value <= 2100:
        raise PydanticCustomError("bad_year", "年度须在2000年到2100年之间", {})
    return value


def _month(value: str, info: ValidationInfo) -> str:
    if not _MONTH.fullmatch(value):
        raise PydanticCustomError("bad_month", "台账月份须为YYYY-MM格式，例如2024-03", {})
    return value


def _blank_to_none(value: Any) -> Any:
    # Forms send an empty string for an optional field left empty.
    if isinstance(value, str) and not value.strip():
        return None
    return value


Ref = Annotated[str, AfterValidator(_ref)]
Year = Annotated[int, AfterValidator(_year)]
Month = Annotated[str, AfterValidator(_month)]
Name = Annotated[str, _text(50, multiline=False)]
Title = Annotated[str, _text(200)]
Text = Annotated[str, _text(2000)]
OptionalName = Annotated[Name | None, BeforeValidator(_blank_to_none)]
OptionalText = Annotated[Text | None, BeforeValidator(_blank_to_none)]
OptionalRef = Annotated[Ref | None, BeforeValidator(_blank_to_none)]


T = TypeVar("T")


def _unique(values: tuple[T, ...]) -> tuple[T, ...]:
    """Drop repeated values, keeping the first occurrence's order."""
    return tuple(dict.fromkeys(values))


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# Roster


class RegisterUnit(Command):
    """Register a unit party committee, or bring its name up to date (idempotent)."""

    unit_id: Ref
    name: Title


class RegisterBranch(Command):
    """Register a branch under its unit, or bring its name up to date (idempotent)."""

    branch_id: Ref
    unit_id: Ref
    name: Title


class RegisterPerson(Command):
    """Register a person on the roster, or bring them up to date (idempotent)."""

    person_id: Ref
    name: Name
    branch_id: Ref
    membership: Membership
    post: OptionalName = None


class TransferPerson(Command):
    person_id: Ref
    to_branch_id: Ref


class RecordDeparture(Command):
    person_id: Ref
    departed_on: date
    reason: OptionalText = None


class ExemptMember(Command):
    """Exempt a party member from a year's review (免于评议)."""

    member_id: Ref
    year: Year
    reason: ExemptionReason
    reason_text: OptionalText = None
    evidence: Text

    @model_validator(mode="after")
    def _other_needs_words(self) -> ExemptMember:
        if self.reason is ExemptionReason.OTHER and self.reason_text is None:
            raise PydanticCustomError(
                "reason_text_required", "免评原因为“其他”时须填写免评原因说明", {}
            )
        return self


class RevokeExemption(Command):
    member_id: Ref
    year: Year
    reason: Text


class AppointCommitteeMember(Command):
    person_id: Ref
    position: CommitteePosition


class RemoveCommitteeMember(Command):
    person_id: Ref


# Annual plan and needs


class AdoptPlan(Command):
    branch_id: Ref
    year: Year
    title: Title
    summary: Text
    meeting_date: date

    @field_validator("meeting_date")
    @classmethod
    def _meeting_in_time(cls, value: date, info: ValidationInfo) -> date:
        year = info.data.get("year")
        # The plan is adopted at the start of the year, possibly at a meeting in December.
        if year is not None and value.year not in (year - 1, year):
            raise PydanticCustomError(
                "meeting_date_out_of_year",
                "会议日期须在{previous}年或{year}年内",
                {"previous": year - 1, "year": year},
            )
        return value


class SubmitNeed(Command):
    need_id: Ref
    branch_id: Ref
    year: Year
    employee_id: Ref
    problem: Text
    suggested_area: ResponsibilityArea | None = None


class ClassifyNeed(Command):
    need_id: Ref
    area: ResponsibilityArea


# Responsibility area


class ChooseArea(Command):
    person_id: Ref
    year: Year
    area: ResponsibilityArea


# Pledge lifecycle


class _PledgeTerms(Command):
    """What a member declares, and re-declares after the committee sent it back."""

    area: ResponsibilityArea
    item: Title
    content: Text
    quantity: Title
    quality_standard: Text
    due_date: date
    need_ids: tuple[Ref, ...] = ()
    paired_employee_id: OptionalRef = None

    @field_validator("need_ids")
    @classmethod
    def _distinct_needs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _unique(value)


class DeclarePledge(_PledgeTerms):
    pledge_id: Ref
    member_id: Ref
    year: Year


class RevisePledge(_PledgeTerms):
    pledge_id: Ref


class _WithReasons(Command):
    reasons: tuple[Text, ...]

    @field_validator("reasons")
    @classmethod
    def _at_least_one(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        if not value:
            raise PydanticCustomError("no_reasons", "{label}至少填写一条", {"label": _label(info)})
        return value


class RequestRevision(_WithReasons):
    pledge_id: Ref


class ApprovePledge(Command):
    pledge_id: Ref


class SignAgreement(Command):
    """The pairing agreement (结对协议书) between the member and the paired employee."""

    pledge_id: Ref
    signed_on: date
    problem: Text
    q1: OptionalText = None
    q2: OptionalText = None
    q3: OptionalText = None
    q4: OptionalText = None
    final_goal: Text

    @model_validator(mode="after")
    def _some_quarter_planned(self) -> SignAgreement:
        if not any((self.q1, self.q2, self.q3, self.q4)):
            raise PydanticCustomError("no_quarterly_work", "季度工作内容至少填写一个季度", {})
        return self


class PublishPledge(Command):
    pledge_id: Ref
    channels: tuple[PublicationChannel, ...]
    published_on: date

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, value: tuple[PublicationChannel, ...]) -> tuple[PublicationChannel, ...]:
        if not value:
            raise PydanticCustomError("no_channel", "公开形式至少选择一种", {})
        return _unique(value)


class RecordLedgerEntry(Command):
    pledge_id: Ref
    month: Month
    assessment: LedgerAssessment
    note: OptionalText = None
    late_reason: OptionalText = Field(
        default=None,
        description="why the entry is recorded late; required once the month's time (the end "
        "of the next month) has passed",
    )


class CorrectLedgerEntry(Command):
    pledge_id: Ref
    month: Month
    assessment: LedgerAssessment
    note: OptionalText = None
    reason: Text


class RequestAcceptance(Command):
    pledge_id: Ref
    summary: Text


class AcceptPledge(Command):
    pledge_id: Ref
    comment: OptionalText = None


class ReturnPledge(_WithReasons):
    pledge_id: Ref


class WithdrawPledge(Command):
    pledge_id: Ref
    reason: OptionalText = None


class CarryOverPledge(Command):
    """Carry an approved, unfinished pledge over into the next year (结转), with the reason
    and the new due date in that year."""

    pledge_id: Ref
    reason: Text
    due_date: date
