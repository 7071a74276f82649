"""Scenario ``latency``, the pledges side (issue 15): a pledge event -> the member's card.

Which pledges events change a card: every pledge lifecycle event (scoring's ``FactBatch``
marks the pledge's member and branch as touched, and ``apply`` recomputes their cards in the
same transaction). Ledger entries (``LedgerEntryRecorded`` / ``Corrected``) do not: they
feed the public board and the ledger views, not the card.

The generated year ends with every pledge accepted, so the run makes its own: for
``ceil(N / 2)`` members (active full members with a responsibility area for the year, spread
over the branches) it declares, approves and publishes a pledge over HTTP (untimed). Then
``N`` commands go at ``--latency-rate`` per second: each of those pledges gets an acceptance
request by its member (``PledgeAcceptanceRequested``), then a return by its branch committee
(``PledgeReturned``). Each is timed from its HTTP answer to the end of the scoring batch that
applied its event (the card recomputed and committed), with the split: answer -> batch
received; batch applied. The pledges service runs in-process under uvicorn with its own
relay, as deployed; scoring's live consumer reads both topics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from bench.run.report import Line, Report, check
from bench.run.stack import Dataset
from shared.auth import Role
from shared.contracts import pledges as pl
from shared.db import Database

TARGET_MS = 300.0
TIMED = ("PledgeAcceptanceRequested", "PledgeReturned")
Load = Callable[[str, int, list[list[Any]]], Awaitable[dict[str, Any]]]
Token = Callable[..., str]


async def fill_directory(data: Dataset) -> int:
    """The pledges store's unit and branch directory (written by its command transactions,
    which the bulk load skips; a command reads a branch's unit from it)."""
    from bench.run.reads import _stored
    from services.pledges.projections.apply import project

    db = Database(data.urls["pledges"])
    try:
        directory = await _stored(db, ["UnitRegistered", "BranchRegistered"])
        async with db.transaction() as session:
            await project(session, directory)
        return len(directory)
    finally:
        await db.dispose()


def members(data: Dataset, count: int) -> list[tuple[str, Any, pl.ResponsibilityArea]]:
    """``count`` (member, branch, area) of active full members with an area for the year,
    round robin over the branches."""
    year = data.enterprise.year
    area: dict[str, pl.ResponsibilityArea] = {}
    moved: set[str] = set()
    for item in data.enterprise.events:
        event = item.event
        if isinstance(event, pl.ResponsibilityAreaChosen | pl.ResponsibilityAreaChanged):
            if event.year == year:
                area[event.person_id] = event.area
        elif isinstance(event, pl.PersonDeparted | pl.PersonTransferred):
            moved.add(event.person_id)
    per_branch = [
        [(m, b, area[m]) for m in b.full_members if m in area and m not in moved]
        for b in data.enterprise.branches
    ]
    out: list[tuple[str, Any, pl.ResponsibilityArea]] = []
    depth = 0
    while len(out) < count and any(depth < len(found) for found in per_branch):
        out.extend(found[depth] for found in per_branch if depth < len(found))
        depth += 1
    if len(out) < count:
        raise RuntimeError(f"only {len(out)} members can declare a pledge; {count} wanted")
    return out[:count]


