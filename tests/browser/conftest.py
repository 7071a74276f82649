"""The whole stack as ``make run`` starts it (``suxing up``: broker, services, portal, and the
demo company loaded through the APIs), and Debian's chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SUXING_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "docs" / "screenshots"
YEAR = datetime.now(timezone(timedelta(hours=8))).year
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Stack:
    portal: str
    services: dict[str, str]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("stack")
    data_dir = home / "var"
    env = {**os.environ, "SUXING_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    log = (home / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "suxing_cli.main", "up", "--base-port", "0"],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    stack_file = data_dir / "stack.json"
    try:
        deadline = time.monotonic() + 240
        while not stack_file.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("suxing up did not come up:\n" + (home / "up.log").read_text())
            time.sleep(0.5)
        described = json.loads(stack_file.read_text())
        output = (home / "up.log").read_text()
        assert "演示登录" in output, output  # the demo company was loaded
        stack = Stack(described["portal"], described["services"])
        _wait_for_cards(stack)
        yield stack
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def org_admin_token() -> str:
    """A token of the organization department, for reading the services directly."""
    from shared.auth import Principal, Role, TokenIssuer
    from shared.settings import Settings

    return TokenIssuer(Settings().jwt_secret).issue(
        Principal(person_id="t", name="t", roles=frozenset({Role.ORG_ADMIN}))
    )


def _wait_for_cards(stack: Stack) -> None:
    """The scoring service learns the demo's events from the broker, asynchronously: wait
    (a precondition, not an assertion) until it has the first branch's cards."""
    token = org_admin_token()
    url = f"{stack.services['scoring']}/branches/b-demo-1/results/{YEAR}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        if len(body.get("members", [])) >= 5:
            return
        time.sleep(0.5)
    pytest.fail("the scoring service did not build the demo's cards")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while
    it is open, which other tests' ``asyncio.run`` would trip over."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium fonts-noto-cjk")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield chromium
        chromium.close()


@pytest.fixture
def as_person(stack: Stack, browser: Any) -> Iterator[Any]:
    """Opens a page signed in as a person of the demo company (``None``: signed out)."""
    from playwright.sync_api import Page, expect

    contexts = []

    def open_as(person_id: str | None, viewport: dict[str, int] = DESKTOP) -> Page:
        context = browser.new_context(base_url=stack.portal, viewport=viewport, locale="zh-CN")
        contexts.append(context)
        page: Page = context.new_page()
        if person_id is not None:
            page.goto("/signin")
            page.select_option("select[name=person_id]", person_id)
            page.click("form[action='/signin'] button")
            expect(page.locator("h2").first).to_contain_text("您好")
        return page

    yield open_as
    for context in contexts:
        context.close()


def settled(page: Any, selector: str, text: str, has_text: str | None = None) -> Any:
    """The board is read from the scoring service's projection, which follows the other
    services' events through the broker: reload until it has caught up (a wait, bounded
    only so a broken stack fails), then return the locator for the assertion."""
    deadline = time.monotonic() + 90
    locator = page.locator(selector, has_text=has_text)
    while time.monotonic() < deadline:
        page.reload()
        if locator.count() and all(text in t for t in locator.all_inner_texts()):
            break
        page.wait_for_timeout(500)
    return locator
