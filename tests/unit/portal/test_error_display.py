"""The portal shows a service's refusal in plain Chinese next to the field it concerns, and
the form comes back with everything the person typed. The services are faked here with
httpx's MockTransport (unit tests); tests/browser drives the real ones."""

from __future__ import annotations

import json
import re
from html import unescape

import httpx
import pytest

pytestmark = pytest.mark.unit


def refusal(status: int, message: str, fields: tuple[tuple[str, str], ...] = ()) -> httpx.Response:
    body = {
        "error": "invalid_input",
        "message": message,
        "fields": [{"field": f, "reason": r} for f, r in fields],
    }
    return httpx.Response(status, json=body)


def error_next_to(html: str, field: str) -> str | None:
    """The error text inside the label that holds the named field, if any."""
    for label in re.findall(r'<label class="field invalid">(.*?)</label>', html, re.S):
        if f'name="{field}"' in label:
            found = re.search(r'<em class="error"[^>]*>(.*?)</em>', label, re.S)
            return unescape(found.group(1)) if found else None
    return None


def test_a_need_refused_shows_the_reason_by_the_field_and_keeps_the_text(portal) -> None:
    sent: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return refusal(422, "请求内容有误：problem：内容过长", (("problem", "内容不能超过2000字"),))

    client = portal(handler)
    typed = "夜班交接缺少照明 <b>很危险</b>"
    response = client.post("/needs/new", data={"problem": typed, "suggested_area": "safety"})
    assert response.status_code == 422
    assert error_next_to(response.text, "problem") == "内容不能超过2000字"
    assert "未能提交：内容不能超过2000字" in response.text
    assert "problem：" not in response.text  # no API field paths shown to people
    textarea = re.search(r'<textarea name="problem"[^>]*>(.*?)</textarea>', response.text, re.S)
    assert textarea and unescape(textarea.group(1)) == typed  # kept, and escaped
    assert re.search(r'<option value="safety" selected>', response.text)
    assert sent == [
        {
            "branch_id": "b-1",
            "year": sent[0]["year"],
            "employee_id": "p-1",
            "problem": typed,
            "suggested_area": "safety",
        }
    ]


def test_a_domain_refusal_without_a_field_is_shown_above_the_form(portal) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return refusal(409, "本支部2026年度活动方案尚未通过，暂不能提交需求")

    response = portal(handler).post("/needs/new", data={"problem": "巡检路线照明"})
    assert response.status_code == 409
    assert '<p class="alert" role="alert">本支部2026年度活动方案尚未通过，暂不能提交需求</p>' in (
        response.text
    )
    assert "巡检路线照明</textarea>" in response.text


def test_a_pledge_refused_keeps_every_field_and_the_needs_ticked(portal) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/pledges":
            return refusal(422, "请求内容有误", (("due_date", "完成时间须在2026年内"),))
        if path.endswith("/needs"):
            need = {"need_id": "n-1", "problem": "照明不足", "area": "safety", "solved": False,
                    "area_label": "安全环保"}  # fmt: skip
            return httpx.Response(200, json=[need])
        if path == "/roster/people":
            return httpx.Response(200, json=[])
        return httpx.Response(404, json={"error": "not_found", "message": "没有"})

    form = {
        "area": "safety",
        "item": "夜班巡检照明改造",
        "content": "加装照明",
        "quantity": "12处",
        "quality_standard": "全部验收",
        "due_date": "2031-01-01",
        "need_ids": "n-1",
    }
    response = portal(handler).post("/pledges/new", data=form)
    assert response.status_code == 422
    assert error_next_to(response.text, "due_date") == "完成时间须在2026年内"
    for name in ("item", "quantity", "due_date"):
        assert f'name="{name}" value="{form[name]}"' in response.text
    assert 'value="n-1" checked' in response.text


def test_an_unreachable_service_is_said_plainly_and_the_form_is_kept(portal) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    response = portal(handler).post("/needs/new", data={"problem": "巡检路线照明"})
    assert response.status_code == 503
    assert "服务暂时无法访问，请稍后重试" in response.text
    assert "巡检路线照明</textarea>" in response.text


def test_an_expired_sign_in_goes_back_to_the_sign_in_page(portal) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "unauthenticated", "message": "登录已过期"})

    response = portal(handler).get("/me")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"


def test_pages_for_signed_in_people_ask_strangers_to_sign_in(portal) -> None:
    client = portal(lambda request: httpx.Response(200, json=[]))
    client.cookies.clear()
    response = client.get("/committee/ledger?month=2026-03")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/committee/ledger%3Fmonth%3D2026-03"
