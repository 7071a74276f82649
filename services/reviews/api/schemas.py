"""Request bodies. Values are checked by the commands they become, so every refusal carries
the commands' Chinese reason; these models only shape and document the JSON."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.reviews import ScopeLevel
from shared.contracts.scoring import Period, ReviewKind


def _body(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(frozen=True, extra="forbid", json_schema_extra={"examples": [example]})


class OpenPeriodBody(BaseModel):
    model_config = _body(
        {
            "period_id": "rp-2024-peer-q1-b-101",
            "kind": "peer",
            "period": "Q1",
            "year": 2024,
            "scope_level": "branch",
            "scope_id": "b-101",
            "deadline": "2024-04-01T00:00:00+08:00",
            "opens_on": "2024-03-20",
            "closes_on": "2024-03-31",
        }
    )

    period_id: str | None = Field(default=None, description="评议期编号；不填由系统生成")
    kind: ReviewKind = Field(description="peer 党员互评、mass 群众评议、branch 党支部评议")
    period: Period = Field(description="党员互评按季度（Q1–Q4），其余按半年（H1、H2）")
    year: int
    scope_level: ScopeLevel
    scope_id: str | None = Field(default=None, description="二级党委或党支部编号；全公司不填")
    deadline: datetime | None = Field(
        default=None,
        description="截止时间（带时区），过后自动结束；须在投票时间之内",
    )
    opens_on: date | None = Field(
        default=None,
        description="投票开始日（北京时间，含当日）；与结束日同时填写，都不填则为本季度或本半年",
    )
    closes_on: date | None = Field(default=None, description="投票结束日（北京时间，含当日）")


class AdjustWindowBody(BaseModel):
    model_config = _body(
        {"opens_on": "2024-03-20", "closes_on": "2024-04-10", "reason": "清明节假期，延长投票"}
    )

    opens_on: date = Field(description="投票开始日（北京时间，含当日）")
    closes_on: date = Field(description="投票结束日（北京时间，含当日）")
    reason: str | None = Field(default=None, description="调整原因（必填，记录在案）")


class ScoreLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: str
    score: Decimal = Field(description="0–100，最多两位小数")
    comment: str | None = Field(default=None, description="评议意见；党支部评议必填")


class BallotBody(BaseModel):
    model_config = _body(
        {
            "scores": [
                {"member_id": "p-0002", "score": 92, "comment": None},
                {"member_id": "p-0003", "score": 88.5, "comment": "带头作用明显"},
            ]
        }
    )

    scores: list[ScoreLine] = Field(description="一张选票：每名被评议党员一行；重投即整张替换")
