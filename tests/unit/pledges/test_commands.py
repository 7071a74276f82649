"""Commands refuse bad values before any state is read, naming the field in Chinese."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from services.pledges.commands import (
    AdoptPlan,
    PublishPledge,
    RecordLedgerEntry,
    RegisterPerson,
    RequestRevision,
    ReturnPledge,
    SignAgreement,
    WithdrawPledge,
)
from shared.contracts.pledges import PublicationChannel
from tests.unit.pledges.examples import AGREEMENT, declare

pytestmark = pytest.mark.unit


def refusal(error: ValidationError) -> tuple[tuple[int | str, ...], str]:
    [detail] = error.errors()
    return detail["loc"], detail["msg"]


def test_declared_text_is_trimmed() -> None:
    assert declare(item="  帮扶困难职工家庭 ").item == "帮扶困难职工家庭"


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("item", "承诺项目"),
        ("content", "承诺内容"),
        ("quantity", "数量"),
        ("quality_standard", "质量标准"),
    ],
)
def test_a_blank_pledge_term_is_refused_by_name(field: str, label: str) -> None:
    with pytest.raises(ValidationError) as refused:
        declare(**{field: "   "})
    assert refusal(refused.value) == ((field,), f"{label}不能为空")


def test_an_overlong_text_is_refused_with_its_limit() -> None:
    with pytest.raises(ValidationError) as refused:
        declare(item="帮" * 201)
    assert refusal(refused.value) == (("item",), "承诺项目不能超过200个字")


def test_the_same_field_name_gets_the_label_of_its_command() -> None:
    with pytest.raises(ValidationError) as refused:
        RegisterPerson(person_id="P-1", name=" ", branch_id="B-1", membership="full_member")
    assert refusal(refused.value) == (("name",), "姓名不能为空")


def test_a_malformed_id_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        declare(pledge_id="承诺 1")
    loc, message = refusal(refused.value)
    assert loc == ("pledge_id",)
    assert message.startswith("承诺编号格式不正确")


def test_a_year_out_of_range_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        declare(year=1999)
    assert refusal(refused.value) == (("year",), "年度须在2000年到2100年之间")


@pytest.mark.parametrize("month", ["2024-3", "2024-13", "2024/03", "24-03"])
def test_a_ledger_month_must_be_written_yyyy_mm(month: str) -> None:
    with pytest.raises(ValidationError) as refused:
        RecordLedgerEntry(pledge_id="PL-1", month=month, assessment="done")
    assert refusal(refused.value) == (("month",), "台账月份须为YYYY-MM格式，例如2024-03")


def test_an_unknown_assessment_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        RecordLedgerEntry(pledge_id="PL-1", month="2024-03", assessment="excellent")
    assert refusal(refused.value)[0] == ("assessment",)


def test_sending_back_needs_at_least_one_reason() -> None:
    with pytest.raises(ValidationError) as refused:
        RequestRevision(pledge_id="PL-1", reasons=())
    assert refusal(refused.value) == (("reasons",), "退回修改理由至少填写一条")


def test_a_blank_reason_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        ReturnPledge(pledge_id="PL-1", reasons=("缺少家属评价", " "))
    assert refusal(refused.value) == (("reasons", 1), "验收退回理由不能为空")


def test_a_blank_optional_text_means_none() -> None:
    assert WithdrawPledge(pledge_id="PL-1", reason="  ").reason is None
    assert declare(paired_employee_id="").paired_employee_id is None


def test_repeated_need_ids_count_once() -> None:
    assert declare(need_ids=("N-1", "N-2", "N-1")).need_ids == ("N-1", "N-2")


def test_publication_needs_a_channel_and_lists_each_once() -> None:
    with pytest.raises(ValidationError) as refused:
        PublishPledge(pledge_id="PL-1", channels=(), published_on=date(2024, 3, 5))
    assert refusal(refused.value) == (("channels",), "公开形式至少选择一种")
    board = PublicationChannel.NOTICE_BOARD
    command = PublishPledge(pledge_id="PL-1", channels=(board, board), published_on="2024-03-05")
    assert command.channels == (board,)
    assert board.label == "队务公开栏"


def test_an_agreement_plans_work_for_at_least_one_quarter() -> None:
    fields: dict[str, Any] = AGREEMENT.model_dump()
    fields.update(q1=None, q2="", q3=None, q4=" ")
    with pytest.raises(ValidationError) as refused:
        SignAgreement(**fields)
    assert refusal(refused.value) == ((), "季度工作内容至少填写一个季度")


def test_the_plan_meeting_falls_at_the_start_of_its_year() -> None:
    fields: dict[str, Any] = {
        "branch_id": "B-1",
        "year": 2024,
        "title": "2024年活动方案",
        "summary": "建设党员责任区",
    }
    assert AdoptPlan(**fields, meeting_date=date(2023, 12, 28)).meeting_date.year == 2023
    with pytest.raises(ValidationError) as refused:
        AdoptPlan(**fields, meeting_date=date(2022, 12, 28))
    assert refusal(refused.value) == (("meeting_date",), "会议日期须在2023年或2024年内")


def test_commands_are_frozen_and_refuse_unknown_fields() -> None:
    command = WithdrawPledge(pledge_id="PL-1")
    with pytest.raises(ValidationError):
        command.pledge_id = "PL-2"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        WithdrawPledge(pledge_id="PL-1", actor="P-1")  # type: ignore[call-arg]
