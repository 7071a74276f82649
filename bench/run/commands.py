"""Scenarios 1 and 4 over HTTP: ballots against the no-op endpoint of the same server, and
period closed -> cards updated latency (the append half of scenario 1 is in appends.py)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import socket
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from bench.run import pledge_latency, wrk
from bench.run.report import Line, Report, check
from bench.run.stack import PARTITIONS, Dataset, Stack
from shared.auth import Principal, Role, TokenIssuer
from shared.http import clock
from shared.settings import DEFAULT_SECRET, Settings

NOW = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
"""Reviews' clock in the bench: Q1 of the generated year is under way."""
ISSUER = TokenIssuer(DEFAULT_SECRET)
BEIJING = timezone(timedelta(hours=8))
WARM_UP_SECONDS = 3.0


@contextmanager
def profiled(variable: str) -> Iterator[None]:
    """Profile this process (the server side) with pyinstrument when ``variable`` names a
    file to write the call tree to; a name ending in ``.pstats`` gets cProfile's statistics
    instead (self time per function: ``python -m pstats FILE``)."""
    target = os.environ.get(variable)
    if not target:
        yield
        return
    if target.endswith(".pstats"):
        import cProfile

        with cProfile.Profile() as stats:
            yield
        stats.dump_stats(target)
        return
    from pyinstrument import Profiler  # a dev dependency

    with Profiler(async_mode="disabled") as profiler:
        yield
    Path(target).write_text(profiler.output_text(), encoding="utf-8")


