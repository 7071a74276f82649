"""The roster file: idempotent, checked line by line, and all or nothing."""

from __future__ import annotations

import pytest

from tests.integration.pledges.conftest import ROSTER_CSV, Pledges

pytestmark = pytest.mark.integration


async def _import(pledges: Pledges, text: str, who: str | None = None):
    return await pledges.call(
        "POST",
        "/roster/import",
        who or pledges.admin,
        content=text.encode("utf-8"),
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )


async def test_importing_the_same_roster_twice_records_nothing_the_second_time(pledges: Pledges):
    first = await pledges.import_roster()
    assert first["lines"] == 8
    assert first["by_type"] == {
        "UnitRegistered": 1,
        "BranchRegistered": 2,
        "PersonRegistered": 8,
        "CommitteeMemberAppointed": 3,
    }
    count = await pledges.count()

    second = await pledges.import_roster()

    assert (second["events"], second["by_type"]) == (0, {})
    assert await pledges.count() == count


async def test_a_changed_line_records_just_the_change(pledges: Pledges):
    await pledges.import_roster()
    changed = ROSTER_CSV.replace("e-a,赵磊,employee,采油工,", "e-a,赵磊,employee,班长,").replace(
        "b-b,采油二队党支部,e-b", "b-a,采油一队党支部,e-b"
    )

    report = (await _import(pledges, changed)).json()

    assert report["by_type"] == {"PersonUpdated": 1, "PersonTransferred": 1}


async def test_a_bad_file_is_reported_line_by_line_and_nothing_is_applied(pledges: Pledges):
    bad = (
        "\ufeffunit_id,unit_name,branch_id,branch_name,person_id,name,kind,committee_position\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p-1,王建国,member,secretary\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p-2,,member,\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p-3,李四,cadre,\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p-4,周敏,probationary,secretary\n"
        "u-1,另一个名字,b-a,采油一队党支部,p-5,张三,employee,\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p-1,王建国,member,\n"
        "u-1,第一采油厂党委,b-a,采油一队党支部,p 8,钱八,employee,\n"
    )

    before = await pledges.count()  # the seal the service wrote at start
    response = await _import(pledges, bad)

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_roster"
    assert "未导入任何内容" in body["message"]
    found = {(line["line"], line["field"]) for line in body["lines"]}
    assert found == {
        (3, "name"),
        (4, "kind"),
        (5, "committee_position"),
        (6, "unit_name"),
        (7, "person_id"),
        (8, "person_id"),
    }
    reasons = {(line["line"], line["field"]): line["reason"] for line in body["lines"]}
    assert "不能为空" in reasons[(3, "name")]
    assert "格式不正确" in reasons[(8, "person_id")]
    assert "第2行" in reasons[(7, "person_id")]
    assert await pledges.count() == before


async def test_a_line_the_domain_refuses_rolls_back_the_whole_file(pledges: Pledges):
    await pledges.import_roster()
    before = await pledges.count()
    moved = ROSTER_CSV.replace("u-1,第一采油厂党委,b-b", "u-2,第二采油厂党委,b-b") + (
        "u-1,第一采油厂党委,b-a,采油一队党支部,e-new,新员工,employee,,\n"
    )

    response = await _import(pledges, moved)

    assert response.status_code == 422
    lines = response.json()["lines"]
    assert {(line["line"], line["field"]) for line in lines} == {
        (7, "branch_id"),
        (8, "branch_id"),
        (9, "branch_id"),
    }
    assert "不能改挂" in lines[0]["reason"]
    assert await pledges.count() == before


async def test_only_the_roster_keepers_may_import(pledges: Pledges):
    before = await pledges.count()  # the seal the service wrote at start
    response = await _import(pledges, ROSTER_CSV, pledges.secretary)
    assert response.status_code == 403
    assert response.json()["message"] == "只有组织部管理员或运维人员可以导入花名册"
    assert await pledges.count() == before
