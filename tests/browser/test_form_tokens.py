"""The portal's form tokens and Content-Security-Policy in a real browser: pages work with
no policy violation, a form opened in an earlier session is refused after signing in again,
and the month switches (a script, not an inline handler) still navigate."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_pages_run_without_a_policy_violation_and_stale_forms_are_refused(
    as_person: Any,
) -> None:
    secretary = as_person("d-0001")  # 王建国, branch secretary
    violations: list[str] = []
    secretary.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    for path in ("/", "/me", "/committee", "/committee/ledger", "/board", "/reviews"):
        response = secretary.goto(path)
        assert response is not None and response.status < 400, path
    assert violations == []

    # The ledger's month switch sends its form when changed (portal.js, data-autosubmit).
    secretary.goto("/committee/ledger")
    months = secretary.locator("select[name=month] option").all_inner_texts()
    current = secretary.locator("select[name=month]").input_value()
    other = next(m for m in months if m != current)
    secretary.select_option("select[name=month]", other)
    expect(secretary).to_have_url(re.compile(rf"[?&]month={re.escape(other)}$"))

    # A form page opened now, then the session changes (signed in again in another tab):
    # the old page's token is no longer this session's.
    secretary.goto("/me")
    token = secretary.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token and len(token) >= 40
    other_tab = secretary.context.new_page()
    other_tab.goto("/signin")
    other_tab.select_option("select[name=person_id]", "d-0001")
    other_tab.click("form[action='/signin'] button")
    expect(other_tab.locator("h2").first).to_contain_text("您好")
    fresh = other_tab.locator("input[name=csrf_token]").first
    other_tab.goto("/me")
    assert fresh.get_attribute("value") != token

    # Any of the old page's forms: here the sign-out form every page carries.
    secretary.locator("form[action='/signout']").evaluate("form => form.requestSubmit()")
    expect(secretary.locator("h1")).to_have_text("页面已过期")
    expect(secretary.locator("body")).to_contain_text("没有做任何更改")
