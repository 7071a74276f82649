"""What the queries answer. No view links a reviewer to a score: a ballot's scores are shown
only to the reviewer who cast it, and only while its period is open; results come from the
tallies recorded when a period closes (sealed until then, and never for a group below the
minimum); names of people who have not voted are shown only while the period is open."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.reviews import BallotRole, ScopeLevel
from shared.contracts.scoring import Period, ReviewKind


def _view(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(frozen=True, json_schema_extra={"examples": [example]})


class PeriodView(BaseModel):
    model_config = _view(
        {
            "period_id": "rp-2024-peer-q1-b-101",
            "title": "2024年第一季度党员互评",
            "kind": "peer",
            "period": "Q1",
            "year": 2024,
            "scope_level": "branch",
            "unit_id": "u-07",
            "branch_id": "b-101",
            "deadline": "2024-03-31T16:00:00Z",
            "opens_on": "2024-01-01",
            "closes_on": "2024-03-31",
            "window": "2024年1月1日至2024年3月31日",
            "closed": False,
            "closing_reason": None,
        }
    )

    period_id: str
    title: str = Field(description="如“2024年第一季度党员互评”")
    kind: ReviewKind
    period: Period
    year: int
    scope_level: ScopeLevel
    unit_id: str | None
    branch_id: str | None
    deadline: datetime | None
    opens_on: date = Field(description="投票开始日（北京时间，含当日）")
    closes_on: date = Field(description="投票结束日（北京时间，含当日）")
    window: str = Field(description="投票时间，如“2024年1月1日至2024年3月31日”")
    closed: bool
    closing_reason: str | None = Field(description="结束原因（中文）；未结束为空")


class BallotLineView(BaseModel):
    model_config = ConfigDict(frozen=True)

    member_id: str
    member_name: str | None
    score: Decimal
    comment: str | None


class BallotMember(BaseModel):
    member_id: str
    name: str


class BallotMembersView(BaseModel):
    """Whom the caller may rate in a period and role, by the same rules that decide a cast
    (``reviewer_refusal``, ``rated_refusal``): a paired employee sees only the members they
    are paired with. ``may_vote`` false says why in ``reason``; then ``members`` is empty."""

    period_id: str
    role: BallotRole
    role_label: str
    may_vote: bool
    reason: str | None = Field(description="why the caller may not vote in this role (中文)")
    members: list[BallotMember]


class MyBallotView(BaseModel):
    """The caller's own ballot, as it now counts."""

    model_config = _view(
        {
            "period_id": "rp-2024-peer-q1-b-101",
            "role": "peer",
            "role_label": "党员互评",
            "scores": [
                {"member_id": "p-0002", "member_name": "李秀英", "score": "92.00", "comment": None}
            ],
            "amendable": True,
            "counted": True,
            "receipt": "7KQ2M-XH4PD-9TRWB-C3NEF",
            "message": "评议期结束前可以重新投票修改，以最后一次为准",
        }
    )

    period_id: str
    role: BallotRole
    role_label: str
    scores: list[BallotLineView] = Field(description="只在评议期进行中显示；结束后不再显示评分")
    amendable: bool = Field(description="评议期结束前可以重新投票修改")
    counted: bool = Field(description="选票已计入")
    receipt: str | None = Field(description="投票回执码（密钥销毁后不再能按身份查出）")
    message: str


class ReceiptCheckView(BaseModel):
    """Whether a receipt code belongs to a counted ballot of the period; nothing else."""

    model_config = _view(
        {"period_id": "rp-2024-peer-q1-b-101", "counted": True, "message": "该回执对应的选票已计入"}
    )

    period_id: str
    counted: bool
    message: str


class Reminder(BaseModel):
    model_config = ConfigDict(frozen=True)

    person_id: str
    name: str


class RoleCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: BallotRole
    role_label: str
    eligible: int = Field(description="有资格投票的人数")
    voted: int = Field(description="已投票人数")
    percent: Decimal | None = Field(description="参评率（%），无人有资格时为空")


class RoleTurnout(RoleCount):
    """A branch's turnout of one role: the counts, and while the period is open who has
    not voted yet (to remind them)."""

    not_voted: list[Reminder] = Field(
        description="尚未投票的人（仅在评议期进行中显示，用于提醒），不含任何评分"
    )


class TurnoutView(BaseModel):
    model_config = _view(
        {
            "period_id": "rp-2024-mass-h1-b-101",
            "title": "2024年上半年群众评议",
            "branch_id": "b-101",
            "closed": False,
            "roles": [
                {
                    "role": "all_staff",
                    "role_label": "群众评议（全体员工）",
                    "eligible": 5,
                    "voted": 4,
                    "percent": "80.00",
                    "not_voted": [{"person_id": "p-0105", "name": "赵磊"}],
                }
            ],
        }
    )

    period_id: str
    title: str
    branch_id: str
    closed: bool
    roles: list[RoleTurnout]


