"""Tamper evidence: verify every stream's hash chain and the heads recorded in es_streams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import canonical_json
from shared.eventstore.rows import GENESIS, link_hash, row_body
from shared.eventstore.tables import events, streams


@dataclass(frozen=True)
class BrokenLink:
    stream: str
    sequence: int
    position: int | None
    reason: str

    def describe(self) -> str:
        where = f"position {self.position}" if self.position is not None else "stream head"
        return f"{self.stream} #{self.sequence} ({where}): {self.reason}"


@dataclass
class VerifyReport:
    events: int = 0
    streams: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first_broken(self) -> BrokenLink | None:
        return self.broken[0] if self.broken else None


async def _rows(session: AsyncSession, page: int) -> AsyncIterator[dict[str, Any]]:
    last: tuple[str, int] = ("", 0)
    while True:
        result = await session.execute(
            select(events)
            .where(
                (events.c.stream > last[0])
                | ((events.c.stream == last[0]) & (events.c.sequence > last[1]))
            )
            .order_by(events.c.stream, events.c.sequence)
            .limit(page)
        )
        rows = [dict(r) for r in result.mappings()]
        if not rows:
            return
        for row in rows:
            yield row
        last = (str(rows[-1]["stream"]), int(rows[-1]["sequence"]))


async def verify_log(session: AsyncSession, *, page: int = 5000) -> VerifyReport:
    """Recompute every event's hash from its stored bytes, stream by stream, and check that
    an event's stored ``wire`` bytes (what the relay publishes) are the bytes it hashes.

    Reports each stream's first broken link only (everything after it breaks with it): a
    changed byte, a missing or reordered event, or a head in es_streams that does not match.
    """
    report = VerifyReport()
    heads = {
        stream: (version, head)
        for stream, version, head in await session.execute(
            select(streams.c.stream, streams.c.version, streams.c.head_hash)
        )
    }
    current: str | None = None
    prev = GENESIS
    expected_seq = 1
    broken_streams: set[str] = set()
    seen: set[str] = set()

    def close_stream(stream: str, last_seq: int, last_hash: str) -> None:
        if stream in broken_streams:
            return
        version, head = heads.get(stream, (None, None))
        if version != last_seq or head != last_hash:
            report.broken.append(
                BrokenLink(stream, last_seq, None, "stream head does not match its last event")
            )

    async for row in _rows(session, page):
        stream = str(row["stream"])
        if stream != current:
            if current is not None:
                close_stream(current, expected_seq - 1, prev)
            current, prev, expected_seq = stream, GENESIS, 1
            seen.add(stream)
            report.streams += 1
        report.events += 1
        if stream in broken_streams:
            continue
        seq = int(row["sequence"])
        position = int(row["position"])
        reason = None
        if seq != expected_seq:
            reason = f"expected sequence {expected_seq}, found {seq} (an event is missing)"
        elif row["prev_hash"] != prev:
            reason = "prev_hash does not match the previous event's hash"
        else:
            body = canonical_json(row_body(row))
            wire = row["wire"]
            if link_hash(prev, body) != row["hash"]:
                reason = "content does not match its hash (the stored event was changed)"
            elif wire is not None and bytes(wire) != body:
                # What the relay publishes must be what the chain covers.
                reason = "the stored wire bytes do not match the event (they were changed)"
        if reason is not None:
            report.broken.append(BrokenLink(stream, seq, position, reason))
            broken_streams.add(stream)
            continue
        prev = str(row["hash"])
        expected_seq += 1
    if current is not None:
        close_stream(current, expected_seq - 1, prev)
    for stream in sorted(set(heads) - seen):
        report.broken.append(BrokenLink(stream, 0, None, "stream has a head but no events"))
    return report
