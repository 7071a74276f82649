"""Client load with an oracle: members declare pledges and their secretaries approve them,
retrying through outages the way a careful client does (the same Idempotency-Key for a
declaration; a re-sent approval that meets 409 is checked against the pledge's state). The
oracle holds only what the service accepted."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.pledges.domain import pledge_stream
from tests.faults.stack import ADMIN, YEAR, Stack, declaration, member, secretary
from tests.support.kafka import read_topic

RETRYABLE = {502, 503, 504}


@dataclass
class Oracle:
    declared: dict[str, str] = field(default_factory=dict)
    """pledge id → member id, for every declaration answered 201."""
    approved: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    retries: int = 0

    def per_member(self) -> dict[str, tuple[int, int]]:
        """member → (pledges declared, pledges approved)."""
        totals: dict[str, list[int]] = {}
        for pledge, who in self.declared.items():
            row = totals.setdefault(who, [0, 0])
            row[0] += 1
            row[1] += pledge in self.approved
        return {who: (d, a) for who, (d, a) in totals.items()}


async def _send(
    http: httpx.AsyncClient, oracle: Oracle, method: str, url: str, **kw: Any
) -> httpx.Response:
    """Send until the service gives a definite answer (it may be down or restarting)."""
    first = True
    while True:
        if not first:
            oracle.retries += 1
            await asyncio.sleep(0.2)
        first = False
        try:
            response = await http.request(method, url, **kw)
        except httpx.TransportError:
            continue
        if response.status_code in RETRYABLE:
            continue
        return response


async def member_worker(
    stack: Stack,
    oracle: Oracle,
    branch: int,
    n: int,
    stop: asyncio.Event,
    prefix: str,
    limit: int | None = None,
) -> None:
    base = stack.url("pledges")
    mine, sec = member(branch, n), secretary(branch)
    k = 0
    async with httpx.AsyncClient(timeout=60) as http:
        while not stop.is_set() and (limit is None or k < limit):
            pid = f"{prefix}-{branch}-{n}-{k}"
            k += 1
            body = declaration(pid, branch, n)
            response = await _send(
                http,
                oracle,
                "POST",
                f"{stack.url('pledges')}/pledges",
                json=body,
                headers={"Authorization": f"Bearer {mine}", "Idempotency-Key": pid},
            )
            if response.status_code != 201:
                oracle.unexpected.append(f"declare {pid}: {response.status_code} {response.text}")
                continue
            oracle.declared[pid] = body["member_id"]
            if k % 2:  # every other pledge is approved too: two events on its stream
                continue
            auth = {"Authorization": f"Bearer {sec}"}
            response = await _send(
                http, oracle, "POST", f"{base}/pledges/{pid}/approval", headers=auth
            )
            if response.status_code == 409:
                # A retry after a lost answer: the first attempt may have been recorded.
                state = await _send(http, oracle, "GET", f"{base}/pledges/{pid}", headers=auth)
                if state.status_code == 200 and state.json().get("status") == "approved":
                    oracle.approved.add(pid)
                    continue
            if response.status_code != 200:
                oracle.unexpected.append(f"approve {pid}: {response.status_code} {response.text}")
                continue
            oracle.approved.add(pid)


def pledge_events(stack: Stack) -> list[tuple[str, str, int, str, str]]:
    """(event id, stream, sequence, type, member) of every pledge event in the pledges log."""
    rows = stack.services["pledges"].sql(
        "SELECT event_id, stream, sequence, type, data FROM es_events "
        "WHERE type IN ('PledgeDeclared', 'PledgeApproved') ORDER BY position"
    )
    return [(e, s, q, t, json.loads(d).get("member_id", "")) for e, s, q, t, d in rows]


@dataclass
class Check:
    """What the log, the topic and each projection hold, against the oracle."""

    log_declared: int = 0
    log_approved: int = 0
    log_dup_commands: int = 0
    lost_in_log: int = 0
    extra_in_log: int = 0
    on_topic_records: int = 0
    on_topic_distinct: int = 0
    unpublished: int = 0
    scoring_mismatches: list[str] = field(default_factory=list)
    reviews_mismatches: list[str] = field(default_factory=list)
    checkpoint_mismatches: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.log_dup_commands
            or self.lost_in_log
            or self.extra_in_log
            or self.unpublished
            or self.scoring_mismatches
            or self.reviews_mismatches
            or self.checkpoint_mismatches
        )

    def figures(self) -> dict[str, Any]:
        return {
            "log_declared": self.log_declared,
            "log_approved": self.log_approved,
            "lost": self.lost_in_log + self.unpublished,
            "double_recorded": self.log_dup_commands + self.extra_in_log,
            "topic_records": self.on_topic_records,
            "topic_redeliveries": self.on_topic_records - self.on_topic_distinct,
            "projection_mismatches": len(self.scoring_mismatches)
            + len(self.reviews_mismatches)
            + len(self.checkpoint_mismatches),
        }


async def check(stack: Stack, oracle: Oracle, prefix: str) -> Check:
    result = Check()
    ours = [e for e in pledge_events(stack) if prefix in e[1]]
    per_command = Counter((stream, kind) for _, stream, _, kind, _ in ours)
    result.log_dup_commands = sum(n - 1 for n in per_command.values() if n > 1)
    declared = {s for (s, kind) in per_command if kind == "PledgeDeclared"}
    approved = {s for (s, kind) in per_command if kind == "PledgeApproved"}
    result.log_declared, result.log_approved = len(declared), len(approved)
    want_declared = {pledge_stream(p) for p in oracle.declared}
    want_approved = {pledge_stream(p) for p in oracle.approved}
    result.lost_in_log = len(want_declared - declared) + len(want_approved - approved)
    # A command the client never saw accepted may still have been recorded (the process died
    # between commit and answer) only if the client gave up on it; ours never give up.
    result.extra_in_log = len(declared - want_declared) + len(approved - want_approved)

    # Published: every event id of the log is on the topic (redeliveries are allowed).
    result.unpublished = stack.services["pledges"].sql("SELECT count(*) FROM es_outbox")[0][0]
    log_ids = stack.services["pledges"].sql("SELECT event_id FROM es_events")
    all_ids = {str(uuid.UUID(str(row[0]))) for row in log_ids}
    # Reads until the topic holds as many records as the log has events (or 8 s pass):
    # fewer records than events can only mean some are not published (yet).
    seen = await read_topic(
        stack.broker.bootstrap, "suxing.pledges", expect=len(all_ids), timeout=8
    )
    on_topic = [str(s.envelope.event_id) for s in seen if s.envelope is not None]
    if not all_ids <= set(on_topic):  # redeliveries filled the count: read everything
        seen = await read_topic(stack.broker.bootstrap, "suxing.pledges", expect=10**9, timeout=8)
        on_topic = [str(s.envelope.event_id) for s in seen if s.envelope is not None]
    result.on_topic_records, result.on_topic_distinct = len(on_topic), len(set(on_topic))
    result.unpublished += len(all_ids - set(on_topic))

    # Applied: the scoring cards and the reviews projection match the oracle per member.
    expected = oracle.per_member()
    async with httpx.AsyncClient(base_url=stack.url("scoring"), timeout=30) as http:
        for who, (n_declared, n_approved) in sorted(expected.items()):
            response = await http.get(
                f"/members/{who}/cards/{YEAR}", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            if response.status_code != 200:
                result.scoring_mismatches.append(f"{who}: card {response.status_code}")
                continue
            card = [p for p in response.json()["pledges"] if p["pledge_id"].startswith(prefix)]
            got = (len(card), sum(p["status"] == "approved" for p in card))
            if got != (n_declared, n_approved):
                result.scoring_mismatches.append(f"{who}: {got} != {(n_declared, n_approved)}")
    rows = stack.services["reviews"].sql(
        "SELECT member_id, count(*) FROM rv_pledges WHERE pledge_id LIKE ? GROUP BY member_id",
        f"{prefix}%",
    )
    got_reviews = dict(rows)
    for who, (n_declared, _) in expected.items():
        if got_reviews.get(who, 0) != n_declared:
            result.reviews_mismatches.append(f"{who}: {got_reviews.get(who, 0)} != {n_declared}")

    # And each consumer's stream checkpoint stands exactly at the log's head of each stream.
    heads: dict[str, int] = {}
    for _, stream, sequence, _, _ in ours:
        heads[stream] = max(heads.get(stream, 0), sequence)
    for name in ("scoring", "reviews"):
        stored: dict[str, int] = {}
        for stream, last in stack.services[name].sql_everywhere(
            "SELECT stream, last_sequence FROM cp_streams WHERE stream LIKE ?", f"%{prefix}%"
        ):
            stored[stream] = max(stored.get(stream, 0), last)
        for stream, head in heads.items():
            if stored.get(stream) != head:
                result.checkpoint_mismatches.append(
                    f"{name} {stream}: {stored.get(stream)} != {head}"
                )
    return result


async def converged(stack: Stack, oracle: Oracle, prefix: str, timeout: float = 120) -> Check:
    """Check until everything matches or ``timeout`` passes; the last check either way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check(stack, oracle, prefix)
        if result.clean or loop.time() > deadline:
            return result
        await asyncio.sleep(1)


async def steady_load(stack: Stack, prefix: str, branches: int, members: int, each: int) -> Oracle:
    """``each`` pledges per member (every other one approved), no faults."""
    oracle = Oracle()
    stop = asyncio.Event()
    await asyncio.gather(
        *(
            member_worker(stack, oracle, b, m, stop, prefix, limit=each)
            for b in range(branches)
            for m in range(members)
        )
    )
    return oracle
