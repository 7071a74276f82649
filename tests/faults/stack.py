"""A real Suxing stack for fault tests: the embedded broker and every service as its own OS
process (``python -m services.<name>``, as ``suxing up`` starts them), which the tests kill
with SIGKILL, restart, and drive over HTTP like a client would."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shared.auth import Principal, Role, TokenIssuer
from shared.contracts.topics import all_topics
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from shared.settings import DEFAULT_SECRET

ROOT = Path(__file__).resolve().parents[2]
YEAR = datetime.now(UTC).year
SERVICES = ("pledges", "reviews", "scoring")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(person_id: str, *roles: Role, branch: str | None = None, unit: str | None = "u-f") -> str:
    principal = Principal(
        person_id=person_id, name=person_id, roles=frozenset(roles), unit_id=unit, branch_id=branch
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


ADMIN = token("admin-f", Role.ORG_ADMIN)


@dataclass
class ServiceProcess:
    name: str
    port: int
    data_dir: Path
    broker: str
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / f"{self.name}.db"

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SUXING_SERVICE": self.name,
            "SUXING_BROKER_URL": self.broker,
            "SUXING_PORT": str(self.port),
            "SUXING_DATA_DIR": str(self.data_dir),
            "SUXING_SEAL_INTERVAL_SECONDS": "0",
            **self.extra_env,
        }
        if self.database_url:
            env["SUXING_DATABASE_URL"] = self.database_url
        log = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"],
            env=env,
            cwd=self.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut of this process."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait_ready(self, timeout: float = 90) -> None:
        """Until /health/live answers (ready needs the broker, which a test may have taken
        away on purpose)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not come up in {timeout:.0f}s")

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read this service's SQLite database from outside (WAL: readers never block it)."""
        db = sqlite3.connect(f"file:{self.sqlite_path}?mode=ro", uri=True, timeout=30)
        try:
            return list(db.execute(query, params).fetchall())
        finally:
            db.close()

    def sql_everywhere(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """The query over this service's database and its read-model slot files
        (``<name>.read-<slot>.db``, shared/readmodel), where each has the tables."""
        rows: list[tuple[Any, ...]] = []
        for path in sorted(self.data_dir.glob(f"{self.name}*.db")):
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                rows.extend(db.execute(query, params).fetchall())
            except sqlite3.OperationalError as exc:
                if "no such table" not in str(exc):
                    raise
            finally:
                db.close()
        return rows


@dataclass
class Stack:
    data_dir: Path
    broker: EmbeddedBroker
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.services[name].url

    def restart(self, name: str) -> None:
        service = self.services[name]
        service.start()
        service.wait_ready()

    def log_lines(self, fragment: str) -> list[str]:
        """Lines of every service's log that contain ``fragment``."""
        found = []
        for log in sorted(self.data_dir.glob("*.log")):
            for line in log.read_text("utf-8", "replace").splitlines():
                if fragment in line:
                    found.append(f"{log.name}: {line}")
        return found

    def metric(self, name: str, metric: str) -> float:
        """Sum of one Prometheus metric's samples on one service."""
        text = httpx.get(f"{self.url(name)}/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(metric) and line[len(metric)] in " {":
                total += float(line.rsplit(" ", 1)[1])
        return total


@contextmanager
def running_stack(
    tmp: Path,
    names: tuple[str, ...] = SERVICES,
    database_urls: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    portal: bool = False,
) -> Iterator[Stack]:
    """``env``: more settings for every process (e.g. ``SUXING_CLOCK_FILE``); ``portal``: also
    the web portal (``stack.url("portal")``), pointed at the services."""
    data_dir = tmp / "var"
    data_dir.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(find_broker_binary(), log_path=data_dir / "broker.log")
    broker.start()
    admin.ensure_topics(broker.bootstrap, all_topics(3))
    stack = Stack(data_dir=data_dir, broker=broker)
    try:
        for name in names:
            stack.services[name] = ServiceProcess(
                name=name,
                port=free_port(),
                data_dir=data_dir,
                broker=broker.bootstrap,
                database_url=(database_urls or {}).get(name),
                extra_env=dict(env or {}),
            )
            stack.services[name].start()
        for service in stack.services.values():
            service.wait_ready()
        if portal:
            urls = {f"SUXING_{n.upper()}_URL": s.url for n, s in stack.services.items()}
            stack.services["portal"] = ServiceProcess(
                name="portal",
                port=free_port(),
                data_dir=data_dir,
                broker=broker.bootstrap,
                extra_env={**(env or {}), **urls},
            )
            stack.services["portal"].start()
            stack.services["portal"].wait_ready()
        yield stack
    finally:
        for service in stack.services.values():
            service.stop()
        broker.stop()


# The example organisation: branches b-f0.., each with a secretary, members and an employee.


def roster_csv(branches: int, members: int) -> str:
    lines = ["unit_id,unit_name,branch_id,branch_name,person_id,name,kind,committee_position"]
    for b in range(branches):
        branch = f"b-f{b}"
        name = f"试验{b}队党支部"
        lines.append(f"u-f,试验厂党委,{branch},{name},sec-f{b},书记{b},member,secretary")
        lines.append(f"u-f,试验厂党委,{branch},{name},e-f{b},员工{b},employee,")
        # A reviewer who is nobody's pair and declares nothing: any trace of the id is a leak.
        lines.append(f"u-f,试验厂党委,{branch},{name},r-f{b},评议员{b},employee,")
        for m in range(members):
            lines.append(f"u-f,试验厂党委,{branch},{name},m-f{b}-{m},党员{b}-{m},member,")
    return "\n".join(lines) + "\n"


def secretary(branch: int) -> str:
    return token(
        f"sec-f{branch}",
        Role.MEMBER,
        Role.EMPLOYEE,
        Role.BRANCH_COMMITTEE,
        branch=f"b-f{branch}",
    )


def member(branch: int, n: int) -> str:
    return token(f"m-f{branch}-{n}", Role.MEMBER, Role.EMPLOYEE, branch=f"b-f{branch}")


def prepare_year(pledges_url: str, branches: int, members: int) -> None:
    """Roster, each branch's plan and each member's area, over HTTP."""
    with httpx.Client(base_url=pledges_url, timeout=60) as http:
        response = http.post(
            "/roster/import",
            content=roster_csv(branches, members).encode(),
            headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        for b in range(branches):
            plan = {"title": f"{YEAR}年党员塑形工程活动方案", "summary": "承诺践诺"}
            plan["meeting_date"] = f"{YEAR}-01-15"
            response = http.put(
                f"/branches/b-f{b}/plans/{YEAR}",
                json=plan,
                headers={"Authorization": f"Bearer {secretary(b)}"},
            )
            assert response.status_code == 200, response.text
            for m in range(members):
                response = http.put(
                    f"/members/m-f{b}-{m}/areas/{YEAR}",
                    json={"area": "safety"},
                    headers={"Authorization": f"Bearer {member(b, m)}"},
                )
                assert response.status_code == 200, response.text


def declaration(pledge_id: str, branch: int, n: int, **changes: Any) -> dict[str, Any]:
    return {
        "pledge_id": pledge_id,
        "member_id": f"m-f{branch}-{n}",
        "year": YEAR,
        "area": "safety",
        "item": "夜班巡检照明改造",
        "content": "为巡检路线加装照明并建立巡检记录",
        "quantity": "12处照明点",
        "quality_standard": "全部通过安全验收",
        "due_date": f"{YEAR}-12-31",
        "paired_employee_id": f"e-f{branch}",
        **changes,
    }


def current_period(kind: str) -> str:
    """This quarter (peer) or half-year (mass, branch)."""
    month = datetime.now(UTC).month
    return f"Q{(month - 1) // 3 + 1}" if kind == "peer" else ("H1" if month <= 6 else "H2")


def open_period(stack: Stack, period_id: str, kind: str, branch: str = "b-f0") -> None:
    """A review period of this quarter (peer) or half-year (mass, branch) for one branch."""
    body = {
        "period_id": period_id,
        "kind": kind,
        "period": current_period(kind),
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": branch,
    }
    response = httpx.post(
        f"{stack.url('reviews')}/periods",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def wait_until(probe: Callable[[], bool], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(0.3)
    return False
