"""An HR system's subscriber to Suxing's final results (YearResultsFinalized).

Written the way a team outside Suxing would: it depends only on the published contract
(the envelope and the event's JSON Schema in docs/events/, the signature headers in
docs/signing.md), not on Suxing's code. It trusts nothing the broker hands it: a record that
is not signed by the scoring service's key is set aside with the reason, never stored.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

TOPIC = "suxing.scoring"
WANTED = "YearResultsFinalized"
PUBLISHER = "scoring"


def trusted_keys(directory: Path, publisher: str = PUBLISHER) -> dict[str, Ed25519PublicKey]:
    """The publisher's public keys, ``<publisher>.<id>.pub`` files (PEM), by key id."""
    found: dict[str, Ed25519PublicKey] = {}
    for path in sorted(directory.glob(f"{publisher}.*.pub")):
        key = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(key, Ed25519PublicKey):
            found[path.name.removesuffix(".pub")] = key
    return found


def origin_problem(
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    trusted: dict[str, Ed25519PublicKey],
) -> str | None:
    """None when the record carries a valid signature of a trusted key over its fields and
    its value hashes to the signed chain link (docs/signing.md); else why not."""
    named: dict[str, bytes] = {}
    for name, raw in headers:
        if name in named:
            return f"header {name} appears twice"
        named[name] = raw
    needed: tuple[str, ...] = ("type", "version", "event_id", "suxing-key-id")
    needed += ("suxing-signature", "suxing-position", "suxing-prev-hash", "suxing-hash")
    if any(name not in named for name in needed):
        return "unsigned or incomplete signature headers"
    key_id = named["suxing-key-id"].decode("ascii", "replace")
    public = trusted.get(key_id)
    if public is None:
        return f"not signed by a trusted key (key id {key_id[:80]!r})"
    fields = [b"suxing-event/1", topic.encode(), key or b""]
    fields += [named[name] for name in needed[:3]]
    fields += [named[name] for name in needed[5:]]
    message = b"".join(len(f).to_bytes(4, "big") + f for f in fields)
    try:
        public.verify(base64.b64decode(named["suxing-signature"], validate=True), message)
    except (InvalidSignature, ValueError):
        return "the signature does not match the record"
    link = hashlib.sha256(named["suxing-prev-hash"] + value).hexdigest().encode()
    if link != named["suxing-hash"]:
        return "the value does not hash to its signed chain link"
    return None


@dataclass(frozen=True)
class FinalResult:
    branch_id: str
    year: int
    member_id: str
    composite: str | None
    band: str | None
    adjusted: bool


class ResultsStore:
    """The HR side's own table of final results, idempotent by event id."""

    def __init__(self, path: Path | str = ":memory:") -> None:
        self.db = sqlite3.connect(str(path))
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY);
            CREATE TABLE IF NOT EXISTS rejected (
                topic TEXT, partition INTEGER, "offset" INTEGER, reason TEXT
            );
            CREATE TABLE IF NOT EXISTS final_results (
                branch_id TEXT, year INTEGER, member_id TEXT,
                composite TEXT, band TEXT, adjusted INTEGER,
                PRIMARY KEY (branch_id, year, member_id)
            );
            """
        )

    def record(self, envelope: dict[str, Any]) -> int:
        """Store one YearResultsFinalized; returns how many results it wrote (0 if seen)."""
        with self.db:
            seen = self.db.execute(
                "INSERT OR IGNORE INTO seen_events VALUES (?)", (envelope["event_id"],)
            )
            if seen.rowcount == 0:
                return 0
            data = envelope["data"]
            rows = [
                (
                    data["branch_id"],
                    data["year"],
                    r["member_id"],
                    r.get("composite"),
                    r.get("band"),
                    int(bool(r.get("adjusted"))),
                )
                for r in data["results"]
            ]
            self.db.executemany(
                "INSERT OR REPLACE INTO final_results VALUES (?, ?, ?, ?, ?, ?)", rows
            )
            return len(rows)

    def reject(self, topic: str, partition: int, offset: int, reason: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO rejected VALUES (?, ?, ?, ?)", (topic, partition, offset, reason)
            )

    def results(self, year: int) -> list[FinalResult]:
        rows = self.db.execute(
            "SELECT branch_id, year, member_id, composite, band, adjusted FROM final_results "
            "WHERE year = ? ORDER BY branch_id, member_id",
            (year,),
        )
        return [FinalResult(b, y, m, c, band, bool(a)) for b, y, m, c, band, a in rows]


def create_broker(
    bootstrap: str,
    store: ResultsStore,
    trusted: dict[str, Ed25519PublicKey],
    *,
    topic: str = TOPIC,
    group_id: str = "hr-final-results",
) -> KafkaBroker:
    broker = KafkaBroker(bootstrap)

    @broker.subscriber(
        topic,
        group_id=group_id,
        auto_offset_reset="earliest",
        # Short sessions join quickly on the embedded broker; use Kafka's defaults in production.
        session_timeout_ms=3000,
        heartbeat_interval_ms=1000,
    )
    async def on_scoring_event(body: dict[str, Any], message: KafkaMessage) -> None:
        record: Any = message.raw_message  # aiokafka's ConsumerRecord: the headers as sent
        problem = origin_problem(
            record.topic, record.key, record.value or b"", list(record.headers), trusted
        )
        if problem is not None:
            store.reject(record.topic, record.partition, record.offset, problem)
            return
        # Route on the (signed) header: events of other types are skipped unread.
        if message.headers.get("type") != WANTED:
            return
        store.record(body)

    return broker


def create_app(
    bootstrap: str, store: ResultsStore, trusted: dict[str, Ed25519PublicKey]
) -> FastStream:
    return FastStream(create_broker(bootstrap, store, trusted))
