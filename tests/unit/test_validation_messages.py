"""Validation errors reach users in Chinese, naming the field."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.validation import chinese_reason

pytestmark = pytest.mark.unit


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(min_length=2, max_length=5)
    quantity: int = Field(ge=1)
    due: date
    note: str = ""

    @field_validator("note")
    @classmethod
    def _no_x(cls, value: str) -> str:
        if "x" in value:
            raise ValueError("备注不能包含 x")
        return value


def reasons(payload: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate(payload)
    return {".".join(map(str, e["loc"])): chinese_reason(e) for e in caught.value.errors()}


def test_pydantic_errors_become_chinese_with_their_limits() -> None:
    assert reasons({"item": "a", "quantity": 0, "due": "tomorrow", "extra": 1}) == {
        "item": "至少 2 个字符",
        "quantity": "应不小于 1",
        "due": "应为日期（YYYY-MM-DD）",
        "extra": "不允许的字段",
    }


def test_missing_fields_and_custom_messages() -> None:
    assert reasons({"note": "x"}) == {
        "item": "必填",
        "quantity": "必填",
        "due": "必填",
        "note": "备注不能包含 x",
    }
