"""Request bodies. Fields use the commands' own types, so a bad value is refused at the edge
with the same Chinese reason; path parameters complete them into commands."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.pledges.commands import (
    Month,
    Name,
    OptionalName,
    OptionalRef,
    OptionalText,
    Ref,
    Text,
    Title,
    Year,
)
from shared.contracts.pledges import (
    CommitteePosition,
    ExemptionReason,
    LedgerAssessment,
    Membership,
    PublicationChannel,
    ResponsibilityArea,
)


def _body(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [example]})


# Roster


class RegisterUnitBody(BaseModel):
    model_config = _body({"unit_id": "u-07", "name": "采油厂党委"})

    unit_id: Ref
    name: Title


class RegisterBranchBody(BaseModel):
    model_config = _body({"branch_id": "b-101", "unit_id": "u-07", "name": "采油一队党支部"})

    branch_id: Ref
    unit_id: Ref
    name: Title


class RegisterPersonBody(BaseModel):
    model_config = _body(
        {
            "person_id": "p-0002",
            "name": "李秀英",
            "branch_id": "b-101",
            "membership": "full_member",
            "post": "采油工",
        }
    )

    person_id: Ref
    name: Name
    branch_id: Ref
    membership: Membership
    post: OptionalName = None


class TransferBody(BaseModel):
    model_config = _body({"to_branch_id": "b-102"})

    to_branch_id: Ref


class DepartureBody(BaseModel):
    model_config = _body({"departed_on": "2024-06-30", "reason": "退休"})

    departed_on: date
    reason: OptionalText = None


class ExemptionBody(BaseModel):
    model_config = _body(
        {"year": 2024, "reason": "retired", "reason_text": None, "evidence": "退休审批表"}
    )

    year: Year
    reason: ExemptionReason
    reason_text: OptionalText = None
    evidence: Text


class RevocationBody(BaseModel):
    model_config = _body({"reason": "登记有误，已返岗"})

    reason: Text


class AppointmentBody(BaseModel):
    model_config = _body({"position": "secretary"})

    position: CommitteePosition


# Plan, needs, areas


class AdoptPlanBody(BaseModel):
    model_config = _body(
        {
            "title": "2024年党员塑形工程活动方案",
            "summary": "围绕安全生产和服务群众开展承诺践诺活动",
            "meeting_date": "2024-01-15",
        }
    )

    title: Title
    summary: Text
    meeting_date: date


class SubmitNeedBody(BaseModel):
    model_config = _body(
        {
            "need_id": "n-2024-0001",
            "branch_id": "b-101",
            "year": 2024,
            "employee_id": "p-0105",
            "problem": "夜班交接缺少照明，巡检不安全",
            "suggested_area": "safety",
        }
    )

    need_id: OptionalRef = None
    branch_id: Ref
    year: Year
    employee_id: Ref
    problem: Text
    suggested_area: ResponsibilityArea | None = None


class ClassifyNeedBody(BaseModel):
    model_config = _body({"area": "safety"})

    area: ResponsibilityArea


class ChooseAreaBody(BaseModel):
    model_config = _body({"area": "safety"})

    area: ResponsibilityArea


# Pledges

_TERMS_EXAMPLE: dict[str, Any] = {
    "area": "safety",
    "item": "夜班巡检照明改造",
    "content": "为井区夜班巡检路线加装照明并建立巡检记录",
    "quantity": "12处照明点",
    "quality_standard": "照明点全部通过安全验收，夜班巡检零事故",
    "due_date": "2024-09-30",
    "need_ids": ["n-2024-0001"],
    "paired_employee_id": "p-0105",
}


class PledgeTermsBody(BaseModel):
    model_config = _body(_TERMS_EXAMPLE)

    area: ResponsibilityArea
    item: Title
    content: Text
    quantity: Title
    quality_standard: Text
    due_date: date
    need_ids: tuple[Ref, ...] = ()
    paired_employee_id: OptionalRef = None


class DeclarePledgeBody(PledgeTermsBody):
    model_config = _body(
        {"pledge_id": "p-2024-0001", "member_id": "p-0002", "year": 2024, **_TERMS_EXAMPLE}
    )

    pledge_id: OptionalRef = None
    member_id: Ref
    year: Year


class ReasonsBody(BaseModel):
    model_config = _body({"reasons": ["完成时间过于宽松，请提前到第三季度内"]})

    reasons: tuple[Text, ...]


class SignAgreementBody(BaseModel):
    model_config = _body(
        {
            "signed_on": "2024-02-20",
            "problem": "夜班巡检照明不足",
            "q1": "勘察巡检路线，确定照明点",
            "q2": "完成一半照明点安装",
            "q3": "完成全部安装并验收",
            "q4": None,
            "final_goal": "夜班巡检全程有照明，零事故",
        }
    )

    signed_on: date
    problem: Text
    q1: OptionalText = None
    q2: OptionalText = None
    q3: OptionalText = None
    q4: OptionalText = None
    final_goal: Text


class PublishBody(BaseModel):
    model_config = _body(
        {"channels": ["staff_meeting", "notice_board"], "published_on": "2024-02-25"}
    )

    channels: tuple[PublicationChannel, ...]
    published_on: date


class LedgerEntryBody(BaseModel):
    model_config = _body({"month": "2024-03", "assessment": "on_track", "note": "已安装4处"})

    month: Month
    assessment: LedgerAssessment
    note: OptionalText = None
    late_reason: OptionalText = Field(
        default=None,
        description="补记理由: required once the month's time has passed (the end of the next "
        "month); ignored for an entry on time",
    )


class LedgerCorrectionBody(BaseModel):
    model_config = _body(
        {"assessment": "behind", "note": "实际安装2处", "reason": "核实现场后更正"}
    )

    assessment: LedgerAssessment
    note: OptionalText = None
    reason: Text


class AcceptanceRequestBody(BaseModel):
    model_config = _body({"summary": "12处照明点已全部安装并通过安全验收"})

    summary: Text


class AcceptBody(BaseModel):
    model_config = _body({"comment": "经现场查验，达到质量标准"})

    comment: OptionalText = None


class WithdrawBody(BaseModel):
    model_config = _body({"reason": "岗位调整，无法完成"})

    reason: OptionalText = None


class CarryOverBody(BaseModel):
    model_config = _body(
        {"reason": "受冬季施工影响，剩余4处照明点顺延至次年", "due_date": "2025-06-30"}
    )

    reason: Text
    due_date: date = Field(description="the new due date, in the next year and not before today")
