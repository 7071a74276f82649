"""``suxing token`` and ``suxing roster import`` (the service side is in the integration
tests; here its answers come from a mock transport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from rich.console import Console
from typer.testing import CliRunner

from shared.auth import Role, TokenVerifier
from shared.settings import DEFAULT_SECRET, Settings
from suxing_cli.main import app
from suxing_cli.roster import import_file

pytestmark = pytest.mark.unit

GOOD = (
    "unit_id,unit_name,branch_id,branch_name,person_id,name,kind\n"
    "u-1,第一采油厂党委,b-a,采油一队党支部,m-a,李秀英,member\n"
)


def test_token_prints_a_token_the_services_accept():
    result = CliRunner().invoke(
        app,
        ["token", "--person", "sec-a", "--roles", "member,branch_committee", "--branch", "b-a"],
    )
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(DEFAULT_SECRET, algorithm="HS256").verify(result.output.strip())
    assert principal.person_id == "sec-a"
    assert principal.roles == {Role.MEMBER, Role.BRANCH_COMMITTEE}
    assert principal.branch_id == "b-a"


def test_token_refuses_an_unknown_role():
    result = CliRunner().invoke(app, ["token", "--person", "x", "--roles", "king"])
    assert result.exit_code == 2
    assert "unknown role" in result.output


def test_a_bad_file_is_reported_without_calling_the_service(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(GOOD + "u-1,第一采油厂党委,b-a,采油一队党支部,m-b,,cadre\n", encoding="utf-8")
    console = Console(record=True, width=200)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the service must not be called")

    code = import_file(
        path,
        url="http://pledges",
        token=None,
        settings=Settings(),
        console=console,
        transport=httpx.MockTransport(refuse),
    )

    assert code == 1
    text = console.export_text()
    assert "姓名不能为空" in text and "kind" in text


def test_a_good_file_is_posted_as_csv_with_a_token(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(GOOD, encoding="utf-8")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"lines": 1, "events": 3, "by_type": {"PersonRegistered": 1}}
        return httpx.Response(
            200, content=json.dumps(body), headers={"content-type": "application/json"}
        )

    console = Console(record=True, width=200)
    code = import_file(
        path,
        url="http://pledges",
        token=None,
        settings=Settings(),
        console=console,
        transport=httpx.MockTransport(answer),
    )

    assert code == 0
    (request,) = seen
    assert request.url.path == "/roster/import"
    assert request.headers["content-type"].startswith("text/csv")
    assert request.headers["authorization"].startswith("Bearer ")
    assert request.content.decode("utf-8") == GOOD
    assert "记录 3 个事件" in console.export_text()
