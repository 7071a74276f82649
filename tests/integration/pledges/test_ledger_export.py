"""The month's ledger (台账) as CSV and Excel: the committee's rows, a sheet named by the
branch and month, a bold frozen header; readers as for the ledger."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from shared.auth import Role
from tests.integration.pledges.conftest import Pledges, role_token

pytestmark = pytest.mark.integration


async def test_the_ledger_exports_as_the_committee_keeps_it(pledges: Pledges):
    await pledges.prepare_year()
    await pledges.walk("ledger")
    url = "/branches/b-a/ledger/export.xlsx?month=2024-03"
    response = await pledges.call("GET", url, pledges.secretary)
    assert response.status_code == 200
    assert "b-a-2024-03-ledger.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    assert sheet.title == "采油一队党支部2024年3月承诺台账"
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("党员", "承诺项目", "完成时限", "本月考核", "说明", "补记理由", "更正理由")
    assert [r[:5] for r in rows[1:]] == [
        ("李秀英", pledges.declaration(1)["item"], "2024-09-30", "按计划推进", "已勘察")
    ]
    csv = await pledges.call(
        "GET", "/branches/b-a/ledger/export.csv?month=2024-03", pledges.secretary
    )
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("党员,承诺项目")
    # The ledger's readers only (the branch's staff, not another branch's); a month that is
    # not one is refused.
    assert (await pledges.call("GET", url, pledges.employee)).status_code == 200
    other = role_token(Role.BRANCH_COMMITTEE, "b")
    assert (await pledges.call("GET", url, other)).status_code == 403
    bad = await pledges.call("GET", "/branches/b-a/ledger/export.xlsx?month=2024-13", pledges.admin)
    assert bad.status_code == 422
