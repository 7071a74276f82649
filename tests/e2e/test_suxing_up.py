"""`suxing up` (what `make run` runs) as a real process: up, healthy, and cleanly down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_suxing_up_starts_every_service_and_stops_them_on_ctrl_c(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {**os.environ, "SUXING_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "suxing_cli.main", "up", "--base-port", "0", "--empty"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    stack_file = data_dir / "stack.json"
    try:
        deadline = time.monotonic() + 90
        while not stack_file.exists():
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            assert time.monotonic() < deadline, "suxing up did not come up in 90 s"
            time.sleep(0.3)
        stack = json.loads(stack_file.read_text())
        assert set(stack["services"]) == {"pledges", "reviews", "scoring"}
        for name, url in stack["services"].items():
            live = httpx.get(f"{url}/health/live", timeout=5)
            assert live.json() == {"status": "ok", "service": name}
            ready = httpx.get(f"{url}/health/ready", timeout=5)
            assert ready.status_code == 200
            assert ready.json()["checks"]["database"] == "ok"
            assert (data_dir / f"{name}.db").exists()
            metrics = httpx.get(f"{url}/metrics", timeout=5).text
            assert f'suxing_outbox_backlog{{service="{name}"}} 0.0' in metrics
            assert "suxing_relay_published_total" in metrics
        portal = httpx.get(f"{stack['portal']}/board", timeout=5)
        assert portal.status_code == 200 and "公开栏" in portal.text
        assert "暂无党支部" in portal.text  # --empty: no demo company
        pids = list(stack["pids"].values())
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0, output
    assert "pledges" in output
    for pid in pids:  # every service process is gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not stack_file.exists()