class PartView(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: BallotRole
    role_label: str
    ballots: int
    average: Decimal


class PeriodResultView(BaseModel):
    model_config = _view(
        {
            "period_id": "rp-2024-peer-q1-b-101",
            "title": "2024年第一季度党员互评",
            "kind": "peer",
            "closed": True,
            "ballots": 4,
            "min_ballots": 3,
            "status": "available",
            "status_label": "已出结果",
            "average": "91.50",
            "parts": [{"role": "peer", "role_label": "党员互评", "ballots": 4, "average": "91.50"}],
            "assessments": [],
        }
    )

    period_id: str
    title: str
    kind: ReviewKind
    closed: bool
    ballots: int | None = Field(description="评议该党员的有效票数；评议进行中不显示")
    min_ballots: int
    status: str = Field(
        description="open 评议进行中、available 已出结果、insufficient_ballots 票数不足、"
        "single_part 缺少一部分群众评议"
    )
    status_label: str
    average: Decimal | None = Field(
        description="本期结果（群众评议为两部分按评分办法合成的结果）；未出结果时为空"
    )
    parts: list[PartView] = Field(description="每一部分都达到最少票数时才分项显示")
    assessments: list[str] = Field(description="党支部评议的评价意见（不署名）")


class MemberResultsView(BaseModel):
    model_config = _view(
        {
            "member_id": "p-0002",
            "name": "李秀英",
            "branch_id": "b-101",
            "year": 2024,
            "periods": [
                {
                    "period_id": "rp-2024-peer-q1-b-101",
                    "title": "2024年第一季度党员互评",
                    "kind": "peer",
                    "closed": False,
                    "ballots": None,
                    "min_ballots": 3,
                    "status": "open",
                    "status_label": "评议进行中",
                    "average": None,
                    "parts": [],
                    "assessments": [],
                }
            ],
        }
    )

    member_id: str
    name: str
    branch_id: str
    year: int
    periods: list[PeriodResultView]


class MemberOverview(BaseModel):
    model_config = ConfigDict(frozen=True)

    member_id: str
    name: str
    ballots: int | None = Field(description="评议进行中不显示")
    status: str
    status_label: str
    average: Decimal | None
    parts: list[PartView]


class BranchOverview(BaseModel):
    model_config = _view(
        {
            "branch_id": "b-101",
            "period_id": "rp-2024-branch-h1-b-101",
            "title": "2024年上半年党支部评议",
            "closed": True,
            "min_ballots": 3,
            "turnout": [
                {
                    "role": "branch",
                    "role_label": "党支部评议",
                    "eligible": 3,
                    "voted": 3,
                    "percent": "100.00",
                    "not_voted": [],
                }
            ],
            "members": [
                {
                    "member_id": "p-0002",
                    "name": "李秀英",
                    "ballots": 3,
                    "status": "available",
                    "status_label": "已出结果",
                    "average": "93.00",
                    "parts": [
                        {
                            "role": "branch",
                            "role_label": "党支部评议",
                            "ballots": 3,
                            "average": "93.00",
                        }
                    ],
                }
            ],
        }
    )

    branch_id: str
    period_id: str
    title: str
    closed: bool
    min_ballots: int
    turnout: list[RoleTurnout]
    members: list[MemberOverview]


class PeriodTurnoutCount(BaseModel):
    """One period's turnout summed over the branches of the scope that it covers."""

    model_config = ConfigDict(frozen=True)

    period_id: str
    title: str
    kind: ReviewKind
    period: Period
    scope_level: ScopeLevel = Field(description="评议期本身的范围")
    closed: bool
    branches: int = Field(description="本范围内该评议期覆盖的党支部数")
    eligible: int = Field(description="有资格投票的人次（各评议身份之和）")
    voted: int = Field(description="已投票的人次（各评议身份之和）")
    percent: Decimal | None = Field(description="参评率（%），无人有资格时为空")
    matched: bool = Field(
        description="true：已投票人数按现有花名册逐人核对（与单个党支部的参评情况一致）；"
        "false：评议期密钥已按规定销毁，无法再核对，已投票人数为本范围内计入的选票份数"
    )
    roles: list[RoleCount]


class ScopeTurnoutView(BaseModel):
    """Turnout of a year's review periods in the company, a unit or a branch: counts only,
    never a name or a score."""

    model_config = _view(
        {
            "year": 2024,
            "scope": "unit",
            "scope_id": "u-07",
            "branches": 12,
            "periods": [
                {
                    "period_id": "rp-2024-mass-h1-u-07",
                    "title": "2024年上半年群众评议",
                    "kind": "mass",
                    "period": "H1",
                    "scope_level": "unit",
                    "closed": False,
                    "branches": 12,
                    "eligible": 866,
                    "voted": 704,
                    "percent": "81.29",
                    "matched": True,
                    "roles": [
                        {
                            "role": "all_staff",
                            "role_label": "群众评议（全体员工）",
                            "eligible": 820,
                            "voted": 668,
                            "percent": "81.46",
                        },
                        {
                            "role": "paired",
                            "role_label": "群众评议（结对员工）",
                            "eligible": 46,
                            "voted": 36,
                            "percent": "78.26",
                        },
                    ],
                }
            ],
        }
    )

    year: int
    scope: ScopeLevel
    scope_id: str | None
    branches: int = Field(description="本范围内的党支部数")
    periods: list[PeriodTurnoutCount] = Field(description="本年度覆盖本范围的评议期，按期次排列")
