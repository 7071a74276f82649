"""``suxing roster import`` and ``suxing token``: the embedded profile's helpers for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from services.pledges.handlers.roster_import import LineError, RosterRejected, parse_roster
from shared.auth import Principal, Role, TokenIssuer
from shared.settings import Settings


def issue_token(
    settings: Settings,
    *,
    person: str,
    name: str | None,
    roles: list[str],
    branch: str | None,
    unit: str | None,
) -> str:
    """An HS256 token signed with the embedded secret; production tokens come from the
    identity provider, so this refuses to sign for it."""
    if not settings.embedded:
        raise ValueError("suxing token only issues tokens for the embedded profile")
    unknown = [r for r in roles if r not in {role.value for role in Role}]
    if unknown:
        known = ", ".join(role.value for role in Role)
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; known: {known}")
    principal = Principal(
        person_id=person,
        name=name or person,
        roles=frozenset(Role(r) for r in roles),
        unit_id=unit,
        branch_id=branch,
    )
    issuer = TokenIssuer(
        settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience
    )
    return issuer.issue(principal)


def print_line_errors(console: Console, errors: list[LineError] | list[dict[str, Any]]) -> None:
    table = Table(title="花名册错误（未导入任何内容）")
    for column in ("行", "列", "原因"):
        table.add_column(column)
    for error in errors:
        item = error.model_dump() if isinstance(error, LineError) else error
        table.add_row(str(item["line"]), str(item["field"]), str(item["reason"]))
    console.print(table)


def import_file(
    path: Path,
    *,
    url: str,
    token: str | None,
    settings: Settings,
    console: Console,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Check the file here first (the same checks as the service), then post it."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        lines = parse_roster(text)
    except RosterRejected as exc:
        print_line_errors(console, exc.errors)
        return 1
    if token is None:
        token = issue_token(
            settings,
            person="suxing-cli",
            name="suxing-cli",
            roles=["operator"],
            branch=None,
            unit=None,
        )
    with httpx.Client(base_url=url, transport=transport, timeout=120) as client:
        response = client.post(
            "/roster/import",
            content=text.encode("utf-8"),
            headers={"Content-Type": "text/csv; charset=utf-8", "Authorization": f"Bearer {token}"},
        )
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code == 422 and "lines" in body:
        print_line_errors(console, body["lines"])
        return 1
    if response.status_code != 200:
        reason = body.get("message", response.text)
        console.print(f"[red]导入失败（HTTP {response.status_code}）：{reason}[/red]")
        return 1
    console.print(
        f"已读取 {len(lines)} 行，记录 {body['events']} 个事件"
        + ("（花名册无变化）" if body["events"] == 0 else "")
    )
    for event_type, count in sorted(body["by_type"].items()):
        console.print(f"  {event_type}: {count}")
    return 0
