"""Two deciders at once, and a client retrying: one decision each, never two."""

from __future__ import annotations

import asyncio

import pytest

from services.pledges.domain import pledge_stream
from tests.integration.pledges.conftest import Pledges

pytestmark = pytest.mark.integration


async def test_two_committee_members_approving_at_once_record_one_approval(pledges: Pledges):
    await pledges.prepare_year()
    pid = await pledges.walk("declared")
    path = f"/pledges/{pid}/approval"

    first, second = await asyncio.gather(
        pledges.call("POST", path, pledges.secretary), pledges.call("POST", path, pledges.deputy)
    )

    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["error"] in ("concurrent_update", "conflict")
    assert "定诺" in loser.json()["message"] or "已被他人修改" in loser.json()["message"]
    types = [s.event.type_name for s in await pledges.events(pledge_stream(pid))]
    assert types.count("PledgeApproved") == 1
    everything = [s.event.type_name for s in await pledges.events()]
    assert everything.count("ResponsibilityAreaLocked") == 1


async def test_a_retried_declaration_returns_the_first_answer_and_records_nothing_new(
    pledges: Pledges,
):
    await pledges.prepare_year()
    body = pledges.declaration()
    del body["pledge_id"]  # the service picks the id: only the key stops a duplicate
    headers = {"Idempotency-Key": "declare-0001"}

    first = await pledges.call("POST", "/pledges", pledges.member, body, headers=headers)
    before = await pledges.count()
    again = await pledges.call("POST", "/pledges", pledges.member, body, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert first.json()["events"] == ["PledgeDeclared"]
    assert await pledges.count() == before
    mine = await pledges.ok("GET", "/members/m-a/pledges", pledges.member)
    assert [p["pledge_id"] for p in mine] == [first.json()["id"]]


async def test_an_idempotency_key_reused_for_another_request_is_refused(pledges: Pledges):
    await pledges.prepare_year()
    headers = {"Idempotency-Key": "need-key"}
    first = await pledges.call(
        "POST", "/needs", pledges.employee, pledges.need_body(2), headers=headers
    )
    assert first.status_code == 201
    before = await pledges.count()

    other = await pledges.call(
        "POST", "/needs", pledges.employee, pledges.need_body(3), headers=headers
    )

    assert other.status_code == 409
    assert "幂等键“need-key”已用于另一个不同内容的请求" in other.json()["message"]
    assert await pledges.count() == before
    # Keys belong to their holder: another person's identical key is another request.
    assert (
        await pledges.call("POST", "/needs", pledges.employee, pledges.need_body(3))
    ).status_code == 201
