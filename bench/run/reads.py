"""Scenario ``reads`` (issue 15): what the organization department waits for.

The generated company-year is loaded into the source services' migrated stores and relayed
(as every scenario does), scoring's read model is built by the rebuild entry point into a
fresh scoring database (``bench.run.worker rebuild``, its own process), and then the real
services run under uvicorn, each in its own process (``bench.run.reads_proc``): scoring on
that database, reviews and pledges on their loaded stores, and the portal pointed at the
three. Over real HTTP, from a client in its own process, with an organization-department
token:

- scoring ``GET /statistics/{year}`` for the company, a unit and a branch;
- reviews ``GET /turnout?year&scope=company`` (the scope turnout the portal shows);
- the portal's ``GET /org?year`` (three upstream calls, rendered), end to end;

each sequentially and with ``--read-concurrency`` in flight, as p50 / p95 / p99, beside the
floor: ``GET /health/live`` of the same server with the same client and concurrency. Where
``wrk`` is installed it drives the company statistics and the organization page too (it
is not a Python client, so its floor is the server's, not the client's).

Reviews' and pledges' own read tables are written in their command transactions, which the
bulk load skips. What the measured reads use is filled here from the stores: the periods
through reviews' own ``records.project``, the ballot sheets (the only ballot rows turnout
reads) as the rows ``project`` writes for a ``BallotCast`` (and their turnout counts, by
``turnout_counts.recount``), the period keys the generator derived the pseudonyms from, and
pledges' unit and branch directory through its ``project``.
The reviews roster comes from the pledges topic through reviews' consumer, as live.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import insert, select

from bench.generate.model import period_key
from bench.run import pipeline
from bench.run.commands import _token
from bench.run.reads_proc import MARK
from bench.run.report import Line, Report, check
from bench.run.stack import PARTITIONS, Dataset, Stack, load
from shared.auth import Role
from shared.contracts import REGISTRY
from shared.contracts.reviews import BallotCast, ReviewPeriodOpened
from shared.db import Database
from shared.eventstore import StoredEvent
from shared.eventstore.store import envelope_from_row
from shared.eventstore.tables import events
from shared.migrations import upgrade

STATISTICS_P99_MS = 200.0
ORG_PAGE_P99_MS = 1000.0
WRK_MIN_REQUESTS = 100


async def load_served(run: Stack, seed: int, scale: float) -> Dataset:
    """``stack.load`` into stores migrated as the services migrate them, so that the services
    themselves can run on them (the same bulk rows)."""
    return await load(run, seed, scale, migrated=True)


async def _stored(db: Database, types: Sequence[str]) -> list[StoredEvent]:
    async with db.reading() as session:
        rows = await session.execute(
            select(events).where(events.c.type.in_(types)).order_by(events.c.position)
        )
        out = []
        for row in rows.mappings():
            envelope = envelope_from_row(row)
            event = REGISTRY.decode(envelope.type, envelope.version, envelope.data)
            out.append(StoredEvent(position=row["position"], envelope=envelope, event=event))
        return out


async def fill_own_tables(data: Dataset, seed: int) -> dict[str, int]:
    """The source services' command-side read tables that the measured reads use (see the
    module's docstring); returns the rows written per kind."""
    from services.pledges.projections.apply import project as pledges_project
    from services.reviews import persistence as rv
    from services.reviews.projections.records import project as reviews_project
    from services.reviews.projections.turnout_counts import recount

    written: dict[str, int] = {}
    db = Database(data.urls["pledges"])
    try:
        directory = await _stored(db, ["UnitRegistered", "BranchRegistered"])
        async with db.transaction() as session:
            await pledges_project(session, directory)
        written["pledges directory"] = len(directory)
    finally:
        await db.dispose()
    db = Database(data.urls["reviews"])
    try:
        periods = await _stored(db, ["ReviewPeriodOpened", "ReviewPeriodClosed"])
        ballots = await _stored(db, ["BallotCast", "BallotAmended"])
        if any(item.envelope.type != "BallotCast" for item in ballots):
            raise RuntimeError("the generator amended a ballot: project it with records.project")
        async with db.transaction() as session:
            await reviews_project(session, periods)
            opened = [i.event for i in periods if isinstance(i.event, ReviewPeriodOpened)]
            keys = [
                {"period_id": p.period_id, "key": period_key(seed, p.period_id)} for p in opened
            ]
            if keys:
                await session.execute(insert(rv.period_keys), keys)
            sheets = [
                {
                    "period_id": item.event.period_id,
                    "role": item.event.role.value,
                    "pseudonym": item.event.reviewer_pseudonym,
                    "branch_id": item.event.branch_id,
                    "amendments": 0,
                    "updated_at": item.envelope.occurred_at,
                }
                for item in ballots
                if isinstance(item.event, BallotCast)
            ]
            for start in range(0, len(sheets), 5000):
                await session.execute(insert(rv.ballot_sheets), sheets[start : start + 5000])
            # What each BallotCast adds to the turnout counts (the roster, which arrives
            # later through the consumer, adds the rest as live).
            await recount(session)
        written["review periods"] = len(opened)
        written["ballot sheets"] = len(sheets)
    finally:
        await db.dispose()
    return written


