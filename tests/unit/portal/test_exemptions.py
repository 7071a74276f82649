"""登记免评 in the portal: the committee's results page offers it per member (and revocation
for an exempt one), sends it to the pledges service for the year shown, and shows a refusal
in Chinese next to the form; the card and the results show the exemption, the missing items
and the exempt count."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.portal.web import this_year
from tests.unit.portal.conftest import MEMBER, StartPortal
from tests.unit.portal.test_access import SECRETARY, Backend, card

pytestmark = pytest.mark.unit


MISSING = ["未选择责任区", "缺少党员互评结果", "缺少群众评议结果", "缺少党支部评议结果"]


def member(pid: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "member_id": pid, "name": name, "area_label": None, "peer": None, "mass": None,
        "branch": None, "composite": None, "band": None, "band_label": None,
        "missing_labels": MISSING,
        "pledges_total": 0, "pledges_completed": 0, "policy_id": "default",
        "exempt": None, "exempt_label": None, **extra,
    }  # fmt: skip


RESULTS = {
    "members": [
        member("p-4", "陈静"),
        member("p-5", "刘洋", exempt="retired", exempt_label="免于评议（退休）", missing_labels=[]),
    ],
    "publication": None,
}


def test_the_results_page_offers_exemption_and_revocation(portal: StartPortal) -> None:
    page = portal(Backend(**{f"results__{this_year()}": RESULTS}, periods=[]), SECRETARY).get(
        "/committee/results"
    )
    assert page.status_code == 200
    text = page.text
    assert 'action="/committee/results/exempt-p-4"' in text
    assert 'action="/committee/results/revoke-p-5"' in text
    assert 'action="/committee/results/exempt-p-5"' not in text
    assert "未选择责任区、缺少党员互评结果" in text and "免于评议（退休）" in text
    assert "其中免于评议 1 人" in text
    for label in ("退休", "长期病休", "流动党员", "其他"):
        assert f">{label}</option>" in text


class Recording(Backend):
    def __init__(self, refusal: dict[str, Any] | None = None, **answers: Any) -> None:
        super().__init__(**answers)
        self.bodies: list[tuple[str, Any]] = []
        self.refusal = refusal

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies.append((request.url.path, json.loads(request.content or b"null")))
            if self.refusal is not None:
                return httpx.Response(409, json=self.refusal)
        return super().__call__(request)


def test_exempting_posts_to_the_pledges_service_for_the_year_shown(portal: StartPortal) -> None:
    backend = Recording()
    client = portal(backend, SECRETARY)
    year = this_year() - 1
    form = {"year": str(year), "reason": "other", "reason_text": " 外派援建 ", "evidence": "派遣函"}
    response = client.post("/committee/results/exempt-p-4", data=form)
    assert response.status_code == 303
    assert backend.bodies == [
        (
            "/roster/people/p-4/exemptions",
            {"year": year, "reason": "other", "reason_text": "外派援建", "evidence": "派遣函"},
        )
    ]
    response = client.post(
        "/committee/results/revoke-p-5", data={"year": str(year), "revocation_reason": "已返岗"}
    )
    assert response.status_code == 303
    assert backend.bodies[-1] == (
        f"/roster/people/p-5/exemptions/{year}/revocation",
        {"reason": "已返岗"},
    )


def test_a_refusal_is_shown_in_chinese_on_the_page(portal: StartPortal) -> None:
    refusal = {"error": "conflict", "message": "陈静2026年度已登记免评，不能重复登记"}
    backend = Recording(refusal, **{f"results__{this_year()}": RESULTS}, periods=[])
    client = portal(backend, SECRETARY)
    form = {"year": str(this_year()), "reason": "retired", "evidence": "退休审批表"}
    page = client.post("/committee/results/exempt-p-4", data=form)
    assert page.status_code == 409
    assert "陈静2026年度已登记免评，不能重复登记" in page.text
    assert 'value="退休审批表"' in page.text  # what was typed is kept


def test_the_card_shows_the_exemption_and_otherwise_what_is_missing(portal: StartPortal) -> None:
    exempt = {**card(), "exempt": "retired", "exempt_label": "免于评议（退休）"}
    backend = Backend(
        **{
            f"cards__{this_year()}": exempt,
            "cards": {"member_id": "p-1", "name": "李秀英", "years": []},
        }
    )
    page = portal(backend, MEMBER).get("/me/card").text
    assert "免于评议（退休）" in page and "暂无综合评议结果" not in page
    missing = {**card(), "missing_labels": ["未选择责任区", "缺少党员互评结果"]}
    backend = Backend(
        **{
            f"cards__{this_year()}": missing,
            "cards": {"member_id": "p-1", "name": "李秀英", "years": []},
        }
    )
    page = portal(backend, MEMBER).get("/me/card").text
    assert "暂无综合评议结果：未选择责任区、缺少党员互评结果" in page
