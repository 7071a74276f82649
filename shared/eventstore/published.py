"""The log against what was published: ``suxing verify-log --against-topic``.

``verify_log`` recomputes every hash from the database's own rows, so a database writer who
rewrites an event and recomputes its stream's hashes (and the seals) leaves a log that checks
out against itself. What they cannot recompute is what the service already published: each
record on the topic carries the event's position and chain link, signed with a key that is not
in the database (shared/signing.py). This compares the two, position by position:

- a published record whose signed ``suxing-hash`` (or ``suxing-prev-hash``) differs from the
  stored event at that position: the stored event was changed after it was published;
- a published position with no stored event: an event was deleted;
- a stored public event that is neither on the topic nor waiting in the outbox: it was added
  behind the relay's back, or the broker lost it (``suxing republish`` restores the latter).

Records the verifier refuses (forgeries, records published before signing existed) prove
nothing and are counted apart. Private events (ballots) are never published, so only the
hash chain and the seals speak for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY
from shared.eventstore.tables import events, outbox
from shared.signing import HASH, POSITION, PREV_HASH, RefusedRecord, Verifier


@dataclass
class Difference:
    position: int
    reason: str


@dataclass
class TopicReport:
    topic: str
    records: int = 0
    compared: int = 0
    refused: int = 0
    refused_reasons: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "records": self.records,
            "compared": self.compared,
            "refused": self.refused,
            "refused_reasons": self.refused_reasons[:20],
            "ok": self.ok,
            "differences": [f"position {d.position}: {d.reason}" for d in self.differences],
        }


async def published_links(
    bootstrap: str,
    topic: str,
    verifier: Verifier,
    ends: dict[int, int],
    report: TopicReport,
    **client_settings: Any,
) -> dict[int, tuple[str, str]]:
    """position -> (prev_hash, hash) of every verified record on ``topic`` up to ``ends``."""
    links: dict[int, tuple[str, str]] = {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, **client_settings
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p, end in sorted(ends.items()) if end]
        if not partitions:
            return links
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp: ends[tp.partition] for tp in partitions}
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not batch:
                break
            for tp, records in batch.items():
                for record in records:
                    if tp in remaining and record.offset >= remaining[tp]:
                        continue
                    report.records += 1
                    _take(record, verifier, links, report)
                if records and tp in remaining and records[-1].offset + 1 >= remaining[tp]:
                    del remaining[tp]
    finally:
        await consumer.stop()
    return links


def _take(
    record: Any, verifier: Verifier, links: dict[int, tuple[str, str]], report: TopicReport
) -> None:
    try:
        verifier.check(record)
    except RefusedRecord as exc:
        report.refused += 1
        if len(report.refused_reasons) < 20:
            report.refused_reasons.append(
                f"{record.topic}[{record.partition}]@{record.offset}: {exc}"
            )
        return
    named = {name: value for name, value in record.headers}
    position = int(named[POSITION])
    link = (named[PREV_HASH].decode("ascii"), named[HASH].decode("ascii"))
    seen = links.setdefault(position, link)
    if seen != link:
        # Only the key's holder could sign two contents for one position.
        report.differences.append(
            Difference(position, "published twice with different content (both signed)")
        )


async def compare_with_published(
    session: AsyncSession,
    links: dict[int, tuple[str, str]],
    report: TopicReport,
    *,
    page: int = 5000,
) -> None:
    """Walk the stored public events in position order against the published links."""
    private = REGISTRY.private_types()
    pending = {p for (p,) in await session.execute(select(outbox.c.position))}
    seen: set[int] = set()
    after = 0
    while True:
        rows: Sequence[Any] = (
            await session.execute(
                select(
                    events.c.position,
                    events.c.stream,
                    events.c.sequence,
                    events.c.type,
                    events.c.prev_hash,
                    events.c.hash,
                )
                .where(events.c.position > after, events.c.type.not_in(private))
                .order_by(events.c.position)
                .limit(page)
            )
        ).all()
        if not rows:
            break
        for position, stream, sequence, type_, prev_hash, hash_ in rows:
            seen.add(position)
            link = links.get(position)
            where = f"{type_} (stream {stream}, sequence {sequence})"
            if link is None:
                if position not in pending:
                    report.differences.append(
                        Difference(position, f"{where} is stored but was never published")
                    )
                continue
            report.compared += 1
            if link != (prev_hash, hash_):
                report.differences.append(
                    Difference(
                        position,
                        f"{where} differs from what was published: stored hash "
                        f"{hash_[:16]}…, published {link[1][:16]}… (the stored event was "
                        "changed after it was published)",
                    )
                )
        after = rows[-1][0]
    for position in sorted(set(links) - seen):
        report.differences.append(
            Difference(position, "was published but is not in the database (deleted)")
        )
    report.differences.sort(key=lambda d: d.position)
