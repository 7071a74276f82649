"""The production profile run here: the three services as real processes
(`python -m services.<name>`, SUXING_PROFILE=production), each on its own PostgreSQL
database, migrated first with `suxing migrate SERVICE --database-url URL`, talking through
the session's embedded broker. One pledge and one ballot walk through to a member's card in
the scoring service. And the production profile refuses the default secret, naming it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared.auth import Principal, Role, TokenIssuer
from shared.contracts.topics import SERVICES
from shared.messaging.embedded_broker import EmbeddedBroker
from tests.conftest import PgDatabases
from tests.support.availability import POSTGRES, unavailable

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# A strong secret of this test run only: production refuses the default and short ones.
SECRET = uuid.uuid4().hex + uuid.uuid4().hex
# Dates are the services' own (a real clock, Beijing time): the walk happens "today".
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
YEAR = TODAY.year
QUARTER = f"Q{(TODAY.month - 1) // 3 + 1}"
START_SECONDS = 90.0
WAIT_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_env() -> dict[str, str]:
    """The test's environment without any SUXING_* setting that could leak into the
    processes (a developer's shell may have some)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUXING_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def token(person: str, *roles: Role, branch: str | None, unit: str | None = None) -> str:
    principal = Principal(
        person_id=person, name=person, roles=frozenset(roles), branch_id=branch, unit_id=unit
    )
    return TokenIssuer(SECRET).issue(principal)


class Stack:
    """The three service processes and their URLs."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.urls: dict[str, str] = {}

    def start(self, service: str, env: dict[str, str]) -> None:
        port = free_port()
        env = {**env, "SUXING_PORT": str(port)}
        log = (self.logs / f"{service}.log").open("wb")
        self.procs[service] = subprocess.Popen(
            [sys.executable, "-m", f"services.{service}"],
            cwd=self.logs,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.urls[service] = f"http://127.0.0.1:{port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        waiting = set(self.procs)
        while waiting:
            for service in sorted(waiting):
                proc = self.procs[service]
                assert proc.poll() is None, f"{service} exited:\n{self.log(service)}"
                try:
                    ready = httpx.get(f"{self.urls[service]}/health/ready", timeout=2)
                except httpx.HTTPError:
                    continue
                if ready.status_code == 200:
                    waiting.discard(service)
            assert time.monotonic() < deadline, f"not ready: {sorted(waiting)}\n" + "\n".join(
                self.log(service) for service in waiting
            )
            time.sleep(0.5)

    def log(self, service: str) -> str:
        text = (self.logs / f"{service}.log").read_text("utf-8", errors="replace")
        return f"--- {service} ---\n{text[-4000:]}"

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def databases(pg_databases: PgDatabases | None) -> dict[str, str]:
    if pg_databases is None:
        unavailable(POSTGRES)
    return {service: asyncio.run(pg_databases.create()) for service in SERVICES}


@pytest.fixture(scope="module")
def stack(
    databases: dict[str, str],
    broker: EmbeddedBroker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("production")
    suffix = f".{uuid.uuid4().hex[:8]}"
    for service, url in databases.items():
        migrated = subprocess.run(
            [sys.executable, "-m", "suxing_cli.main", "migrate", service, "--database-url", url],
            cwd=logs,
            env=base_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    # Production never creates a signing key: the operator provisions one per service (in the
    # session's keys directory, which every other test's consumer on this broker trusts).
    keys = os.environ["SUXING_KEYS_DIR"]
    for service in databases:
        made = subprocess.run(
            [sys.executable, "-m", "suxing_cli.main", "keys", "new", "--service", service],
            cwd=logs,
            env={**base_env(), "SUXING_KEYS_DIR": keys},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert made.returncode == 0 and f"{service}." in made.stdout, made.stdout + made.stderr
    running = Stack(logs)
    try:
        for service, url in databases.items():
            running.start(
                service,
                {
                    **base_env(),
                    "SUXING_PROFILE": "production",
                    "SUXING_DATABASE_URL": url,
                    "SUXING_BROKER_URL": broker.bootstrap,
                    "SUXING_JWT_SECRET": SECRET,
                    "SUXING_DATA_DIR": str(logs / "var"),
                    "SUXING_KEYS_DIR": keys,
                    # Consumer groups of this run only: the session broker is shared.
                    "SUXING_GROUP_SUFFIX": suffix,
                    # The test broker is Tansu, which refuses aiokafka's idempotent producer
                    # (BROKER.md); on Apache Kafka production keeps it on.
                    "SUXING_BROKER_IDEMPOTENCE": "false",
                    # The session broker is Tansu, which speaks PLAINTEXT only (TLS is run
                    # through a terminator in test_tls_transport.py); production must say so.
                    "SUXING_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
                },
            )
        running.wait_ready()
        yield running
    finally:
        running.stop()


def call(base: str, method: str, path: str, who: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {who}", **kw.pop("headers", {})}
    return httpx.request(method, f"{base}{path}", headers=headers, timeout=30, **kw)


def ok(base: str, method: str, path: str, who: str, **kw: Any) -> Any:
    response = call(base, method, path, who, **kw)
    assert response.status_code in (200, 201), (path, response.status_code, response.text)
    return response.json()


def eventually(attempt: Callable[[], Any], what: str, stack: Stack) -> Any:
    """Repeat ``attempt`` until it returns something truthy (events travel the broker)."""
    deadline = time.monotonic() + WAIT_SECONDS
    last: Any = None
    while time.monotonic() < deadline:
        last = attempt()
        if last:
            return last
        time.sleep(0.5)
    logs = "\n".join(stack.log(service) for service in SERVICES)
    raise AssertionError(f"{what}: still not there after {WAIT_SECONDS:.0f}s ({last!r})\n{logs}")


def test_a_pledge_and_a_ballot_reach_the_card(stack: Stack) -> None:
    pledges, reviews, scoring = (stack.urls[s] for s in SERVICES)
    u = uuid.uuid4().hex[:8]
    # Ids of this run only: other tests publish their rosters on the same topics.
    unit, branch = f"pp-u-{u}", f"pp-b-{u}"
    secretary, member, peer, employee = (f"pp-{p}-{u}" for p in ("sec", "m1", "m2", "e1"))
    admin = token(f"pp-admin-{u}", Role.ORG_ADMIN, branch=None)
    operator = token(f"pp-ops-{u}", Role.OPERATOR, branch=None)
    sec = token(
        secretary, Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE, branch=branch, unit=unit
    )
    mem = token(member, Role.MEMBER, Role.EMPLOYEE, branch=branch, unit=unit)
    mate = token(peer, Role.MEMBER, Role.EMPLOYEE, branch=branch, unit=unit)
    emp = token(employee, Role.EMPLOYEE, branch=branch, unit=unit)

    # Roster → plan → need → area → declare → approve → agreement → publish (pledges).
    roster = (
        "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{secretary},王建国,member,队长,secretary\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{member},李秀英,member,采油工,\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{peer},张伟,member,采油工,\n"
        f"{unit},第一采油厂党委,{branch},采油一队党支部,{employee},赵磊,employee,采油工,\n"
    )
    ok(
        pledges,
        "POST",
        "/roster/import",
        operator,
        content=roster.encode(),
        headers={"Content-Type": "text/csv"},
    )
    plan = {
        "title": f"{YEAR}年党员塑形工程活动方案",
        "summary": "承诺践诺",
        "meeting_date": str(TODAY),
    }
    ok(pledges, "PUT", f"/branches/{branch}/plans/{YEAR}", sec, json=plan)
    need_id, pledge_id = f"pp-need-{u}", f"pp-pl-{u}"
    need = {
        "need_id": need_id,
        "branch_id": branch,
        "year": YEAR,
        "employee_id": employee,
        "problem": "夜班巡检路线缺少照明",
        "suggested_area": "safety",
    }
    ok(pledges, "POST", "/needs", emp, json=need)
    ok(pledges, "POST", f"/needs/{need_id}/classification", sec, json={"area": "safety"})
    ok(pledges, "PUT", f"/members/{member}/areas/{YEAR}", mem, json={"area": "safety"})
    declaration = {
        "pledge_id": pledge_id,
        "member_id": member,
        "year": YEAR,
        "area": "safety",
        "item": "夜班巡检照明改造",
        "content": "为巡检路线加装照明并建立巡检记录",
        "quantity": "12处照明点",
        "quality_standard": "全部通过安全验收",
        "due_date": f"{YEAR}-12-31",
        "need_ids": [need_id],
        "paired_employee_id": employee,
    }
    ok(pledges, "POST", "/pledges", mem, json=declaration, headers={"Idempotency-Key": u})
    ok(pledges, "POST", f"/pledges/{pledge_id}/approval", sec)
    agreement = {
        "signed_on": str(TODAY),
        "problem": "夜班巡检照明不足",
        "q1": "勘察路线",
        "q2": "安装一半",
        "q3": "全部安装",
        "final_goal": "夜班巡检全程有照明",
    }
    ok(pledges, "POST", f"/pledges/{pledge_id}/agreement", sec, json=agreement)
    publication = {"channels": ["staff_meeting", "notice_board"], "published_on": str(TODAY)}
    ok(pledges, "POST", f"/pledges/{pledge_id}/publication", sec, json=publication)

    # A peer review period and one ballot (reviews learns the roster from the topic).
    period_id = f"pp-rp-{u}"
    opening = {
        "period_id": period_id,
        "kind": "peer",
        "period": QUARTER,
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": branch,
    }
    eventually(
        lambda: call(reviews, "POST", "/periods", admin, json=opening).status_code == 201,
        "the reviews service opens a period for the new branch",
        stack,
    )
    ballot = {"scores": [{"member_id": member, "score": 95}]}
    cast = eventually(
        lambda: (
            (
                r := call(reviews, "PUT", f"/periods/{period_id}/ballots/peer", mate, json=ballot)
            ).status_code
            == 200
            and r.json()
        ),
        "the peer's ballot is accepted",
        stack,
    )
    assert cast["outcome"] == "cast"
    # Results are sealed until the period closes; closing it sends its tallies to scoring.
    closed = call(reviews, "POST", f"/periods/{period_id}/close", admin)
    assert closed.status_code == 200, closed.text

    # The card (scoring) shows the published pledge and the tallied period.
    def card() -> dict[str, Any] | None:
        response = call(scoring, "GET", f"/members/{member}/cards/{YEAR}", mem)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        published = [p for p in body["pledges"] if p["pledge_id"] == pledge_id]
        peer_review = [r for r in body["reviews"] if r["review"] == "peer"]
        ballots = sum(p["ballots"] or 0 for r in peer_review for p in r["periods"])
        if published and published[0]["published_on"] == str(TODAY) and ballots >= 1:
            return body
        return None

    shown = eventually(card, "the card shows the pledge and the ballot", stack)
    assert shown["member_id"] == member and shown["branch_id"] == branch
    assert shown["pledges"][0]["paired"] is True

    for service in SERVICES:
        assert httpx.get(f"{stack.urls[service]}/health/ready", timeout=5).status_code == 200


def test_production_refuses_the_default_secret(broker: EmbeddedBroker, tmp_path: Path) -> None:
    env = {
        **base_env(),
        "SUXING_PROFILE": "production",
        "SUXING_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none",
        "SUXING_BROKER_URL": broker.bootstrap,
        "SUXING_PORT": str(free_port()),
        "SUXING_DATA_DIR": str(tmp_path / "var"),
    }
    for service in SERVICES:
        result = subprocess.run(
            [sys.executable, "-m", f"services.{service}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode != 0, result.stdout
        assert "SUXING_JWT_SECRET" in result.stderr, result.stderr
        assert "default" in result.stderr
