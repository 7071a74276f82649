"""``suxing up``: the embedded stack (broker + every service) as child processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from shared.contracts.topics import SERVICES, all_topics
from shared.messaging import admin
from shared.messaging.embedded_broker import EmbeddedBroker, find_broker_binary
from shared.settings import SERVICE_PORTS, Settings


@dataclass
class Child:
    name: str
    url: str
    process: subprocess.Popen[bytes]


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_healthy(children: list[Child], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = {c.name: c for c in children}
    while pending and time.monotonic() < deadline:
        for name, child in list(pending.items()):
            if child.process.poll() is not None:
                raise RuntimeError(f"service {name} exited with code {child.process.returncode}")
            try:
                if httpx.get(f"{child.url}/health/ready", timeout=1).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    if pending:
        raise RuntimeError(f"services not ready after {timeout:.0f}s: {', '.join(pending)}")


def stop_children(children: list[Child], timeout: float = 15) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


def start_portal(
    settings: Settings, children: list[Child], base_port: int | None, log_dir: Path
) -> Child:
    """The web portal, pointed at the services just started."""
    if base_port == 0:
        port = free_port(settings.host)
    elif base_port is not None:
        port = base_port + len(children)
    else:
        port = SERVICE_PORTS["portal"]
    env = {
        **os.environ,
        "SUXING_SERVICE": "portal",
        "SUXING_PORT": str(port),
        **{f"SUXING_{c.name.upper()}_URL": c.url for c in children},
    }
    log_file = (log_dir / "portal.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.portal"],
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Child("portal", f"http://{settings.host}:{port}", process)


def load_demo(children: list[Child], console: Console, settings: Settings) -> bool:
    """On an empty database, the demo company through the real APIs (suxing_cli.demo)."""
    from suxing_cli import demo

    urls = {c.name: c.url for c in children}
    if not {"pledges", "reviews", "scoring"} <= set(urls) or not demo.is_empty(urls):
        return False
    console.print("数据库为空，正在通过接口载入演示单位… / loading the demo company…")
    try:
        demo.load(urls, settings)
    except (demo.DemoError, httpx.HTTPError) as exc:
        console.print(f"[red]演示数据未能全部载入 / demo load failed: {exc}[/red]")
        return False
    return True


def run_up(
    *,
    services: list[str],
    base_port: int | None,
    console: Console,
    ready_timeout: float = 60,
    portal: bool = True,
    demo: bool = True,
) -> int:
    settings = Settings()
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        console.print(f"[red]未知服务 / unknown services: {', '.join(unknown)}[/red]")
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    bootstrap = settings.broker_url
    if settings.embedded and not bootstrap:
        broker = EmbeddedBroker(
            find_broker_binary(settings.broker_bin),
            log_path=settings.data_dir / "broker.log",
        )
        broker.start()
        bootstrap = broker.bootstrap
    assert bootstrap is not None
    admin.ensure_topics(
        bootstrap,
        all_topics(settings.topic_partitions, settings.topic_replication),
        **settings.kafka_security().kafka_python(),
    )
    children: list[Child] = []
    try:
        for index, name in enumerate(services):
            if base_port == 0:
                port = free_port(settings.host)
            elif base_port is not None:
                port = base_port + index
            else:
                port = SERVICE_PORTS[name]
            env = {
                **os.environ,
                "SUXING_SERVICE": name,
                "SUXING_BROKER_URL": bootstrap,
                "SUXING_PORT": str(port),
                "SUXING_DATA_DIR": str(Path(settings.data_dir).resolve()),
            }
            log_file = (settings.data_dir / f"{name}.log").open("ab")
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop children in order
            )
            children.append(Child(name, f"http://{settings.host}:{port}", process))
        wait_healthy(children, ready_timeout)
        web = None
        if portal and {"pledges", "reviews", "scoring"} <= {c.name for c in children}:
            web = start_portal(settings, list(children), base_port, settings.data_dir)
            children.append(web)
            wait_healthy([web], ready_timeout)
        demo_loaded = demo and load_demo(children, console, settings)
        # A machine-readable note of where everything runs, for tools and tests.
        (settings.data_dir / "stack.json").write_text(
            json.dumps(
                {
                    "broker": bootstrap,
                    "services": {c.name: c.url for c in children if c is not web},
                    "portal": web.url if web else None,
                    "pids": {c.name: c.process.pid for c in children},
                },
                indent=2,
            )
        )
        table = Table(title="塑形 Suxing 已启动 (embedded)" if broker else "塑形 Suxing")
        table.add_column("服务 service")
        table.add_column("地址 URL")
        table.add_row("broker", bootstrap)
        for child in children:
            docs = "" if child is web else f"  (API 文档: {child.url}/docs)"
            table.add_row(child.name, f"{child.url}{docs}")
        console.print(table)
        if web is not None:
            console.print(f"门户 portal: {web.url}", highlight=False)
        if demo_loaded:
            from suxing_cli.demo import SIGN_INS

            console.print("演示登录（在门户登录页选择）/ demo sign-ins:", highlight=False)
            for person_id, name, what in SIGN_INS:
                console.print(f"  {name}（{what}）  {person_id}", highlight=False)
        console.print("按 Ctrl-C 停止 / press Ctrl-C to stop", highlight=False)
        sys.stdout.flush()
        while True:
            for child in children:
                if child.process.poll() is not None:
                    console.print(
                        f"[red]service {child.name} exited ({child.process.returncode}); "
                        f"see {settings.data_dir / (child.name + '.log')}[/red]"
                    )
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        stop_children(children)
        if broker is not None:
            broker.stop()
        (settings.data_dir / "stack.json").unlink(missing_ok=True)
