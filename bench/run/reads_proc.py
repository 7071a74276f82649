"""The processes of the ``reads`` scenario: one service under uvicorn, and the HTTP client.

    python -m bench.run.reads_proc serve SERVICE SETTINGS_JSON EXPECT
    python -m bench.run.reads_proc get < spec.json

``serve`` runs ``services.<SERVICE>.app.create_app`` under uvicorn on a free local port, in
its own process as ``python -m services.<name>`` would (one core each, no shared GIL with the
other services or the client). Once it answers and its consumer has read ``EXPECT`` records
(0: no wait) it prints ``@@bench ready URL``. The periodic tasks that would rewrite the data
under the measurement are stopped (named in ``QUIET``): the generated year is 2024, so at
the first sweep reviews would destroy every period's pseudonym key (turnout then counts
ballots instead of matching them, the cheaper case) and scoring would finalize the year's
results. Then it
reads commands on stdin: ``profile`` starts pyinstrument, ``write PATH`` stops it and writes
the call tree, ``exit`` (or end of input) stops the server.

``get`` runs a spec ``{"base", "paths", "headers", "concurrency", "warmup"}``: ``warmup``
requests first (not timed), then every path once with ``concurrency`` in flight over
keep-alive connections; prints one JSON line: seconds, statuses, and each request's latency
in milliseconds.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

MARK = "@@bench"
"""Prefixes what the server process says to the bench (its logging may share stdout)."""
QUIET = {
    "reviews-destroy expired period keys",
    "reviews-close due periods",
    "scoring-finalize due results",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(service: str, settings_json: str, expect: int) -> None:
    import uvicorn

    from shared.settings import Settings

    settings = Settings(**json.loads(settings_json))
    app = importlib.import_module(f"services.{service}.app").create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"{service} stopped while starting")
        await asyncio.sleep(0.05)
    runtime = getattr(app.state, "runtime", None)
    if runtime is not None:
        for periodic in runtime._periodic:  # the bench's own business: see QUIET
            if periodic.get_name() in QUIET:
                periodic.cancel()
        consumer = runtime.consumer
        deadline = time.monotonic() + 1800
        while expect and (consumer is None or consumer.stats.records < expect):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service}: consumer read {consumer.stats.records} < {expect}")
            await asyncio.sleep(0.2)
    print(f"{MARK} ready http://127.0.0.1:{port}", flush=True)
    profiler: Any = None
    while True:
        line = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if line == "profile":
            from pyinstrument import Profiler  # a dev dependency

            profiler = Profiler(async_mode="disabled")
            profiler.start()
        elif line.startswith("write ") and profiler is not None:
            profiler.stop()
            text = profiler.output_text(show_all=False)
            await asyncio.to_thread(Path(line[6:]).write_text, text, encoding="utf-8")
            profiler = None
        elif line in ("exit", ""):
            break
        print(f"{MARK} ok", flush=True)
    server.should_exit = True
    await task


async def get(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    concurrency = int(spec["concurrency"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = spec.get("headers") or {}
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=spec["base"], limits=limits, timeout=120, headers=headers
    ) as client:
        paths = list(spec["paths"])
        for path in paths[: int(spec.get("warmup", 0))]:
            await client.get(path)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for path in paths:
            queue.put_nowait(path)

        until = spec.get("until")
        stopped = asyncio.Event()

        async def watch() -> None:
            # The parent says stop by creating the file (its stdin was the spec).
            while True:
                if await asyncio.to_thread(os.path.exists, until):
                    stopped.set()
                    return
                await asyncio.sleep(0.25)

        async def worker() -> None:
            while not queue.empty() and not stopped.is_set():
                path = queue.get_nowait()
                if until is not None:  # round and round until told to stop
                    queue.put_nowait(path)
                began = time.perf_counter()
                response = await client.get(path)
                await response.aread()
                latencies.append((time.perf_counter() - began) * 1000)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        watcher = asyncio.create_task(watch()) if until is not None else None
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if watcher is not None:
            await watcher
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "statuses": {str(k): v for k, v in statuses.items()},
        "latencies": latencies,
    }


def main() -> None:
    mode = sys.argv[1]
    if mode == "serve":
        asyncio.run(serve(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    elif mode == "get":
        print(json.dumps(asyncio.run(get(json.loads(sys.stdin.read())))), flush=True)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
