"""The organization department's review periods page (/org/reviews) in Chromium against the
real stack: a unit-wide period whose slot a branch already holds is refused with the
service's reason, another opens, shows on the branch committee's page read-only, and closes
only with the tick. (It runs before test_portal, which publishes results: nothing is left
open here.)"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import YEAR

pytestmark = pytest.mark.browser


def test_a_unit_wide_period_is_opened_and_closed_from_the_org_reviews_page(
    as_person: Any,
) -> None:
    today = datetime.now(timezone(timedelta(hours=8)))
    half = "H1" if today.month <= 6 else "H2"
    title = f"{YEAR}年{'上' if half == 'H1' else '下'}半年党支部评议"
    org = as_person("org-admin")
    org.goto(f"/org/reviews?year={YEAR}")
    expect(org.locator("h2")).to_contain_text(f"{YEAR}年度全公司及二级党委评议期")
    # The demo's first branch holds this half's mass review: a unit-wide one overlaps it.
    org.select_option("#scope_ref", "unit:u-demo")
    org.select_option("#kind_period", f"mass:{half}")
    org.click("#open-period button")
    expect(org.locator("#open-period .alert")).to_contain_text("与本次评议范围重叠")
    expect(org.locator(".card")).to_have_count(0)

    # The branch review of this half is free: the unit committee's period opens.
    org.select_option("#scope_ref", "unit:u-demo")
    org.select_option("#kind_period", f"branch:{half}")
    org.click("#open-period button")
    expect(org.locator(".notice")).to_have_text("评议期已开启")
    card = org.locator(".card", has_text=title)
    expect(card).to_contain_text("示范采油厂党委")
    expect(card).to_contain_text("进行中")
    expect(card.locator(".turnout")).to_contain_text("覆盖 2 个党支部")

    # The branch committee sees it among its periods, without a close button.
    committee = as_person("d-0001")
    committee.goto(f"/committee/reviews?year={YEAR}")
    row = committee.locator(".card", has_text=title)
    expect(row).to_contain_text("进行中")
    expect(row.locator("form[action$='/close']")).to_have_count(0)

    # The browser will not send the form without the tick (the portal refuses it too:
    # tests/unit/portal/test_org_reviews.py).
    tick = card.locator("form[action$='/close'] input[name=confirm]")
    expect(tick).to_have_attribute("required", "")
    card.locator("form[action$='/close'] button").click()
    expect(org.locator(".notice")).to_have_text("评议期已开启")  # nothing was sent
    tick.check()
    card.locator("form[action$='/close'] button").click()
    expect(org.locator(".notice")).to_have_text("评议期已结束并计票")
    expect(org.locator(".card", has_text=title)).to_contain_text("已结束")
