"""The database stalls under a running service (a real process): locked (SQLite held by
another writer) or unreachable (PostgreSQL behind a connection that is cut). The service
answers 503 with a Chinese reason, records nothing, and recovers by itself."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PgDatabases
from tests.faults.figures import record
from tests.faults.proxy import CuttableProxy
from tests.faults.stack import (
    ADMIN,
    Stack,
    declaration,
    member,
    prepare_year,
    running_stack,
    wait_until,
)
from tests.support.availability import POSTGRES, unavailable

pytestmark = [pytest.mark.faults, pytest.mark.e2e]


def declare(stack: Stack, pid: str) -> httpx.Response:
    return httpx.post(
        f"{stack.url('pledges')}/pledges",
        json=declaration(pid, 0, 0),
        headers={"Authorization": f"Bearer {member(0, 0)}", "Idempotency-Key": pid},
        timeout=120,
    )


def recorded(stack: Stack, pid: str) -> int:
    rows = stack.services["pledges"].sql(
        "SELECT count(*) FROM es_events WHERE stream = ?", f"pledge-{pid}"
    )
    return int(rows[0][0])


@pytest.mark.timeout(600)
def test_a_locked_sqlite_database_gives_503_and_the_service_recovers(tmp_path: Path) -> None:
    with running_stack(tmp_path, names=("pledges",)) as stack:
        prepare_year(stack.url("pledges"), 1, 1)
        holder = sqlite3.connect(stack.services["pledges"].sqlite_path, timeout=1)
        holder.isolation_level = None
        holder.execute("BEGIN EXCLUSIVE")  # another writer holds the lock
        try:
            stalled = declare(stack, "lock-1")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert stalled.status_code == 503, stalled.text
        assert stalled.json()["error"] == "database_unavailable"
        assert "数据库暂时不可用" in stalled.json()["message"]
        assert stalled.headers.get("Retry-After")
        assert recorded(stack, "lock-1") == 0
        # The lock is gone: the same request (same key) now goes through, no restart.
        again = declare(stack, "lock-1")
        assert again.status_code == 201, again.text
        assert recorded(stack, "lock-1") == 1
        record(
            "database locked (SQLite)",
            {"while_locked": stalled.status_code, "after": again.status_code, "lost": 0},
        )


@pytest.mark.timeout(600)
def test_an_unreachable_postgresql_gives_503_and_the_service_recovers(
    tmp_path: Path, pg_databases: PgDatabases | None
) -> None:
    if pg_databases is None:
        unavailable(POSTGRES)
    import asyncio

    url = make_url(asyncio.run(pg_databases.create()))
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.open()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        with running_stack(
            tmp_path, names=("pledges",), database_urls={"pledges": through}
        ) as stack:
            prepare_year(stack.url("pledges"), 1, 1)
            base = stack.url("pledges")
            proxy.cut()
            statuses = []
            for n in range(3):
                response = declare(stack, f"pg-{n}")
                statuses.append(response.status_code)
                assert response.status_code == 503, response.text
                assert "数据库暂时不可用" in response.json()["message"]
            ready = httpx.get(f"{base}/health/ready", timeout=60)
            assert ready.status_code == 503
            assert "unreachable" in ready.json()["checks"]["database"]
            proxy.open()
            assert wait_until(
                lambda: httpx.get(f"{base}/health/ready", timeout=60).status_code == 200, 120
            ), "the service did not recover by itself"
            again = declare(stack, "pg-0")
            assert again.status_code == 201, again.text
            listed = httpx.get(
                f"{base}/members/m-f0-0/pledges",
                headers={"Authorization": f"Bearer {ADMIN}"},
                timeout=30,
            ).json()
            assert [p["pledge_id"] for p in listed] == ["pg-0"]
            record(
                "database unreachable (PostgreSQL)",
                {
                    "while_cut": statuses,
                    "ready_while_cut": ready.status_code,
                    "after": again.status_code,
                },
            )
    finally:
        proxy.close()