def _token(person: str, branch: str, unit: str, *roles: Role) -> str:
    return ISSUER.issue(
        Principal(
            person_id=person, name=person, roles=frozenset(roles), unit_id=unit, branch_id=branch
        )
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(run: Stack, service: str, url: str) -> Settings:
    return Settings(
        service=service,
        database_url=url,
        broker_url=run.bootstrap,
        group_suffix=f".bench{uuid.uuid4().hex[:6]}",
        data_dir=run.tmp / service,
        topic_partitions=PARTITIONS,
        seal_interval_seconds=0,
        log_level="WARNING",
    )


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    """The app under uvicorn on a free local port (lifespan included); yields its URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _until(done: Callable[[], bool], what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.1)


async def _until_async(
    done: Callable[[], Awaitable[bool]], what: str, timeout: float = 600
) -> None:
    deadline = time.monotonic() + timeout
    while not await done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.5)


SCORING_TOPICS = ("suxing.pledges", "suxing.reviews", "suxing.scoring")


async def _rebuilt_scoring(run: Stack) -> str:
    """A fresh scoring database, migrated, with the topics folded into it (in a worker)."""
    from bench.run import pipeline
    from shared.migrations import upgrade

    url = await run.dbs.new("scoring")
    await asyncio.to_thread(upgrade, "scoring", url)
    ends = await pipeline.ends_of(run, list(SCORING_TOPICS))
    await pipeline.workers(run, "rebuild", [ends], url)
    return url


async def _caught_up(run: Stack, scoring: FastAPI) -> bool:
    """Scoring's stored positions (in its active read model slot) have reached the topics'
    true ends."""
    from bench.run import pipeline
    from shared.readmodel.rebuild import stored_positions

    ends = await pipeline.ends_of(run, list(SCORING_TOPICS))
    positions = await stored_positions(scoring.state.runtime.read_db(), "scoring")
    return all(
        positions.get((key.rsplit(":", 1)[0], int(key.rsplit(":", 1)[1])), 0) >= end
        for key, end in ends.items()
        if end > 0
    )


def _records(app: FastAPI) -> int:
    consumer = app.state.runtime.consumer
    return int(consumer.stats.records) if consumer is not None else 0


def ballots(data: Dataset, count: int, tag: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(period, token, comment, body) for ``count`` peer ballots by full members."""
    out = []
    voters = [
        (b, m) for b in data.enterprise.branches for m in b.full_members if len(b.full_members) > 3
    ]
    for i in range(count):
        branch, voter = voters[i % len(voters)]
        others = [m for m in branch.full_members if m != voter][:3]
        comment = f"{tag}-{i}"
        lines = [
            {"member_id": m, "score": 60 + (i + k) % 40, "comment": comment}
            for k, m in enumerate(others)
        ]
        token = _token(voter, branch.branch_id, branch.unit_id, Role.MEMBER, Role.EMPLOYEE)
        out.append((f"bench-peer-{branch.branch_id}", token, comment, {"scores": lines}))
    return out


async def _load(base: str, concurrency: int, requests: list[list[Any]]) -> dict[str, Any]:
    spec = json.dumps({"base": base, "concurrency": concurrency, "requests": requests}).encode()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.run.load",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(spec)
    if proc.returncode != 0:
        raise RuntimeError("the load client failed")
    result: dict[str, Any] = json.loads(out)
    return result


QUARTERS = ("Q1", "Q2", "Q3", "Q4")


def _command_voters(data: Dataset) -> list[tuple[Any, str]]:
    return [
        (b, m) for b in data.enterprise.branches for m in b.full_members if len(b.full_members) > 3
    ]


def command_periods(
    data: Dataset, count: int, *, today: date | None = None
) -> list[dict[str, Any]]:
    """The peer periods the command run's ``count`` ballots need: each branch's k-th in the
    k-th quarter that accepts ballots ``today`` (Beijing). The command run uses the real
    clock, and a period only accepts ballots within its window: last year's quarters, with
    their window extended to the end of this year (as an organizer may), then this year's
    quarters already begun."""
    today = today or datetime.now(BEIJING).date()
    per_branch = max(1, math.ceil(count / max(1, len(_command_voters(data)))))
    slots = [(today.year - 1, q) for q in QUARTERS]
    slots += [(today.year, q) for n, q in enumerate(QUARTERS) if today.month > 3 * n]
    if per_branch > len(slots):
        raise RuntimeError(
            f"the command run needs {per_branch} periods per branch; only {len(slots)} "
            "quarters accept ballots today: ask for fewer --ballots or a larger --scale"
        )
    return [
        {
            "period_id": f"bench-cmd-{k}-{branch.branch_id}",
            "kind": "peer",
            "period": slots[k][1],
            "year": slots[k][0],
            "scope_level": "branch",
            "scope_id": branch.branch_id,
            "opens_on": date(slots[k][0], 1 + 3 * QUARTERS.index(slots[k][1]), 1).isoformat(),
            "closes_on": date(today.year, 12, 31).isoformat(),
        }
        for k in range(per_branch)
        for branch in data.enterprise.branches
    ]


def command_ballots(data: Dataset, count: int) -> list[list[Any]]:
    """``count`` peer ballots, every one a different sheet (reviewer x period), so each is a
    cast: ballot i is voter i mod V's in their branch's period i // V."""
    voters = _command_voters(data)
    out: list[list[Any]] = []
    for i in range(count):
        branch, voter = voters[i % len(voters)]
        others = [m for m in branch.full_members if m != voter][:3]
        lines = [
            {"member_id": m, "score": 60 + (i + k) % 40, "comment": f"cmd-{i}"}
            for k, m in enumerate(others)
        ]
        token = _token(voter, branch.branch_id, branch.unit_id, Role.MEMBER, Role.EMPLOYEE)
        period = f"bench-cmd-{i // len(voters)}-{branch.branch_id}"
        out.append(["PUT", f"/periods/{period}/ballots/peer", token, {"scores": lines}])
    return out


async def command(
    base: str, data: Dataset, report: Report, args: argparse.Namespace, *, db: str, workdir: Path
) -> int:
    """Ballots against the HTTP floor of the same server (GET /health/live), both driven by
    wrk when it is installed (else by the Python client, whose own limit is ~500 req/s).
    Returns how many ballots were accepted."""
    admin = _token("bench-admin", "", "", Role.ORG_ADMIN)
    warm = min(200, max(16, args.ballots // 10))
    cast = command_ballots(data, warm + args.ballots)
    opens = [["POST", "/periods", admin, body] for body in command_periods(data, len(cast))]
    opened = await _load(base, 4, opens)
    if set(opened["statuses"]) - {"200", "201"}:
        raise RuntimeError(f"opening the command periods answered {opened['statuses']}")
    warm_up, measured = cast[:warm], cast[warm:]
    floor_request = [["GET", "/health/live", None, None]]
    if wrk.available() and not args.python_client:
        return await _command_wrk(base, db, report, args, workdir, warm_up, measured, floor_request)
    return await _command_python(base, db, report, args, warm_up, measured, floor_request)


async def _command_wrk(
    base: str,
    db: str,
    report: Report,
    args: argparse.Namespace,
    workdir: Path,
    warm_up: list[list[Any]],
    measured: list[list[Any]],
    floor_request: list[list[Any]],
) -> int:
    conns, seconds = args.concurrency, args.wrk_seconds
    client = f"wrk -t1 -c{conns}"
    await wrk.run(base, floor_request, seconds=2, connections=conns, workdir=workdir, cycle=True)
    await wrk.run(base, warm_up, seconds=seconds, connections=conns, workdir=workdir)
    floor = await wrk.run(
        base, floor_request, seconds=seconds, connections=conns, workdir=workdir, cycle=True
    )
    with profiled("BENCH_PROFILE_SERVER"):
        result = await wrk.run(base, measured, seconds=seconds, connections=conns, workdir=workdir)
    casts = result.outcomes.get("cast", 0)
    floor_rate = floor.per_second(floor.accepted)
    ballot_rate = result.per_second(result.accepted)
    report.add(
        Line("command", db, f"HTTP floor: GET /health/live, {client}", f"{floor_rate:,.0f}/s")
    )
    report.add(
        Line(
            "command",
            db,
            f"ballots over HTTP, {client} ({result.accepted:,} accepted, {casts:,} casts)",
            f"{ballot_rate:,.0f}/s",
        )
    )
    report.add(
        Line(
            "command",
            db,
            f"ballots refused ({result.refused:,} of {result.answered:,})",
            f"{result.per_second(result.refused):,.0f}/s",
        )
    )
    report.add(
        Line(
            "command",
            db,
            "ballot latency under load p50; p99",
            f"{result.p50_ms:.0f} ms; {result.p99_ms:.0f} ms",
        )
    )
    ratio = ballot_rate / floor_rate if floor_rate else 0.0
    report.add(
        Line(
            "command",
            db,
            "ballots / HTTP floor",
            f"{ratio:.1%}",
            ">= 10%",
            check(ratio, at_least=0.1),
        )
    )
    if result.refused or result.errors or floor.refused:
        report.note(
            f"{db}: ballots answered {dict(sorted(result.statuses.items()))}, "
            f"wrk errors {result.errors}; floor {dict(sorted(floor.statuses.items()))}"
        )
    if result.answered < result.listed:
        report.note(
            f"{db}: {result.answered:,} of {result.listed:,} listed ballots answered within "
            f"{seconds:g} s"
        )
    return result.accepted


async def _command_python(
    base: str,
    db: str,
    report: Report,
    args: argparse.Namespace,
    warm_up: list[list[Any]],
    measured: list[list[Any]],
    floor_request: list[list[Any]],
) -> int:
    report.note(
        f"{db}: wrk not used (install Debian's wrk); the Python load client drives the command "
        "run, and its own limit (~500 req/s here) caps the floor"
    )
    await _load(base, args.concurrency, warm_up)
    floor = await _load(base, args.concurrency, floor_request * len(measured))
    with profiled("BENCH_PROFILE_SERVER"):
        result = await _load(base, args.concurrency, measured)
    ok = int(sum(v for k, v in result["statuses"].items() if k in ("200", "201")))
    if ok != len(measured):
        report.note(f"{db}: ballots answered {result['statuses']}")
    floor_rate = len(measured) / floor["seconds"]
    ballot_rate = ok / result["seconds"]
    client = f"Python client, {args.concurrency} in flight"
    report.add(
        Line("command", db, f"HTTP floor: GET /health/live, {client}", f"{floor_rate:,.0f}/s")
    )
    report.add(
        Line(
            "command", db, f"ballots over HTTP, {client} ({ok:,} accepted)", f"{ballot_rate:,.0f}/s"
        )
    )
    ratio = ballot_rate / floor_rate
    report.add(
        Line(
            "command",
            db,
            "ballots / HTTP floor (Python client)",
            f"{ratio:.1%}",
            ">= 10%",
            check(ratio, at_least=0.1),
        )
    )
    return ok


async def services(
    run: Stack, data: Dataset, report: Report, args: argparse.Namespace, wanted: set[str]
) -> None:
    from services.pledges.app import create_app as pledges_app
    from services.reviews.app import create_app as reviews_app
    from services.scoring.app import create_app as scoring_app

    db = run.db_kind
    reviews = reviews_app(_settings(run, "reviews", await run.dbs.new("reviews")))
    reviews.dependency_overrides[clock] = lambda: NOW
    async with serve(reviews) as base:
        await _until(lambda: _records(reviews) >= data.counts["pledges"], "the reviews roster")
        admin = _token("bench-admin", "", "", Role.ORG_ADMIN)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for branch in data.enterprise.branches:
                body = {
                    "period_id": f"bench-peer-{branch.branch_id}",
                    "kind": "peer",
                    "period": "Q1",
                    "year": data.enterprise.year,
                    "scope_level": "branch",
                    "scope_id": branch.branch_id,
                }
                response = await http.post(
                    "/periods", json=body, headers={"Authorization": f"Bearer {admin}"}
                )
                if response.status_code not in (200, 201):
                    raise RuntimeError(
                        f"opening a period failed: {response.status_code} {response.text}"
                    )
        if "command" in wanted:
            # FastAPI rebuilds every dependency of every request while any override is set
            # (15% of a ballot's CPU here): the command run measures the server as deployed.
            # Its periods' windows are chosen around the real date (``command_periods``).
            reviews.dependency_overrides.clear()
            # The server shares this process with the generated company and the bench's own
            # objects; a deployed service has none of them. Freeze them, so the server's full
            # garbage collections do not walk them (a third of the ballot rate here).
            gc.collect()
            gc.freeze()
            await command(base, data, report, args, db=db, workdir=run.tmp / "wrk")
            reviews.dependency_overrides[clock] = lambda: NOW
        if "latency" in wanted:
            # The pledges service on its loaded store (migrated, relayed: its outbox is
            # empty), publishing what its commands record through its own relay.
            await pledge_latency.fill_directory(data)
            pledges = pledges_app(_settings(run, "pledges", data.urls["pledges"]))
            pledges.dependency_overrides[clock] = lambda: NOW
            # Scoring's read model as an operator brings a service up on a long log: rebuilt
            # (the fold) up to the topics' ends, then the live consumer follows from there.
            # Catching up live instead replays the company-year at the live path's rate
            # (~1,600 records/s here: more than the bench's 600 s at scale 1).
            scoring_url = await _rebuilt_scoring(run)
            scoring = scoring_app(_settings(run, "scoring", scoring_url))
            async with serve(pledges) as pledges_base, scoring.router.lifespan_context(scoring):
                await _until_async(lambda: _caught_up(run, scoring), "scoring to catch up")
                await latency(base, scoring, data, report, args)
                await pledge_latency.pledge_latency(
                    pledges_base,
                    scoring,
                    data,
                    report,
                    args,
                    load=_load,
                    token=_token,
                    now_day=NOW.date().isoformat(),
                )


async def latency(
    base: str, scoring: FastAPI, data: Dataset, report: Report, args: argparse.Namespace
) -> None:
    """Period closed -> every card of the branch updated. Ballots are sealed: nothing of them
    reaches scoring until the period closes, when the reviews service records one tally per
    member. Every branch's bench period gets its ballots first; then the periods are closed
    at ``--latency-rate`` per second, and each is timed from the close's answer to the batch
    that applied the last of its tallies (cards recomputed in the same transaction)."""
    consumer = scoring.state.runtime.consumer
    original = consumer.process
    closed: dict[str, float] = {}
    received: dict[str, float] = {}
    updated: dict[str, float] = {}

    async def timed(records: Any) -> Any:
        began = time.perf_counter()
        result = await original(records)
        now = time.perf_counter()
        for record in records:
            if dict(record.headers).get("type") == b"MemberReviewed":
                period = json.loads(record.value)["data"]["period_id"]
                received.setdefault(period, began)
                updated[period] = now
        return result

    voters = sum(len(b.full_members) for b in data.enterprise.branches)
    cast: list[list[Any]] = [
        ["PUT", f"/periods/{p}/ballots/peer", tok, body]
        for p, tok, _, body in ballots(data, voters, "lat")
    ]
    await _load(base, args.concurrency, cast)
    periods = sorted({request[1].split("/")[2] for request in cast})
    count = min(len(periods), max(1, int(args.latency_seconds * args.latency_rate)))
    admin = _token("bench-admin", "", "", Role.ORG_ADMIN)
    consumer.process = timed
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def close(period: str) -> None:
            response = await http.post(
                f"/periods/{period}/close", headers={"Authorization": f"Bearer {admin}"}
            )
            if response.status_code == 200:
                closed[period] = time.perf_counter()

        started = time.perf_counter()
        tasks = []
        for i, period in enumerate(periods[:count]):
            await asyncio.sleep(max(0.0, started + i / args.latency_rate - time.perf_counter()))
            tasks.append(asyncio.create_task(close(period)))
        await asyncio.gather(*tasks)
    await _until(lambda: set(closed) <= set(updated), "every closed period on the cards", 120)
    # The last tallies of a period may come in a later batch: let the consumer go quiet.
    seen = -1
    while seen != _records(scoring):
        seen = _records(scoring)
        await asyncio.sleep(1.0)
    consumer.process = original
    samples = sorted((updated[p] - closed[p]) * 1000 for p in closed)
    delivery = statistics.median((received[p] - closed[p]) * 1000 for p in closed)
    q = (
        statistics.quantiles(samples, n=100, method="inclusive")
        if len(samples) > 1
        else samples * 99
    )
    db = "sqlite" if "sqlite" in str(scoring.state.runtime.db.url) else "postgresql"
    report.add(
        Line(
            "latency",
            db,
            f"period closed -> branch's cards, {len(samples)} at {args.latency_rate:g}/s, p50",
            f"{q[49]:.0f} ms",
        )
    )
    report.add(Line("latency", db, "closed -> cards p95", f"{q[94]:.0f} ms"))
    report.add(
        Line("latency", db, "p50 part: closed -> first tally batch received", f"{delivery:.0f} ms")
    )
    report.add(
        Line(
            "latency",
            db,
            "period closed -> cards p99",
            f"{q[98]:.0f} ms",
            "< 1000 ms",
            check(q[98], at_most=1000),
        )
    )
