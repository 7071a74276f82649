"""What the API answers when it says no: 409 with the domain's reason, 422 naming the field,
404 for an unknown id, 401 without a token."""

from __future__ import annotations

import json

import pytest

from services.pledges.domain import pledge_stream
from tests.integration.pledges.conftest import PUBLICATION, Pledges

pytestmark = pytest.mark.integration


async def test_publishing_before_approval_is_a_conflict_with_the_reason(pledges: Pledges):
    await pledges.prepare_year()
    pid = await pledges.walk("declared")

    response = await pledges.call(
        "POST", f"/pledges/{pid}/publication", pledges.secretary, PUBLICATION
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "message": "承诺尚未通过审核（定诺），不能公开",
    }
    assert len(await pledges.events(pledge_stream(pid))) == 1


async def test_withdrawing_after_approval_is_refused(pledges: Pledges):
    await pledges.prepare_year()
    pid = await pledges.walk("approved")
    response = await pledges.call("POST", f"/pledges/{pid}/withdrawal", pledges.member, {})
    assert (response.status_code, response.json()["message"]) == (409, "承诺已定诺，不能撤回")


async def test_a_bad_field_is_named_in_the_422(pledges: Pledges):
    await pledges.prepare_year()
    body = pledges.declaration(item="   ", due_date="2024-13-40")

    response = await pledges.call("POST", "/pledges", pledges.member, body)

    assert response.status_code == 422
    fields = {f["field"]: f["reason"] for f in response.json()["fields"]}
    assert set(fields) == {"item", "due_date"}
    assert "不能为空" in fields["item"]
    assert await pledges.count() > 0  # the year's preparation, and nothing more
    assert await pledges.ok("GET", "/members/m-a/pledges", pledges.member) == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("\ud800巡检", "单独的代理码位"),  # sent as the JSON escape \ud800
        ("巡检\u0000照明", "控制字符"),
        ("巡检\u202e明照", "不可见的格式字符"),
        ("巡\u200b检", "不可见的格式字符"),
    ],
)
async def test_text_that_is_not_plain_text_is_refused_by_field(
    pledges: Pledges, text: str, reason: str
):
    await pledges.prepare_year()
    before = await pledges.count()
    body = json.dumps(pledges.declaration(item=text), ensure_ascii=True).encode()
    response = await pledges.call(
        "POST",
        "/pledges",
        pledges.member,
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    fields = {f["field"]: f["reason"] for f in response.json()["fields"]}
    assert set(fields) == {"item"} and reason in fields["item"]
    assert await pledges.count() == before


async def test_a_bad_path_value_is_named_too(pledges: Pledges):
    response = await pledges.call(
        "PUT",
        "/pledges/pl-1/ledger/2024-13",
        pledges.secretary,
        {"assessment": "behind", "reason": "x"},
    )
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["month"]


async def test_unknown_ids_are_404(pledges: Pledges):
    await pledges.import_roster()
    for method, path in [
        ("GET", "/pledges/no-such-pledge"),
        ("POST", "/pledges/no-such-pledge/approval"),
        ("GET", "/members/nobody/pledges"),
        ("GET", "/branches/no-branch/ledger?month=2024-03"),
        ("GET", "/public/branches/no-branch/pledges"),
        ("POST", "/needs/no-need/classification"),
    ]:
        body = {"area": "safety"} if "classification" in path else None
        response = await pledges.call(method, path, pledges.secretary, body)
        assert response.status_code == 404, (path, response.text)
        assert "不存在" in response.json()["message"]


async def test_commands_need_a_token(pledges: Pledges):
    response = await pledges.call("POST", "/pledges", None, {"member_id": "m-a"})
    assert (response.status_code, response.json()["message"]) == (401, "请先登录")