class Server:
    """A service in its own process (``bench.run.reads_proc serve``)."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, url: str) -> None:
        self.name = name
        self.proc = proc
        self.url = url

    async def command(self, line: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()
        await _answer(self.proc, "ok")


@asynccontextmanager
async def server(
    run: Stack, name: str, url: str | None, expect: int = 0, **extra: Any
) -> AsyncIterator[Server]:
    fields = {
        "service": name,
        "database_url": url,
        "broker_url": run.bootstrap,
        "group_suffix": f".bench{uuid.uuid4().hex[:6]}",
        "data_dir": str(run.tmp / name),
        "topic_partitions": PARTITIONS,
        "seal_interval_seconds": 0,
        "log_level": "WARNING",
        **extra,
    }
    if name == "portal":
        fields.pop("database_url")
        fields.pop("broker_url")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.run.reads_proc",
        "serve",
        name,
        json.dumps(fields),
        str(expect),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        yield Server(name, proc, await _answer(proc, "ready"))
    finally:
        if proc.returncode is None:
            proc.stdin.write(b"exit\n")
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _answer(proc: asyncio.subprocess.Process, word: str) -> str:
    """What the server process says after ``MARK word`` (the service's own logging may write
    to the same stdout)."""
    assert proc.stdout is not None
    while line := (await proc.stdout.readline()).decode():
        if line.startswith(f"{MARK} {word}"):
            return line.strip().removeprefix(f"{MARK} {word}").strip()
    raise RuntimeError(f"the server process ended without {word!r}: {await proc.wait()}")


def quantiles(samples: Sequence[float]) -> tuple[float, float, float]:
    if len(samples) < 2:
        value = samples[0] if samples else 0.0
        return value, value, value
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return q[49], q[94], q[98]


async def client(
    base: str,
    paths: list[str],
    headers: dict[str, str],
    concurrency: int,
    warmup: int = 5,
    until: str | None = None,
) -> dict[str, Any]:
    """Read ``paths`` in a process of its own; with ``until``, over and over until that file
    exists."""
    spec = {
        "base": base,
        "paths": paths,
        "headers": headers,
        "concurrency": concurrency,
        "warmup": warmup,
        "until": until,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.run.reads_proc",
        "get",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(json.dumps(spec).encode())
    if proc.returncode != 0:
        raise RuntimeError("the read client failed")
    result: dict[str, Any] = json.loads(out)
    return result


def _ms(q: tuple[float, float, float]) -> str:
    return " / ".join(f"{v:,.1f}" if v < 100 else f"{v:,.0f}" for v in q) + " ms"


async def wrk(url: str, headers: dict[str, str], concurrency: int, seconds: int) -> dict[str, Any]:
    """``wrk --latency`` against one URL: requests per second and the p50 / p99 it reports."""
    args = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "60s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    proc = await asyncio.create_subprocess_exec(
        *args, url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    text = out.decode()
    found: dict[str, Any] = {"text": text}
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            found["rate"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            found[parts[0]] = _wrk_ms(parts[1])
        elif "Non-2xx" in line:
            found["non2xx"] = int(parts[-1])
        elif "requests in" in line:
            found["requests"] = int(parts[0])
        elif line.strip().startswith("Socket errors"):
            found["errors"] = line.strip()
    return found


def _wrk_ms(value: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(unit):
            return float(value[: -len(unit)]) * factor
    return float(value)


class Measure:
    """Runs the figures of one server against its floor and adds them to the report."""

    def __init__(self, report: Report, db: str, args: argparse.Namespace) -> None:
        self.report = report
        self.db = db
        self.args = args

    async def series(
        self,
        srv: Server,
        label: str,
        path: str,
        headers: dict[str, str],
        count: int,
        *,
        target_ms: float | None = None,
        profile: str | None = None,
    ) -> None:
        """``label`` at 1 and at ``--read-concurrency`` in flight, each beside the floor."""
        for concurrency in sorted({1, self.args.read_concurrency}):
            floor = await client(srv.url, ["/health/live"] * count, headers, concurrency)
            if profile and concurrency == 1:
                await srv.command("profile")
            result = await client(srv.url, [path] * count, headers, concurrency)
            if profile and concurrency == 1:
                await srv.command(f"write {profile}")
            bad = {k: v for k, v in result["statuses"].items() if k != "200"}
            if bad:
                self.report.note(f"{self.db}: {label} answered {result['statuses']}")
            q = quantiles(result["latencies"])
            fq = quantiles(floor["latencies"])
            where = f"{concurrency} in flight ({count})"
            self.report.add(
                Line("reads", self.db, f"{srv.name} floor GET /health/live, {where}", _ms(fq))
            )
            target = f"p99 < {target_ms:,.0f} ms" if target_ms else ""
            self.report.add(
                Line(
                    "reads",
                    self.db,
                    f"{label}, {where}: p50/p95/p99",
                    _ms(q),
                    target,
                    check(q[2], at_most=target_ms) if target_ms else "",
                )
            )
            self.report.add(
                Line(
                    "reads",
                    self.db,
                    f"{label}, {where}: throughput (floor)",
                    f"{count / result['seconds']:,.0f}/s ({count / floor['seconds']:,.0f}/s)",
                )
            )

    async def with_wrk(
        self, srv: Server, label: str, path: str, headers: dict[str, str], target_ms: float
    ) -> None:
        if shutil.which("wrk") is None:
            return
        c, seconds = self.args.read_concurrency, self.args.read_wrk_seconds
        floor = await wrk(srv.url + "/health/live", headers, c, seconds)
        found = await wrk(srv.url + path, headers, c, seconds)
        if found.get("non2xx") or found.get("errors") or "99%" not in found or "99%" not in floor:
            self.report.note(f"{self.db}: wrk {label}: {found['text'][-400:]}")
            return
        if found.get("requests", 0) < WRK_MIN_REQUESTS:
            self.report.note(
                f"{self.db}: wrk {label}: {found.get('requests', 0)} requests in {seconds} s, "
                "too few for a p99 (see the client's figures)"
            )
            return
        self.report.add(
            Line(
                "reads",
                self.db,
                f"wrk -c{c} {srv.name} floor GET /health/live: rate, p50/p99",
                f"{floor['rate']:,.0f}/s, {floor['50%']:.1f} / {floor['99%']:.1f} ms",
            )
        )
        self.report.add(
            Line(
                "reads",
                self.db,
                f"wrk -c{c} {label}: rate, p50/p99",
                f"{found['rate']:,.0f}/s, {found['50%']:.1f} / {found['99%']:.1f} ms",
                f"p99 < {target_ms:,.0f} ms",
                check(found["99%"], at_most=target_ms),
            )
        )


async def reads(
    run: Stack, data: Dataset, topics: list[str], report: Report, args: argparse.Namespace
) -> None:
    db = run.db_kind
    year = data.enterprise.year
    branch = data.enterprise.branches[0]
    admin = _token("bench-org", "", "", Role.ORG_ADMIN, Role.EMPLOYEE)
    bearer = {"Authorization": f"Bearer {admin}"}

    # Scoring's read model, as an operator builds it: the rebuild, in place, on a fresh
    # database migrated as the service migrates it.
    scoring_url = await run.dbs.new("scoring")
    await asyncio.to_thread(upgrade, "scoring", scoring_url)
    ends = await pipeline.ends_of(run, topics)
    (rebuilt,) = await pipeline.workers(run, "rebuild", [ends], scoring_url)
    report.note(
        f"{db}: scoring read model rebuilt from {int(rebuilt['records']):,} records in "
        f"{rebuilt['seconds']:.1f} s"
    )
    started = time.perf_counter()
    written = await fill_own_tables(data, args.seed)
    print(
        f"[{db}] own tables {written} in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    measure = Measure(report, db, args)
    reads_n, pages_n = args.reads, args.page_loads
    async with AsyncExitStack() as servers:
        scoring = await servers.enter_async_context(server(run, "scoring", scoring_url))
        reviews = await servers.enter_async_context(
            server(run, "reviews", data.urls["reviews"], expect=data.counts["pledges"])
        )
        pledges = await servers.enter_async_context(server(run, "pledges", data.urls["pledges"]))
        portal = await servers.enter_async_context(
            server(
                run,
                "portal",
                None,
                pledges_url=pledges.url,
                reviews_url=reviews.url,
                scoring_url=scoring.url,
            )
        )
        profile = args.read_profile
        await _sanity(
            scoring,
            reviews,
            portal.url,
            year,
            bearer,
            admin,
            report,
            db,
            profile=f"{profile}.{db}.turnout-cold.txt" if profile else None,
        )
        company = f"/statistics/{year}?scope=company"
        await measure.series(
            scoring,
            "statistics company",
            company,
            bearer,
            reads_n,
            target_ms=STATISTICS_P99_MS,
            profile=f"{profile}.{db}.statistics.txt" if profile else None,
        )
        await measure.series(
            scoring,
            "statistics unit",
            f"/statistics/{year}?scope=unit&id={branch.unit_id}",
            bearer,
            reads_n,
        )
        await measure.series(
            scoring,
            "statistics branch",
            f"/statistics/{year}?scope=branch&id={branch.branch_id}",
            bearer,
            reads_n,
        )
        await measure.with_wrk(scoring, "statistics company", company, bearer, STATISTICS_P99_MS)
        await measure.series(
            reviews,
            "turnout company",
            f"/turnout?year={year}&scope=company",
            bearer,
            pages_n,
            profile=f"{profile}.{db}.turnout.txt" if profile else None,
        )
        cookie = {"Cookie": f"suxing_token={admin}"}
        await measure.series(
            portal,
            "org page, company",
            f"/org?year={year}",
            cookie,
            pages_n,
            target_ms=ORG_PAGE_P99_MS,
            profile=f"{profile}.{db}.portal.txt" if profile else None,
        )
        await measure.with_wrk(portal, "org page, company", f"/org?year={year}", cookie, 1000)
        await rebuild_while_reading(run, scoring, scoring_url, data, bearer, report)


async def rebuild_while_reading(
    run: Stack,
    scoring: Server,
    scoring_url: str,
    data: Dataset,
    bearer: dict[str, str],
    report: Report,
) -> None:
    """What an operator does with ``suxing rebuild scoring``: the company-year rebuilt into
    the other slot, verified against the live one and switched, while a reader process keeps
    reading cards and statistics from the running service. Every read must answer 200, and
    the same before and after the switch."""
    import httpx

    from shared.db import Database as Db
    from suxing_cli.rebuild import run_rebuild

    db, year = run.db_kind, data.enterprise.year
    branches = data.enterprise.branches
    paths = [f"/statistics/{year}?scope=company"] + [
        f"/statistics/{year}?scope=branch&id={b.branch_id}" for b in branches[:50]
    ]
    async with httpx.AsyncClient(base_url=scoring.url, headers=bearer, timeout=120) as http:
        members = (await http.get(f"/branches/{branches[0].branch_id}/results/{year}")).json()
        paths += [f"/members/{m['member_id']}/cards/{year}" for m in members["members"][:20]]
        before = {path: (await http.get(path)).json() for path in paths}
    stop = run.tmp / f"stop-reading-{uuid.uuid4().hex[:6]}"
    reader = asyncio.create_task(client(scoring.url, paths, bearer, 2, warmup=0, until=str(stop)))
    database = Db(scoring_url)
    try:
        began = time.perf_counter()
        result = await run_rebuild(
            "scoring",
            db=database,
            bootstrap=run.bootstrap,
            in_place=False,
            show_progress=False,
        )
        seconds = time.perf_counter() - began
        # Until the service has followed the switch, then a little longer.
        followed = None
        async with httpx.AsyncClient(base_url=scoring.url, timeout=30) as http:
            for _ in range(120):
                ready = (await http.get("/health/ready")).json()
                followed = (ready.get("checks", {}).get("read_model") or {}).get("slot")
                if followed == result.slot:
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(3)
    finally:
        stop.touch()
        read = await reader
        await database.dispose()
    async with httpx.AsyncClient(base_url=scoring.url, headers=bearer, timeout=120) as http:
        after = {path: (await http.get(path)).json() for path in paths}
    statuses = read["statuses"]
    failed = sum(n for code, n in statuses.items() if code != "200")
    q = quantiles(read["latencies"])
    report.add(
        Line(
            "rebuild",
            db,
            f"rebuild into the other slot while reading ({result.records:,} records)",
            f"{seconds:.1f} s; verified {result.verified}; switched {result.previous} -> "
            f"{result.slot}; the service reads {followed}",
            "verified and switched",
            "met" if result.verified and result.switched and followed == result.slot else "missed",
        )
    )
    report.add(
        Line(
            "rebuild",
            db,
            "reads meanwhile (2 in flight): count, not 200, p50/p95/p99",
            f"{sum(statuses.values()):,}, {failed}, {_ms(q)}",
            "0 failed",
            "met" if failed == 0 else "missed",
        )
    )
    same = sum(before[path] == after[path] for path in paths)
    report.add(
        Line(
            "rebuild",
            db,
            "answers equal before and after the switch",
            f"{same} of {len(paths)}",
            "all",
            "met" if same == len(paths) else "missed",
        )
    )


async def _sanity(
    scoring: Server,
    reviews: Server,
    portal: str,
    year: int,
    bearer: dict[str, str],
    admin: str,
    report: Report,
    db: str,
    *,
    profile: str | None,
) -> None:
    """The reads answer with the loaded company, not with empty tables; the page's first
    load is timed (and reviews profiled meanwhile, with ``profile``)."""
    import httpx

    async with httpx.AsyncClient(
        timeout=120, headers=bearer, cookies={"suxing_token": admin}
    ) as http:
        if profile:
            await reviews.command("profile")
        began = time.perf_counter()
        page = await http.get(f"{portal}/org", params={"year": year})
        cold = (time.perf_counter() - began) * 1000
        if profile:
            await reviews.command(f"write {profile}")
        stats = (await http.get(f"{scoring.url}/statistics/{year}")).json()
        turnout = (await http.get(f"{reviews.url}/turnout", params={"year": year})).json()
    voted = sum(p["voted"] for p in turnout.get("periods", []))
    matched = all(p["matched"] for p in turnout.get("periods", []))
    report.note(
        f"{db}: company statistics: {stats.get('branches')} branches, {stats.get('members')} "
        f"members; turnout: {len(turnout.get('periods', []))} periods, {voted:,} voted "
        f"({'matched by pseudonym' if matched else 'counted'})"
    )
    if not stats.get("members") or not voted or page.status_code != 200:
        raise RuntimeError(f"{db}: the reads see no data: {stats} {turnout} {page.status_code}")
    # The first load computes everything (nothing kept yet by any service): what a reader
    # gets after the data changed.
    report.add(
        Line(
            "reads",
            db,
            "org page, company, first load (cold)",
            f"{cold:,.0f} ms",
            f"< {ORG_PAGE_P99_MS:,.0f} ms",
            check(cold, at_most=ORG_PAGE_P99_MS),
        )
    )
