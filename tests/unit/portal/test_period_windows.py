"""Dated review periods in the portal: the committee's form sends the window and an
idempotency key, the periods and ballot pages show the window's dates, and a refusal (a
ballot outside the window, an adjustment without reason) shows the service's Chinese
message."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from shared.auth import Principal, Role
from tests.unit.portal.conftest import StartPortal

pytestmark = pytest.mark.unit

SECRETARY = Principal(
    person_id="c-1",
    name="王建国",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE}),
    unit_id="u-1",
    branch_id="b-1",
)
PERIOD = {
    "period_id": "rp-1",
    "title": "2026年第四季度党员互评",
    "kind": "peer",
    "period": "Q4",
    "year": 2026,
    "scope_level": "branch",
    "unit_id": "u-1",
    "branch_id": "b-1",
    "deadline": None,
    "opens_on": "2026-10-01",
    "closes_on": "2026-12-31",
    "window": "2026年10月1日至2026年12月31日",
    "closed": False,
    "closing_reason": None,
}
OUTSIDE = "本评议期投票时间为2026年10月1日至2026年12月31日，已过，现在不能投票或修改选票"


class Reviews:
    """The reviews service as the portal sees it; ``refuse`` maps a path suffix to a 422."""

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.sent: list[tuple[str, str, dict[str, str], Any]] = []
        self.refuse = refuse or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        if request.method != "GET":
            self.sent.append((request.method, path, dict(request.headers), body))
            for suffix, message in self.refuse.items():
                if path.endswith(suffix):
                    return httpx.Response(422, json={"error": "invalid", "message": message})
            return httpx.Response(201, json={"id": "rp-1", "events": []})
        if path == "/periods":
            return httpx.Response(200, json=[PERIOD])
        if path.startswith("/periods/rp-1/my-ballot"):
            return httpx.Response(404, json={"error": "not_found", "message": "没有投票"})
        if path.startswith("/periods/rp-1/turnout"):
            return httpx.Response(200, json={"roles": []})
        if path == "/periods/rp-1":
            return httpx.Response(200, json=PERIOD)
        if path.endswith("/people"):
            return httpx.Response(200, json=[])
        if "/ballot-members/" in path:
            members = [{"member_id": "p-2", "name": "李秀英"}]
            return httpx.Response(
                200,
                json={"period_id": "rp-1", "role": "peer", "role_label": "党员互评",
                      "may_vote": True, "reason": None, "members": members},
            )  # fmt: skip
        return httpx.Response(200, json=[])


def test_the_committee_opens_a_period_with_its_window_and_an_idempotency_key(
    portal: StartPortal,
) -> None:
    backend = Reviews()
    client = portal(backend, SECRETARY)
    page = client.get("/committee/reviews?year=2026")
    assert page.status_code == 200
    assert "投票时间 2026年10月1日至2026年12月31日" in page.text
    assert 'name="opens_on"' in page.text and 'name="closes_on"' in page.text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.text)
    assert key is not None
    form = {
        "year": "2026",
        "kind_period": "peer:Q4",
        "opens_on": "2026-10-15",
        "closes_on": "2026-12-20",
        "deadline": "",
        "idempotency_key": key.group(1),
    }
    for _ in range(2):  # a double submission sends the same key: the service opens once
        response = client.post("/committee/reviews", data=form)
        assert response.status_code == 303, response.text
    opened = [(h, b) for m, p, h, b in backend.sent if p == "/periods"]
    assert len(opened) == 2
    assert {h["idempotency-key"] for h, _ in opened} == {key.group(1)}
    assert opened[0][1]["opens_on"] == "2026-10-15"
    assert opened[0][1]["closes_on"] == "2026-12-20"
    assert opened[0][1]["deadline"] is None


def test_a_window_left_empty_is_the_periods_own(portal: StartPortal) -> None:
    backend = Reviews()
    client = portal(backend, SECRETARY)
    form = {"year": "2026", "kind_period": "peer:Q4", "opens_on": "", "closes_on": ""}
    assert client.post("/committee/reviews", data=form).status_code == 303
    (sent,) = [b for m, p, h, b in backend.sent if p == "/periods"]
    assert sent["opens_on"] is None and sent["closes_on"] is None


def test_the_period_page_shows_the_window_and_an_adjustment_refusal(
    portal: StartPortal,
) -> None:
    backend = Reviews(refuse={"/window": "请填写调整原因"})
    client = portal(backend, SECRETARY)
    page = client.get("/committee/reviews/rp-1")
    assert "投票时间：2026年10月1日至2026年12月31日" in page.text
    assert 'action="/committee/reviews/rp-1/window"' in page.text
    form = {"opens_on": "2026-10-01", "closes_on": "2027-01-10", "reason": ""}
    refused = client.post("/committee/reviews/rp-1/window", data=form)
    assert refused.status_code == 422
    assert "请填写调整原因" in refused.text
    (sent,) = [b for m, p, h, b in backend.sent if p.endswith("/window")]
    assert sent == {"opens_on": "2026-10-01", "closes_on": "2027-01-10", "reason": None}


def test_a_ballot_outside_the_window_shows_the_dates(portal: StartPortal) -> None:
    backend = Reviews(refuse={"/ballots/peer": OUTSIDE})
    client = portal(backend, SECRETARY)
    page = client.get("/reviews/rp-1/peer")
    assert "投票时间：2026年10月1日至2026年12月31日" in page.text
    refused = client.post("/reviews/rp-1/peer", data={"score-p-2": "90"})
    assert refused.status_code == 422
    assert OUTSIDE in refused.text


def test_closing_a_period_needs_the_tick_and_a_refusal_is_shown_by_its_period(
    portal: StartPortal,
) -> None:
    backend = Reviews(refuse={"/close": "只有党支部委员会、二级党委或组织部才能结束评议期"})
    client = portal(backend, SECRETARY)
    page = client.get("/committee/reviews?year=2026")
    assert 'id="close-rp-1"' in page.text
    assert "结束后不能再投票" in page.text
    unticked = client.post("/committee/reviews/rp-1/close", data={"year": "2026"})
    assert unticked.status_code == 422
    assert "请先勾选确认" in unticked.text
    assert not [p for m, p, h, b in backend.sent if p.endswith("/close")]  # nothing was sent
    refused = client.post("/committee/reviews/rp-1/close", data={"year": "2026", "confirm": "yes"})
    assert refused.status_code == 422
    assert "才能结束评议期" in refused.text
    assert [p for m, p, h, b in backend.sent if p.endswith("/close")] == ["/periods/rp-1/close"]
