"""Correcting a month's ledger entry from the committee's ledger page (更正台账): the form
sends the month, the new assessment and a reason as the service's PUT; a refusal is shown on
the pledge's page with a way back; a committee member never corrects their own entry; and
the page never sends the browser to another site, whatever ``back`` says."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.portal.web import local_path
from tests.unit.portal.conftest import StartPortal
from tests.unit.portal.test_access import SECRETARY, pledge

pytestmark = pytest.mark.unit

LEDGER = {
    "branch_id": "b-1",
    "month": "2026-05",
    "closes_on": "2026-06-30",
    "not_recorded": 0,
    "rows": [
        {"pledge_id": "pl-1", "member_id": "p-2", "member_name": "李秀英", "item": "巡检照明",
         "due_date": "2026-12-31", "assessment": "on_track", "assessment_label": "按计划推进",
         "note": "已勘察", "late_reason": None, "correction_reason": None},
        {"pledge_id": "pl-2", "member_id": "c-1", "member_name": "王建国", "item": "安全喊话",
         "due_date": "2026-12-31", "assessment": "behind", "assessment_label": "进度滞后",
         "note": None, "late_reason": None, "correction_reason": None},
    ],
}  # fmt: skip


class Pledges:
    def __init__(self, refuse: str | None = None) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.refuse = refuse

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method != "GET":
            self.sent.append((request.method, path, json.loads(request.content or b"null")))
            if self.refuse:
                return httpx.Response(422, json={"error": "invalid", "message": self.refuse})
            return httpx.Response(200, json={"id": "pl-1", "events": ["LedgerEntryCorrected"]})
        if path.endswith("/ledger"):
            return httpx.Response(200, json=LEDGER)
        if path.endswith("/ledger/export.xlsx"):
            self.sent.append(("GET", f"{path}?{request.url.query.decode()}", None))
            return httpx.Response(
                200,
                content=b"PK-xlsx",
                headers={"content-type": "application/vnd.ms-excel",
                         "content-disposition": "attachment; filename=b-1-2026-05-ledger.xlsx"},
            )  # fmt: skip
        if path == "/pledges/pl-1":
            return httpx.Response(200, json=pledge("p-2", "published", "巡检照明"))
        if path == "/pledges/pl-2":
            return httpx.Response(200, json=pledge("c-1", "published", "安全喊话"))
        return httpx.Response(404, json={"error": "not_found", "message": "无"})


FORM = {
    "month": "2026-05",
    "assessment": "behind",
    "note": "实际安装2处",
    "reason": "核实现场后更正",
    "back": "/committee/ledger?month=2026-05",
}


def test_the_committee_corrects_an_entry_with_a_reason(portal: StartPortal) -> None:
    backend = Pledges()
    client = portal(backend, SECRETARY)
    page = client.get("/committee/ledger?month=2026-05").text
    assert 'id="correct-pl-1"' in page  # another member's entry
    assert 'id="correct-pl-2"' not in page  # the secretary's own: no correction
    done = client.post("/pledges/pl-1/ledger-correction", data=FORM)
    assert done.status_code == 303 and done.headers["location"].startswith("/committee/ledger")
    assert backend.sent == [
        (
            "PUT",
            "/pledges/pl-1/ledger/2026-05",
            {"assessment": "behind", "note": "实际安装2处", "reason": "核实现场后更正"},
        )
    ]


def test_a_refusal_is_shown_with_the_way_back_and_bad_months_never_leave(
    portal: StartPortal,
) -> None:
    backend = Pledges(refuse="请填写更正理由")
    client = portal(backend, SECRETARY)
    refused = client.post("/pledges/pl-1/ledger-correction", data={**FORM, "reason": ""})
    assert refused.status_code == 422
    assert "请填写更正理由" in refused.text and "返回台账" in refused.text
    sent = len(backend.sent)
    bad = client.post("/pledges/pl-1/ledger-correction", data={**FORM, "month": "../x"})
    assert bad.status_code == 422 and len(backend.sent) == sent


def test_nobody_corrects_their_own_entry(portal: StartPortal) -> None:
    backend = Pledges()
    own = portal(backend, SECRETARY).post("/pledges/pl-2/ledger-correction", data=FORM)
    assert own.status_code == 403 and backend.sent == []


@pytest.mark.parametrize("back", ["//evil.example", "/\\evil.example", "https://evil.example"])
def test_back_never_leads_to_another_site(portal: StartPortal, back: str) -> None:
    assert not local_path(back)
    done = portal(Pledges(), SECRETARY).post(
        "/pledges/pl-1/ledger-correction", data={**FORM, "back": back}
    )
    assert done.status_code == 303 and done.headers["location"].startswith("/pledges/pl-1?")


def test_the_ledger_page_prints_and_exports_the_month(portal: StartPortal) -> None:
    backend = Pledges()
    client = portal(backend, SECRETARY)
    page = client.get("/committee/ledger?month=2026-05").text
    assert "data-print" in page
    assert 'href="/committee/ledger/export.xlsx?month=2026-05"' in page
    export = client.get("/committee/ledger/export.xlsx?month=2026-05")
    assert export.status_code == 200 and export.content == b"PK-xlsx"
    assert "b-1-2026-05-ledger.xlsx" in export.headers["content-disposition"]
    assert backend.sent == [("GET", "/branches/b-1/ledger/export.xlsx?month=2026-05", None)]
