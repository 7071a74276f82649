"""deploy/compose/create-databases.sh, run for real on a fresh cluster (as the postgres
image runs it at first start): a login role per service that owns its database, migrates
it, and cannot connect to another service's database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest

from shared.contracts.topics import SERVICES
from tests.support.pgcluster import pg_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "compose" / "create-databases.sh"
# Passwords with quotes and a backslash: the script must keep them literal.
PASSWORDS = {s: f"pw-{s}-'\"\\-x" for s in SERVICES}


def assignments(env: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in env.items()]


async def connects(port: int, user: str, database: str) -> bool:
    try:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=port,
            user=user,
            password=PASSWORDS[user.removeprefix("suxing_")],
            database=database,
            ssl=False,
        )
    except asyncpg.InsufficientPrivilegeError:
        return False
    await conn.close()
    return True


def test_each_service_role_opens_its_own_database_only() -> None:
    hba = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
    with pg_cluster(hba=hba) as cluster:
        env = {
            **os.environ,
            "POSTGRES_USER": "postgres",
            "PGHOST": str(cluster.socket_dir),
            "PGPORT": str(cluster.port),
            "PATH": f"{cluster.bin_dir}:{os.environ['PATH']}",
            **{f"POSTGRES_{s.upper()}_PASSWORD": p for s, p in PASSWORDS.items()},
        }
        ran = subprocess.run(
            [
                *cluster.as_owner,
                "env",
                "-i",
                *(f"{k}={v}" for k, v in env.items()),
                "sh",
                str(SCRIPT),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr

        for service in SERVICES:
            for other in SERVICES:
                allowed = asyncio.run(connects(cluster.port, f"suxing_{service}", other))
                assert allowed is (service == other), (service, other)
            # The role migrates its own database (it owns it): the service's own migrations.
            url = (
                f"postgresql+asyncpg://suxing_{service}:{quote(PASSWORDS[service], safe='')}"
                f"@127.0.0.1:{cluster.port}/{service}"
            )
            migrated = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "suxing_cli.main",
                    "migrate",
                    service,
                    "--database-url",
                    url,
                ],
                cwd=ROOT,
                env={k: v for k, v in os.environ.items() if not k.startswith("SUXING_")},
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        # Not a superuser, and no role can create roles or databases.
        rows = cluster.psql(
            "-d",
            "postgres",
            "-At",
            "-c",
            "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
            "WHERE rolname LIKE 'suxing_%' ORDER BY 1",
        )
        assert rows.returncode == 0, rows.stderr
        assert rows.stdout.split() == [f"suxing_{s}|f|f|f" for s in sorted(SERVICES)]

        # Without a password, the script stops before creating anything, and names it.
        env.pop("POSTGRES_PLEDGES_PASSWORD")
        missing = subprocess.run(
            [*cluster.as_owner, "env", "-i", *assignments(env), "sh", str(SCRIPT)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert missing.returncode != 0
        assert "POSTGRES_PLEDGES_PASSWORD is not set" in missing.stderr, missing.stderr
