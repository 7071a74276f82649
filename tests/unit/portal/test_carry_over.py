"""The pledge page's carry-over (结转): for the committee, on an approved, unfinished pledge
of a past year, with reason, new due date and a confirmation; both pledges link to each
other; the member never sees the form on their own pledge."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from services.portal.web import OWN_CASE, this_year
from tests.unit.portal.conftest import MEMBER, StartPortal
from tests.unit.portal.test_access import EMPLOYEE, SECRETARY, Backend, pledge

pytestmark = pytest.mark.unit
LAST_YEAR = this_year() - 1


def of_last_year(member: str, status: str, **extra: Any) -> dict[str, Any]:
    return {**pledge(member, status, "去年的承诺"), "year": LAST_YEAR, **extra}


@pytest.mark.parametrize("status", ["approved", "published", "acceptance_requested", "returned"])
def test_the_committee_carries_over_an_unfinished_pledge_of_a_past_year(
    portal: StartPortal, status: str
) -> None:
    backend = Backend(**{"pledges__pl-1": of_last_year("p-2", status)})
    response = portal(backend, SECRETARY).get("/pledges/pl-1")
    assert response.status_code == 200
    assert 'id="step-carry-over"' in response.text
    assert f"结转至{LAST_YEAR + 1}年度" in response.text and "结转理由" in response.text


@pytest.mark.parametrize(
    ("who", "extra", "status"),
    [
        (SECRETARY, {"year": LAST_YEAR + 1}, "published"),  # the year is not over
        (SECRETARY, {}, "accepted"),
        (SECRETARY, {}, "declared"),
        (MEMBER, {}, "published"),  # the member's own pledge
    ],
)
def test_no_carry_over_form_otherwise(
    portal: StartPortal, who: Any, extra: dict[str, Any], status: str
) -> None:
    member = who.person_id if who is MEMBER else "p-2"
    backend = Backend(**{"pledges__pl-1": of_last_year(member, status, **extra)})
    response = portal(backend, who).get("/pledges/pl-1")
    assert response.status_code == 200
    assert 'id="step-carry-over"' not in response.text


def test_carrying_over_asks_for_a_confirmation_then_goes_to_the_next_years_pledge(
    portal: StartPortal,
) -> None:
    sent: list[dict[str, Any]] = []
    shown = of_last_year("p-2", "published")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/pledges/pl-1/carry-over":
            sent.append(json.loads(request.content))
            return httpx.Response(
                201, json={"id": f"pl-1-{LAST_YEAR + 1}", "version": 1, "events": []}
            )
        return httpx.Response(200, json=shown)

    client = portal(handler, SECRETARY)
    form = {"reason": "冬季停工，顺延", "due_date": f"{LAST_YEAR + 1}-06-30"}
    unconfirmed = client.post("/pledges/pl-1/carry-over", data=form)
    assert unconfirmed.status_code == 422 and "请先勾选确认" in unconfirmed.text
    assert sent == []

    done = client.post("/pledges/pl-1/carry-over", data={**form, "confirm": "yes"})
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/pledges/pl-1-{LAST_YEAR + 1}")
    assert sent == [form]


def test_own_pledge_carry_over_is_not_sent(portal: StartPortal) -> None:
    backend = Backend(**{"pledges__pl-1": of_last_year(SECRETARY.person_id, "published")})
    response = portal(backend, SECRETARY).post(
        "/pledges/pl-1/carry-over", data={"reason": "顺延", "confirm": "yes"}
    )
    assert response.status_code == 403 and OWN_CASE in response.text
    assert [c for c in backend.calls if c.startswith("POST")] == []


def test_both_pledges_link_to_each_other(portal: StartPortal) -> None:
    new = f"pl-1-{LAST_YEAR + 1}"
    old = of_last_year(
        "p-2",
        "carried_over",
        status_label="已结转",
        published_on=f"{LAST_YEAR}-03-12",
        carried_to=new,
        carry_reason="冬季停工，顺延",
    )
    response = portal(Backend(**{"pledges__pl-1": old}), EMPLOYEE).get("/pledges/pl-1")
    assert response.status_code == 200 and "已结转" in response.text
    assert f'href="/pledges/{new}"' in response.text and "冬季停工，顺延" in response.text
    successor = {**pledge("p-2", "published"), "year": LAST_YEAR + 1, "carried_from": "pl-1"}
    response = portal(Backend(**{f"pledges__{new}": successor}), EMPLOYEE).get(f"/pledges/{new}")
    assert response.status_code == 200
    assert 'id="carried-from"' in response.text and 'href="/pledges/pl-1"' in response.text


def test_the_committee_home_lists_last_years_unfinished_pledges_to_carry_over(
    portal: StartPortal,
) -> None:
    """Once a year is over, its approved and unfinished pledges wait on the committee's home
    page (待结转) until each is accepted or carried over; finished ones do not."""
    last = [
        {**of_last_year("p-2", "published"), "pledge_id": "pl-open"},
        {**of_last_year("p-3", "accepted"), "pledge_id": "pl-done"},
        {**of_last_year("p-4", "declared"), "pledge_id": "pl-never"},
    ]
    asked: list[str] = []

    def backend(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/branches/b-1/pledges":
            year = int(request.url.params["year"])
            asked.append(str(year))
            return httpx.Response(200, json=[{**p, "year": year} for p in last])
        return httpx.Response(200, json=[])

    page = portal(backend, SECRETARY).get(f"/committee?year={LAST_YEAR + 1}").text
    start = page.index('id="carry-over"')
    section = page[start : page.index("</section>", start)]
    assert f"{LAST_YEAR}年度未完成的承诺" in section
    assert "/pledges/pl-open" in section
    assert "/pledges/pl-done" not in section and "/pledges/pl-never" not in section
    assert sorted(asked) == [str(LAST_YEAR), str(LAST_YEAR + 1)]
    # This year's pledges are not over yet: nothing to carry over from them.
    page = portal(backend, SECRETARY).get(f"/committee?year={LAST_YEAR + 2}").text
    assert 'id="carry-over"' not in page
