"""Operator commands against a real embedded stack (`suxing up` as a process)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from services.scoring.persistence import PREFIX
from shared.auth import Principal, Role, TokenIssuer
from shared.settings import Settings
from suxing_cli.main import app

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ROSTER = (
    "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,committee_position\n"
    "u1,采油一厂党委,b1,采油一厂第一党支部,p1,张三,member,secretary\n"
    "u1,采油一厂党委,b1,采油一厂第一党支部,p2,李四,member,\n"
    "u1,采油一厂党委,b2,采油一厂第二党支部,p3,王五,probationary,\n"
    "u1,采油一厂党委,b2,采油一厂第二党支部,e1,赵六,employee,\n"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    data_dir = tmp_path_factory.mktemp("stack") / "var"
    env = {**os.environ, "SUXING_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "suxing_cli.main", "up", "--base-port", "0", "--empty"],
        cwd=data_dir.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack_file = data_dir / "stack.json"
    deadline = time.monotonic() + 90
    while not stack_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "suxing up failed"
        time.sleep(0.3)
    stack = json.loads(stack_file.read_text())
    stack["data_dir"] = data_dir
    try:
        import_roster(stack)
        yield stack
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


@pytest.fixture
def cli(stack: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("SUXING_DATA_DIR", str(stack["data_dir"]))
    monkeypatch.delenv("SUXING_BROKER_URL", raising=False)
    monkeypatch.delenv("SUXING_DATABASE_URL", raising=False)
    return CliRunner()


def import_roster(stack: dict[str, object]) -> None:
    operator = Principal(person_id="ops", name="运维", roles=frozenset({Role.OPERATOR}))
    token = TokenIssuer(Settings().jwt_secret).issue(operator)
    services = stack["services"]
    assert isinstance(services, dict)
    response = httpx.post(
        f"{services['pledges']}/roster/import",
        content=ROSTER.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_operator_commands_on_a_running_stack(
    stack: dict[str, object], cli: CliRunner, tmp_path: Path
) -> None:
    result = cli.invoke(app, ["verify-log", "pledges", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["events"] >= 7
    assert report["seals"] >= 1  # the service sealed its log when it started

    assert cli.invoke(app, ["seal", "pledges"]).exit_code == 0
    result = cli.invoke(app, ["verify-log", "pledges", "--json"])
    assert json.loads(result.output)["seals"] == report["seals"] + 1

    out = tmp_path / "pledges.jsonl"
    refused = cli.invoke(app, ["export", "pledges", "--out", str(out)])
    assert refused.exit_code == 2 and "--include-personal-data" in refused.output
    assert not out.exists()
    trap = tmp_path / "elsewhere.txt"
    trap.write_text("keep", "utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(trap)
    for target in (trap, link):  # an existing file, a link to one: never written through
        result = cli.invoke(
            app, ["export", "pledges", "--out", str(target), "--include-personal-data"]
        )
        assert result.exit_code == 2, result.output
    assert trap.read_text("utf-8") == "keep"
    result = cli.invoke(app, ["export", "pledges", "--out", str(out), "--include-personal-data"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [line["position"] for line in lines] == sorted(line["position"] for line in lines)
    assert {"PersonRegistered", "LogSealed"} <= {line["type"] for line in lines}
    assert any(line["data"].get("name") == "张三" for line in lines)

    # Everything the relay published is on the topic (true ends, not Tansu's watermark).
    deadline = time.monotonic() + 30
    while True:
        result = cli.invoke(app, ["topics", "describe", "--json"])
        assert result.exit_code == 0, result.output
        rows = json.loads(result.output)
        on_topic = sum(r["end"] for r in rows if r["topic"] == "suxing.pledges")
        if on_topic >= len(lines) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert on_topic >= len(lines)
    assert {r["retention.ms"] for r in rows} == {"-1"}

    # What the database holds equals what was signed and published (docs/signing.md).
    result = cli.invoke(app, ["verify-log", "pledges", "--json", "--against-topic"])
    assert result.exit_code == 0, result.output
    against = json.loads(result.output)["against_topic"]
    assert against["ok"] and against["refused"] == 0
    assert against["compared"] == len(lines), against

    result = cli.invoke(app, ["lag", "--interval", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    lag = json.loads(result.output)
    assert {o["service"] for o in lag["outbox"]} == {"pledges", "reviews", "scoring"}

    result = cli.invoke(
        app,
        [
            "tail",
            "suxing.pledges",
            "--from-beginning",
            "--type",
            "PersonRegistered",
            "--limit",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    tailed = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert len(tailed) == 4 and {t["type"] for t in tailed} == {"PersonRegistered"}

    result = cli.invoke(app, ["republish", "pledges"])
    assert result.exit_code == 0 and f"{len(lines)} events" in result.output


def test_rebuild_scoring_blue_green_on_a_running_stack(
    stack: dict[str, object], cli: CliRunner
) -> None:
    services = stack["services"]
    assert isinstance(services, dict)
    result = cli.invoke(app, ["rebuild", "scoring", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert report["verified"] and report["switched"] and report["slot"] == "green"
    people = next(t for t in report["tables"] if t["table"] == f"{PREFIX}people")
    assert people["live_rows"] == people["rebuilt_rows"] >= 4 and people["equal"]

    # The running service follows the switch: its readiness names the slot it reads.
    deadline = time.monotonic() + 15
    while True:
        ready = httpx.get(f"{services['scoring']}/health/ready", timeout=10).json()
        slot = ready["checks"]["read_model"]["slot"]
        if slot == "green" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert slot == "green"

    result = cli.invoke(app, ["rebuild", "scoring", "--status", "--json"])
    states = {row["slot"]: row["state"] for row in json.loads(result.output)}
    assert states == {"blue": "retired", "green": "active"}
    assert cli.invoke(app, ["rebuild", "scoring", "--drop-retired"]).exit_code == 0
    result = cli.invoke(app, ["rebuild", "scoring", "--drop-retired"])
    assert result.exit_code == 2 and "no retired slot" in result.output

    # The reviews roster lives with the ballots: only in place, on a stopped service.
    result = cli.invoke(app, ["rebuild", "reviews"])
    assert result.exit_code == 2 and "--in-place" in result.output


def test_verify_log_names_a_flipped_byte(stack: dict[str, object], cli: CliRunner) -> None:
    data_dir = stack["data_dir"]
    assert isinstance(data_dir, Path)
    db = sqlite3.connect(data_dir / "pledges.db")
    try:
        position, stream, sequence, data = db.execute(
            "SELECT position, stream, sequence, data FROM es_events "
            "WHERE type = 'PersonRegistered' ORDER BY position LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE es_events SET data = ? WHERE position = ?",
            (data.replace("张三", "张叁"), position),
        )
        db.commit()
    finally:
        db.close()
    result = cli.invoke(app, ["verify-log", "pledges"])
    assert result.exit_code == 1
    assert f"{stream} #{sequence} (position {position})" in result.output
    assert "was changed" in result.output
