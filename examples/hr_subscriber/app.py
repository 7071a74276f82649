"""An HR system's subscriber to Suxing's final results (YearResultsFinalized).

Written the way a team outside Suxing would: it depends only on the published contract
(the envelope and the event's JSON Schema in docs/events/), not on Suxing's code.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faststream import FastStream
from faststream.kafka import KafkaBroker, KafkaMessage

TOPIC = "suxing.scoring"
WANTED = "YearResultsFinalized"


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

    def results(self, year: int) -> list[FinalResult]:
        rows = self.db.execute(
            "SELECT branch_id, year, member_id, composite, band, adjusted FROM final_results "
            "WHERE year = ? ORDER BY branch_id, member_id",
            (year,),
        )
        return [FinalResult(b, y, m, c, band, bool(a)) for b, y, m, c, band, a in rows]


def create_broker(
    bootstrap: str, store: ResultsStore, *, topic: str = TOPIC, group_id: str = "hr-final-results"
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
        # Route on the header so events of other types are skipped without reading them.
        if message.headers.get("type") != WANTED:
            return
        store.record(body)

    return broker


def create_app(bootstrap: str, store: ResultsStore) -> FastStream:
    return FastStream(create_broker(bootstrap, store))
