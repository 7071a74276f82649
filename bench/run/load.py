"""An HTTP load client in its own process (so it does not share the server's core).

    python -m bench.run.load < spec.json

The spec: ``{"base": URL, "concurrency": N, "requests": [[method, path, token, body], ...]}``.
Runs every request once with N in flight over keep-alive connections; prints one JSON line:
seconds, the count per status code.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any

import httpx


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    queue: asyncio.Queue[list[Any]] = asyncio.Queue()
    for request in spec["requests"]:
        queue.put_nowait(request)
    statuses: Counter[int] = Counter()
    concurrency = int(spec["concurrency"])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=60) as client:

        async def worker() -> None:
            while not queue.empty():
                method, path, token, body = queue.get_nowait()
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                response = await client.request(method, path, json=body, headers=headers)
                statuses[response.status_code] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "statuses": {str(k): v for k, v in statuses.items()}}


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(run(spec))), flush=True)


if __name__ == "__main__":
    main()
