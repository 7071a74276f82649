"""A pledge's history (承诺历程) from its event stream: every step with who (name, role),
when and what; the reasons only for the member, the committee and the organization
department; nothing for a reader who may not read the pledge."""

from __future__ import annotations

import pytest

from tests.integration.pledges.conftest import Pledges

pytestmark = pytest.mark.integration


async def test_the_timeline_names_each_step_who_took_it_and_what_it_said(pledges: Pledges):
    await pledges.prepare_year()
    hidden = await pledges.walk("declared", n=2)  # not yet public
    pid = await pledges.walk("accepted")

    timeline = await pledges.ok("GET", f"/pledges/{pid}/timeline", pledges.member)
    steps = [(s["label"], s["actor_name"], s["actor_role"]) for s in timeline["steps"]]
    assert steps == [
        ("申报承诺", "李秀英", "党员"),
        ("通过定诺", "王建国", "支委会成员"),
        ("签订结对协议", "王建国", "支委会成员"),
        ("公开承诺", "王建国", "支委会成员"),
        ("记录台账", "王建国", "支委会成员"),
        ("申请验诺", "李秀英", "党员"),
        ("验诺通过", "王建国", "支委会成员"),
    ]
    by_label = {s["label"]: s for s in timeline["steps"]}
    assert by_label["签订结对协议"]["detail"] == "结对员工：赵磊"
    assert by_label["公开承诺"]["detail"] == "公开方式：员工大会、队务公开栏"
    assert by_label["记录台账"]["detail"] == "2024-03 按计划推进"
    assert by_label["记录台账"]["reason"] == "已勘察"
    assert by_label["验诺通过"]["reason"] == "达标"
    times = [s["at"] for s in timeline["steps"]]
    assert times == sorted(times) and all(s["at_label"] for s in timeline["steps"])

    # The committee sees the same; an employee of the branch sees the published pledge's
    # steps without what was said.
    committee = await pledges.ok("GET", f"/pledges/{pid}/timeline", pledges.secretary)
    assert committee == timeline
    staff = await pledges.ok("GET", f"/pledges/{pid}/timeline", pledges.employee)
    assert [s["label"] for s in staff["steps"]] == [s["label"] for s in timeline["steps"]]
    assert {s["reason"] for s in staff["steps"]} == {None}

    # A pledge not yet public is unknown to the employee, as the pledge itself is.
    refused = await pledges.call("GET", f"/pledges/{hidden}/timeline", pledges.employee)
    assert refused.status_code == 404
    assert (await pledges.call("GET", f"/pledges/{hidden}", pledges.employee)).status_code == 404
    assert (await pledges.call("GET", f"/pledges/{hidden}/timeline", None)).status_code == 401
