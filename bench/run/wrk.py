"""HTTP load from Debian's ``wrk`` (``apt-get install wrk``), the load generator of the command
scenario: one C thread drives thousands of requests per second, where the bench's Python
client (``bench.run.load``) tops out at about 500, so the figures are the server's.

The requests are written to a file, one per line, and ``wrk_requests.lua`` sends them:
either each once (ballots: every request a different ballot sheet, so each is accepted as a
cast), or round and round until the duration ends (the floor, ``cycle=True``). The script
counts answers per status and per outcome and times its threads with its own clock.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk_requests.lua")


def available() -> str | None:
    """The wrk executable, or None when it is not installed."""
    return shutil.which("wrk")


@dataclass(frozen=True)
class Result:
    seconds: float
    """From the first request to the last counted answer (the slowest thread)."""
    statuses: dict[int, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    listed: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def refused(self) -> int:
        return self.answered - self.accepted

    def per_second(self, count: int) -> float:
        return count / self.seconds if self.seconds > 0 else 0.0


def _line(method: str, path: str, token: str | None, body: Any) -> str:
    text = "" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    for part in (method, path, token or "", text):
        if "\t" in part or "\n" in part:
            raise ValueError("a request line part holds a tab or a newline")
    return f"{method}\t{path}\t{token or ''}\t{text}"


def _write(workdir: Path, requests: list[list[Any]]) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    listing = workdir / f"wrk-requests-{os.getpid()}-{id(requests)}.txt"
    listing.write_text("\n".join(_line(*r) for r in requests) + "\n", encoding="utf-8")
    return listing


async def run(
    base: str,
    requests: list[list[Any]],
    *,
    seconds: float,
    connections: int,
    workdir: Path,
    threads: int = 1,
    cycle: bool = False,
) -> Result:
    """Send ``requests`` (``[method, path, token, body]``) to ``base`` with wrk: each once, or
    repeatedly for ``seconds`` when ``cycle``. Without ``cycle`` wrk still stops after
    ``seconds`` if the list is not done by then."""
    exe = available()
    if exe is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    listing = _write(workdir, requests)
    env = {
        **os.environ,
        "WRK_REQUESTS": str(listing),
        "WRK_THREADS": str(threads),
        "WRK_CYCLE": "1" if cycle else "0",
    }
    proc = await asyncio.create_subprocess_exec(
        exe,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{math.ceil(seconds)}s",
        "--timeout",
        "60s",
        "-s",
        str(SCRIPT),
        base,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    os.unlink(listing)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {err.decode(errors='replace')}")
    return parse(out.decode())


def parse(output: str) -> Result:
    """The figures of the script's ``WRK_THREAD`` and ``WRK_SUMMARY`` lines."""
    statuses: dict[int, int] = {}
    outcomes: dict[str, int] = {}
    spans: list[float] = []
    listed = 0
    summary: dict[str, Any] = {}
    for line in output.splitlines():
        if line.startswith("WRK_THREAD "):
            thread = json.loads(line.removeprefix("WRK_THREAD "))
            for status, n in thread["statuses"].items():
                statuses[int(status)] = statuses.get(int(status), 0) + int(n)
            for outcome, n in thread["outcomes"].items():
                outcomes[outcome] = outcomes.get(outcome, 0) + int(n)
            spans.append(float(thread["seconds"]))
            listed += int(thread["listed"])
        elif line.startswith("WRK_SUMMARY "):
            summary = json.loads(line.removeprefix("WRK_SUMMARY "))
    if not spans:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    return Result(
        seconds=max(spans),
        statuses=statuses,
        outcomes=outcomes,
        listed=listed,
        p50_ms=float(summary.get("p50_ms", 0.0)),
        p99_ms=float(summary.get("p99_ms", 0.0)),
        errors={k: int(v) for k, v in summary.get("errors", {}).items() if int(v)},
    )
