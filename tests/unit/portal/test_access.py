"""Who sees what in the portal: the committee's pages are for the branch committee only (403
and nothing of the page for anyone else), a pledge not yet public is for its member and the
committee, a committee member's own pledge shows no committee buttons, and an open review
period shows no figure (DOMAIN.md section 3, "Secrecy of the review")."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from services.portal.web import NOT_COMMITTEE, OWN_CASE, this_year, today
from shared.auth import Principal, Role
from tests.unit.portal.conftest import MEMBER, StartPortal

pytestmark = pytest.mark.unit
EMPLOYEE = Principal(
    person_id="e-1", name="周强", roles=frozenset({Role.EMPLOYEE}), unit_id="u-1", branch_id="b-1"
)
SECRETARY = Principal(
    person_id="c-1",
    name="王建国",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE}),
    unit_id="u-1",
    branch_id="b-1",
)
ORG_ADMIN = Principal(person_id="org-admin", name="组织部管理员", roles=frozenset({Role.ORG_ADMIN}))
DECLARED_ITEM = "尚未公开的承诺事项"
COMMITTEE_GETS = (
    "/committee",
    "/committee/needs",
    "/committee/ledger",
    "/committee/reviews",
    "/committee/reviews/rp-1",
    "/committee/results",
)
COMMITTEE_POSTS = (
    "/committee/needs/n-1",
    "/committee/plan",
    "/committee/reviews",
    "/committee/reviews/rp-1/close",
    "/committee/results/publish",
    "/committee/results/decide-o-1",
)


def pledge(member: str, status: str, item: str = DECLARED_ITEM, **extra: Any) -> dict[str, Any]:
    return {
        "pledge_id": "pl-1",
        "member_id": member,
        "member_name": "某党员",
        "branch_id": "b-1",
        "year": 2026,
        "area": "safety",
        "area_label": "安全环保",
        "item": item,
        "content": "内容",
        "quantity": "1项",
        "quality_standard": "合格",
        "due_date": "2026-12-31",
        "status": status,
        "status_label": {"declared": "已申报", "published": "已公开"}.get(status, status),
        "paired_employee_id": extra.get("paired_employee_id"),
        "need_ids": [],
        "revision_reasons": None,
        "return_reasons": None,
        "published_on": None,
        "acceptance_summary": None,
        "accepted_on": None,
    }


class Backend:
    """Answers every read with data (so a page that reads would show it) and records calls."""

    def __init__(self, **answers: Any) -> None:
        self.calls: list[str] = []
        self.answers = answers

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(f"{request.method} {request.url.host}{path}")
        for suffix, answer in self.answers.items():
            if path.endswith(suffix.replace("__", "/")):
                return httpx.Response(200, json=answer)
        if request.method != "GET":
            return httpx.Response(200, json={"id": "x"})
        return httpx.Response(200, json=[pledge("p-2", "declared")])


@pytest.mark.parametrize("who", [EMPLOYEE, MEMBER, ORG_ADMIN])
def test_committee_pages_refuse_anyone_but_the_branch_committee(
    portal: StartPortal, who: Principal
) -> None:
    backend = Backend()
    client = portal(backend, who)
    for path in COMMITTEE_GETS:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "没有权限" in response.text and NOT_COMMITTEE in response.text, path
        assert DECLARED_ITEM not in response.text, path
    for path in COMMITTEE_POSTS:
        response = client.post(path, data={"outcome": "confirmed", "area": "safety"})
        assert response.status_code == 403, path
    assert backend.calls == []  # nothing was read or written for them


def test_the_committee_refusal_is_a_page_in_chinese(portal: StartPortal) -> None:
    response = portal(Backend(), EMPLOYEE).get("/committee")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "<h2>没有权限</h2>" in response.text
    assert "您没有权限查看支委会页面" in response.text


def test_signed_out_committee_pages_ask_to_sign_in(portal: StartPortal) -> None:
    response = portal(Backend(), None).get("/committee/results")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?next=")


def test_the_branch_committee_opens_its_pages(portal: StartPortal) -> None:
    backend = Backend(ledger={"branch_id": "b-1", "month": "2026-05", "rows": [],
                              "not_recorded": 0, "closes_on": "2026-06-30"})  # fmt: skip
    client = portal(backend, SECRETARY)
    overview = client.get("/committee")
    assert overview.status_code == 200 and DECLARED_ITEM in overview.text
    assert client.get("/committee/ledger?month=2026-05").status_code == 200


@pytest.mark.parametrize("who", [EMPLOYEE, MEMBER])
def test_a_pledge_not_yet_public_is_refused_to_other_staff(
    portal: StartPortal, who: Principal
) -> None:
    # Even if a service answered with it, the page shows nothing of it.
    backend = Backend(**{"pledges__pl-1": pledge("p-2", "declared")})
    response = portal(backend, who).get("/pledges/pl-1")
    assert response.status_code == 403
    assert "您没有权限查看这项承诺" in response.text and DECLARED_ITEM not in response.text


def test_a_published_pledge_is_shown_to_staff_without_buttons(portal: StartPortal) -> None:
    backend = Backend(**{"pledges__pl-1": pledge("p-2", "published", "已公开的承诺")})
    response = portal(backend, EMPLOYEE).get("/pledges/pl-1")
    assert response.status_code == 200 and "已公开的承诺" in response.text
    assert 'id="step-' not in response.text


def test_members_see_their_own_declared_pledge(portal: StartPortal) -> None:
    backend = Backend(**{"pledges__pl-1": pledge(MEMBER.person_id, "declared")})
    response = portal(backend, MEMBER).get("/pledges/pl-1")
    assert response.status_code == 200 and DECLARED_ITEM in response.text
    assert 'id="step-withdrawal"' in response.text and 'id="step-approval"' not in response.text


@pytest.mark.parametrize("status", ["declared", "published", "acceptance_requested"])
def test_a_committee_member_decides_nothing_on_their_own_pledge(
    portal: StartPortal, status: str
) -> None:
    own = pledge(SECRETARY.person_id, status)
    response = portal(Backend(**{"pledges__pl-1": own}), SECRETARY).get("/pledges/pl-1")
    assert response.status_code == 200
    for step in ("approval", "revision-request", "ledger", "acceptance", "return"):
        assert f'id="step-{step}"' not in response.text, step
    assert 'id="own-case"' in response.text and OWN_CASE in response.text
    assert "所属二级党委" in OWN_CASE and "其他支委会成员" in OWN_CASE


def test_a_committee_member_still_records_their_own_agreement(portal: StartPortal) -> None:
    """Recording the pairing agreement or the publication decides nothing: the pledges
    service lets the committee, the member included, record them."""
    own = pledge(SECRETARY.person_id, "approved", paired_employee_id="e-1")
    response = portal(Backend(**{"pledges__pl-1": own}), SECRETARY).get("/pledges/pl-1")
    assert 'id="step-agreement"' in response.text and 'id="own-case"' in response.text


def test_a_committee_member_decides_another_members_pledge(portal: StartPortal) -> None:
    other = pledge("p-2", "declared")
    response = portal(Backend(**{"pledges__pl-1": other}), SECRETARY).get("/pledges/pl-1")
    assert 'id="step-approval"' in response.text and 'id="step-revision-request"' in response.text
    assert 'id="own-case"' not in response.text


@pytest.mark.parametrize("step", ["approval", "ledger", "acceptance", "return"])
def test_a_committee_step_on_ones_own_pledge_is_not_sent(portal: StartPortal, step: str) -> None:
    backend = Backend(**{"pledges__pl-1": pledge(SECRETARY.person_id, "acceptance_requested")})
    response = portal(backend, SECRETARY).post(f"/pledges/pl-1/{step}", data={"month": "2026-05"})
    assert response.status_code == 403
    assert OWN_CASE in response.text
    assert [c for c in backend.calls if c.startswith("POST")] == []


def test_approval_asks_to_confirm_what_happens_and_is_not_sent_without_it(
    portal: StartPortal,
) -> None:
    backend = Backend(**{"pledges__pl-2": pledge("p-2", "declared")})
    client = portal(backend, SECRETARY)
    page = client.get("/pledges/pl-2").text
    assert 'name="confirm" value="yes" required' in page and "不能再撤回" in page
    refused = client.post("/pledges/pl-2/approval", data={})
    assert refused.status_code == 422 and "请先勾选确认" in refused.text
    assert [c for c in backend.calls if c.startswith("POST")] == []
    done = client.post("/pledges/pl-2/approval", data={"confirm": "yes"})
    assert done.status_code == 303
    sent = [c for c in backend.calls if c.startswith("POST")]
    assert sent == ["POST pledges/pledges/pl-2/approval"]


def test_ones_own_ledger_row_and_objection_have_no_buttons(portal: StartPortal) -> None:
    rows = [
        {"pledge_id": f"pl-{who}", "member_id": who, "member_name": name, "item": f"{name}的承诺",
         "status": "published", "due_date": "2026-12-31", "assessment": None,
         "assessment_label": None, "note": None, "correction_reason": None}
        for who, name in ((SECRETARY.person_id, "王建国"), ("p-2", "李秀英"))
    ]  # fmt: skip
    results = {
        "members": [
            {"member_id": SECRETARY.person_id, "name": "王建国"},
            {"member_id": "p-2", "name": "李秀英"},
        ],
        "publication": {
            "notice_starts_at": "2026-12-01T00:00:00+00:00",
            "notice_ends_at": "2026-12-08T00:00:00+00:00",
            "finalized": False,
            "objections": [
                {"objection_id": f"o-{who}", "member_id": who, "reason": "有误",
                 "outcome": None, "outcome_label": "待支委会决定"}
                for who in (SECRETARY.person_id, "p-2")
            ],
        },
    }  # fmt: skip
    backend = Backend(
        ledger={
            "branch_id": "b-1",
            "month": "2026-05",
            "rows": rows,
            "not_recorded": 2,
            "closes_on": "2026-06-30",
        },
        **{f"results__{this_year()}": results},
        periods=[],
    )
    client = portal(backend, SECRETARY)
    ledger = client.get("/committee/ledger?month=2026-05").text
    assert 'action="/pledges/pl-p-2/ledger"' in ledger
    assert f'action="/pledges/pl-{SECRETARY.person_id}/ledger"' not in ledger
    # May's time ended on 30 June: an entry now is a late one, with its reason required.
    assert '<input name="late_reason" required' in ledger and "现已逾期" in ledger
    assert OWN_CASE in ledger
    page = client.get("/committee/results").text
    assert 'action="/committee/results/decide-o-p-2"' in page
    assert f'action="/committee/results/decide-o-{SECRETARY.person_id}"' not in page
    assert "这是您本人的异议" in page
    # Who objected is named, never shown by id.
    assert "<strong>李秀英</strong>：有误" in page and "<strong>p-2</strong>" not in page


def period(closed: bool) -> dict[str, Any]:
    return {"period_id": "rp-1", "title": "2026年下半年群众评议", "closed": closed,
            "branch_id": "b-1", "kind": "mass"}  # fmt: skip


TURNOUT = {"roles": [{"role": "all_staff", "role_label": "全体员工", "voted": 3, "eligible": 8,
                      "percent": 38, "not_voted": [{"name": "赵磊"}]}]}  # fmt: skip
OVERVIEW = {"members": [{"name": "李秀英", "ballots": 7, "status_label": "已出结果",
                         "parts": [{"role_label": "全体员工", "average": "91.25"}]}]}  # fmt: skip


def test_an_open_period_shows_turnout_and_no_result(portal: StartPortal) -> None:
    backend = Backend(**{"periods__rp-1": period(False), "turnout": TURNOUT, "overview": OVERVIEW})
    page = portal(backend, SECRETARY).get("/committee/reviews/rp-1")
    assert page.status_code == 200
    assert "3/8" in page.text and "赵磊" in page.text
    assert "91.25" not in page.text and 'id="period-sealed"' in page.text
    assert not [c for c in backend.calls if c.endswith("/overview")]  # not even asked for


def test_a_closed_period_shows_its_results(portal: StartPortal) -> None:
    backend = Backend(**{"periods__rp-1": period(True), "turnout": TURNOUT, "overview": OVERVIEW})
    page = portal(backend, SECRETARY).get("/committee/reviews/rp-1")
    assert "91.25" in page.text and 'id="period-results"' in page.text


def card(*periods: dict[str, Any]) -> dict[str, Any]:
    return {
        "member_id": MEMBER.person_id, "name": MEMBER.name, "year": 2026,
        "branch_name": "采油一队党支部", "area_label": "安全环保", "composite": None,
        "band": None, "band_label": None, "consequences": [], "missing_labels": [],
        "reviews": [{"review": "mass", "label": "群众评议", "weight": "0.4", "annual": None,
                     "periods": list(periods)}],
        "pledges": [],
    }  # fmt: skip


def test_the_card_shows_an_open_period_by_its_label_and_no_figure(portal: StartPortal) -> None:
    open_h2 = {"period": "H2", "label": "下半年", "status": "open", "status_label": "评议进行中",
               "result": "93.50", "ballots": 2}  # fmt: skip
    closed_h1 = {"period": "H1", "label": "上半年", "status": "final", "status_label": "已出结果",
                 "result": "88.00", "ballots": 9}  # fmt: skip
    short = {"period": "Q1", "label": "第一季度", "status": "insufficient",
             "status_label": "票数不足", "result": None}  # fmt: skip
    backend = Backend(
        **{
            f"cards__{this_year()}": card(open_h2, closed_h1, short),
            "cards": {"member_id": "p-1", "name": "李秀英", "years": []},
        }
    )
    page = portal(backend, MEMBER).get("/me/card")
    assert page.status_code == 200
    cells = {m[0]: m[1] for m in re.findall(r'data-period="(\w+)"[^>]*>(.*?)</div>', page.text)}
    assert "评议进行中" in cells["H2"] and "93.50" not in cells["H2"] and "票" not in cells["H2"]
    assert "88.00" in cells["H1"] and "9 票" in cells["H1"]
    assert "票数不足" in cells["Q1"] and "—" not in cells["Q1"]


def test_the_board_shows_each_published_result_as_composite_and_band(portal: StartPortal) -> None:
    board = {
        "branch_id": "b-1", "branch_name": "采油一队党支部", "unit_name": None,
        "year": this_year(), "month": f"{this_year()}-05", "pledges": [], "ledger": [],
        "publication": {
            "year": this_year(), "policy_id": "default", "finalized": False,
            "notice_starts_at": "2026-12-01T00:00:00+00:00",
            "notice_ends_at": "2026-12-08T00:00:00+00:00",
            "results": [
                {"member_id": "p-1", "name": "李秀英", "composite": "92.10",
                 "band": "no_awards", "band_label": "不能参加下一年度创先争优评选"},
                {"member_id": "p-3", "name": "张伟", "composite": None, "band": None,
                 "band_label": None},
            ],
        },
    }  # fmt: skip
    page = portal(Backend(**{f"board__{this_year()}": board}), None).get("/board/b-1")
    assert page.status_code == 200
    results = page.text[page.text.index('id="results"') :]
    assert "92.10" in results and "不能参加下一年度创先争优评选" in results
    assert "张伟" in results and "暂无" in results
    assert "备注" not in results and "缺少" not in results and "异议复核" not in results


def test_a_month_still_on_time_asks_for_no_late_reason(portal: StartPortal) -> None:
    month = today()[:7]
    row = {"pledge_id": "pl-p-2", "member_id": "p-2", "member_name": "李秀英", "item": "巡检",
           "status": "published", "due_date": "2099-12-31", "assessment": None,
           "assessment_label": None, "note": None, "correction_reason": None}  # fmt: skip
    backend = Backend(
        ledger={
            "branch_id": "b-1",
            "month": month,
            "rows": [row],
            "not_recorded": 1,
            "closes_on": "2099-12-31",
        },
    )
    page = portal(backend, SECRETARY).get(f"/committee/ledger?month={month}").text
    assert 'action="/pledges/pl-p-2/ledger"' in page
    assert 'name="late_reason"' not in page and "请在 2099-12-31 前记录" in page


NOT_YET = {
    "may_object": False,
    "reason": "本支部2026年度评议结果尚未公示",
    "notice_ends_at": None,
    "objections": [],
}
IN_NOTICE = {
    "may_object": True,
    "reason": None,
    "notice_ends_at": "2027-01-20T16:00:00Z",
    "objections": [],
}
FILED = {
    "may_object": False,
    "reason": "您已有一项异议正在处理，请等待支委会作出决定",
    "notice_ends_at": "2027-01-20T16:00:00Z",
    "objections": [
        {
            "objection_id": "o-1",
            "member_id": "p-1",
            "reason": "票数有误",
            "outcome": None,
            "outcome_label": "待支委会决定",
        }
    ],
}


@pytest.mark.parametrize(
    ("objection", "form_shown", "text"),
    [
        (None, False, None),  # an older scoring service: no section at all
        (NOT_YET, False, None),
        (IN_NOTICE, True, "公示期至 2027-01-21 00:00"),
        (FILED, False, "您已有一项异议正在处理"),
    ],
)
def test_the_card_offers_an_objection_only_while_the_member_may_raise_one(
    portal: StartPortal, objection: dict[str, Any] | None, form_shown: bool, text: str | None
) -> None:
    backend = Backend(
        **{
            f"cards__{this_year()}": {**card(), "objection": objection},
            "cards": {"member_id": "p-1", "name": "李秀英", "years": []},
        }
    )
    page = portal(backend, MEMBER).get("/me/card").text
    assert ('action="/me/objection"' in page) is form_shown
    assert ('id="objection"' in page) is (form_shown or text is not None)
    if text is not None:
        assert text in page
    if objection and objection["objections"]:
        assert "待支委会决定" in page and "票数有误" in page


def test_the_pledge_page_shows_its_history_from_the_service(portal: StartPortal) -> None:
    steps = [
        {"at": "2026-03-01T02:00:00Z", "at_label": "2026-03-01 10:00", "step": "PledgeDeclared",
         "label": "申报承诺", "actor_name": "某党员", "actor_role": "党员",
         "detail": "已公开的承诺", "reason": None},
        {"at": "2026-03-02T02:00:00Z", "at_label": "2026-03-02 10:00", "step": "PledgeApproved",
         "label": "通过定诺", "actor_name": "王建国", "actor_role": "支委会成员",
         "detail": None, "reason": None},
    ]  # fmt: skip
    backend = Backend(
        **{
            "pledges__pl-1__timeline": {"pledge_id": "pl-1", "item": "x", "steps": steps},
            "pledges__pl-1": pledge("p-2", "published", "已公开的承诺"),
        }
    )
    page = portal(backend, EMPLOYEE).get("/pledges/pl-1").text
    history = page[page.index('id="timeline"') :]
    assert "2026-03-01 10:00" in history and "申报承诺" in history and "某党员（党员）" in history
    assert "通过定诺" in history and "王建国（支委会成员）" in history