async def pledge_latency(
    base: str,
    scoring: FastAPI,
    data: Dataset,
    report: Report,
    args: argparse.Namespace,
    *,
    load: Load,
    token: Token,
    now_day: str,
) -> None:
    consumer = scoring.state.runtime.consumer
    original = consumer.process
    received: dict[tuple[str, str], float] = {}
    produced: dict[tuple[str, str], float] = {}  # the record's timestamp: the relay's send
    applied: dict[tuple[str, str], float] = {}
    published: set[str] = set()

    async def timed(records: Any) -> Any:
        began = time.perf_counter()
        result = await original(records)
        now = time.perf_counter()
        for record in records:
            kind = dict(record.headers).get("type", b"").decode()
            if kind in TIMED or kind == "PledgePublished":
                pledge = json.loads(record.value)["data"]["pledge_id"]
                if kind == "PledgePublished":
                    published.add(pledge)
                    continue
                received.setdefault((pledge, kind), began)
                produced.setdefault((pledge, kind), record.timestamp / 1000)
                applied.setdefault((pledge, kind), now)
        return result

    count = max(2, int(args.latency_seconds * args.latency_rate))
    chosen = members(data, math.ceil(count / 2))
    year = data.enterprise.year
    prefix = f"bench-lat-{int(time.time()) % 100000}"
    ids = [f"{prefix}-{i}" for i in range(len(chosen))]
    member_tokens = [
        token(m, b.branch_id, b.unit_id, Role.MEMBER, Role.EMPLOYEE) for m, b, _ in chosen
    ]
    judge_tokens = [
        token(f"bench-judge-{b.branch_id}", b.branch_id, b.unit_id, Role.BRANCH_COMMITTEE)
        for _, b, _ in chosen
    ]
    declare = [
        [
            "POST",
            "/pledges",
            member_tokens[i],
            {
                "pledge_id": ids[i],
                "member_id": m,
                "year": year,
                "area": area.value,
                "item": "时延测量承诺",
                "content": "时延测量用的承诺事项",
                "quantity": "1项",
                "quality_standard": "通过党支部验收",
                "due_date": f"{year}-12-31",
            },
        ]
        for i, (m, _, area) in enumerate(chosen)
    ]
    approve = [["POST", f"/pledges/{p}/approval", judge_tokens[i], {}] for i, p in enumerate(ids)]
    publish = [
        [
            "POST",
            f"/pledges/{p}/publication",
            judge_tokens[i],
            {"channels": ["notice_board"], "published_on": now_day},
        ]
        for i, p in enumerate(ids)
    ]
    consumer.process = timed
    try:
        for step, requests in (("declare", declare), ("approve", approve), ("publish", publish)):
            answered = await load(base, 4, requests)
            if set(answered["statuses"]) - {"200", "201"}:
                raise RuntimeError(f"pledges: {step} answered {answered['statuses']}")
        await _until(lambda: published >= set(ids), "scoring to see the bench pledges")

        answered_at: dict[tuple[str, str], float] = {}
        answered_wall: dict[tuple[str, str], float] = {}
        refused: list[int] = []
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:

            async def send(i: int) -> None:
                n = i % len(ids)
                if i < len(ids):
                    path, tok, kind = f"/pledges/{ids[n]}/acceptance-request", member_tokens[n], 0
                    body: dict[str, Any] = {"summary": "时延测量：申请验收"}
                else:
                    path, tok, kind = f"/pledges/{ids[n]}/return", judge_tokens[n], 1
                    body = {"reasons": ["时延测量：退回"]}
                response = await http.post(
                    path, json=body, headers={"Authorization": f"Bearer {tok}"}
                )
                if response.status_code == 200:
                    answered_at[(ids[n], TIMED[kind])] = time.perf_counter()
                    answered_wall[(ids[n], TIMED[kind])] = time.time()
                else:
                    refused.append(response.status_code)

            started = time.perf_counter()
            tasks = []
            for i in range(count):
                await asyncio.sleep(max(0.0, started + i / args.latency_rate - time.perf_counter()))
                if i == len(ids):  # a return needs its request answered first
                    await asyncio.gather(*tasks)
                tasks.append(asyncio.create_task(send(i)))
            await asyncio.gather(*tasks)
        await _until(lambda: set(answered_at) <= set(applied), "every pledge event on the cards")
    finally:
        consumer.process = original
    if refused:
        report.note(f"pledge latency: {len(refused)} commands refused ({sorted(set(refused))})")
    keys = sorted(answered_at)
    samples = sorted((applied[k] - answered_at[k]) * 1000 for k in keys)
    delivery = statistics.median((received[k] - answered_at[k]) * 1000 for k in keys)
    relayed = statistics.median((produced[k] - answered_wall[k]) * 1000 for k in keys)
    applying = statistics.median((applied[k] - received[k]) * 1000 for k in keys)
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
            f"pledge event -> member's card, {len(samples)} at {args.latency_rate:g}/s, p50",
            f"{q[49]:.0f} ms",
        )
    )
    report.add(Line("latency", db, "pledge event -> card p95", f"{q[94]:.0f} ms"))
    report.add(
        Line(
            "latency",
            db,
            "p50 parts: answered -> batch received; batch applied",
            f"{delivery:.0f} ms; {applying:.0f} ms",
        )
    )
    report.add(
        Line(
            "latency",
            db,
            "p50 part of received: answered -> relay sent (record timestamp)",
            f"{relayed:.0f} ms",
        )
    )
    report.add(
        Line(
            "latency",
            db,
            "pledge event -> card p99",
            f"{q[98]:.0f} ms",
            f"< {TARGET_MS:.0f} ms",
            check(q[98], at_most=TARGET_MS),
        )
    )


async def _until(done: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        await asyncio.sleep(0.05)
