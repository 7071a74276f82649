"""Operator commands act as a named operator and leave a record in the service's log
(OperatorCommandRun): a verified operator token, the local account in the embedded profile
only, and refusals that change nothing."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shared.auth import Principal, Role, TokenIssuer
from shared.contracts.kernel import OperatorCommandRun
from shared.db import Database
from shared.eventstore.audit import audit_stream
from shared.eventstore.store import EventStore
from shared.migrations import upgrade
from shared.settings import DEFAULT_SECRET
from suxing_cli.main import app

pytestmark = pytest.mark.integration

OPERATOR = Principal(person_id="ops-zhao", name="赵运维", roles=frozenset({Role.OPERATOR}))
MEMBER = Principal(person_id="m-li", name="李秀英", roles=frozenset({Role.MEMBER}), branch_id="b-a")


def records(url: str) -> list[OperatorCommandRun]:
    async def read() -> list[OperatorCommandRun]:
        db = Database(url)
        try:
            async with db.reading() as session:
                stored = await EventStore().load(session, audit_stream("pledges"))
        finally:
            await db.dispose()
        return [s.event for s in stored if isinstance(s.event, OperatorCommandRun)]

    return asyncio.run(read())


@pytest.fixture
def database(database_url: str) -> str:
    upgrade("pledges", database_url)
    return database_url


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("SUXING_PROFILE", "SUXING_OPERATOR_TOKEN", "SUXING_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_commands_are_recorded_with_the_verified_operator(
    database: str, cli: CliRunner, tmp_path: Path
) -> None:
    token = TokenIssuer(DEFAULT_SECRET).issue(OPERATOR)
    env = {"SUXING_OPERATOR_TOKEN": token}
    sealed = cli.invoke(app, ["seal", "pledges", "--database-url", database], env=env)
    assert sealed.exit_code == 0, sealed.output
    out = tmp_path / "audit.jsonl"
    exported = cli.invoke(
        app,
        [
            "export",
            "pledges",
            "--database-url",
            database,
            "--out",
            str(out),
            "--include-personal-data",
        ],
        env=env,
    )
    assert exported.exit_code == 0, exported.output
    republished = cli.invoke(app, ["republish", "pledges", "--database-url", database])
    assert republished.exit_code == 0, republished.output

    seal, export, republish = records(database)
    assert (seal.command, seal.operator, seal.verified) == ("seal", "赵运维 (ops-zhao)", True)
    assert export.command == "export" and export.detail == f"to {out.resolve()}"
    # Embedded, without a token: the local account, marked unverified.
    assert republish.command == "republish" and republish.verified is False
    assert republish.operator.endswith("(local account)") and republish.host
    # The export was recorded before it read: the file holds its own record.
    lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [line["type"] for line in lines if line["type"] == "OperatorCommandRun"] == [
        "OperatorCommandRun",
        "OperatorCommandRun",
    ]


def test_who_cannot_be_named_changes_nothing(database: str, cli: CliRunner) -> None:
    member = TokenIssuer(DEFAULT_SECRET).issue(MEMBER)
    forged = TokenIssuer("z" * 40).issue(OPERATOR)
    for env, reason in (
        ({"SUXING_OPERATOR_TOKEN": member}, "not an operator"),
        ({"SUXING_OPERATOR_TOKEN": forged}, "SUXING_OPERATOR_TOKEN"),
        (
            {
                "SUXING_PROFILE": "production",
                "SUXING_DATABASE_URL": database,
                "SUXING_BROKER_URL": "kafka:9093",
                "SUXING_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
                "SUXING_JWT_SECRET": "p" * 40,
            },
            "SUXING_OPERATOR_TOKEN",
        ),
    ):
        result = cli.invoke(app, ["seal", "pledges", "--database-url", database], env=env)
        assert result.exit_code != 0
        said = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())
        assert reason in said, result.output
    assert records(database) == []
