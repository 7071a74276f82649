"""The one JSON form of a stored event row: the Kafka value, and the input of its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from shared.contracts import canonical_json

GENESIS = "0" * 64
"""The ``prev_hash`` of a stream's first event."""


def row_body(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The envelope of a stored row as JSON-ready data (what ``Envelope.model_dump`` gives).

    Built by hand rather than through the Envelope model: it runs for every event published
    and hashed, and the row was validated when it was appended (a test pins the two equal).
    """
    occurred = row["occurred_at"]
    if occurred.tzinfo is None:  # SQLite hands back naive datetimes; everything is UTC
        occurred = occurred.replace(tzinfo=UTC)
    causation = row["causation_id"]
    data = row["data"]
    return {
        "event_id": str(row["event_id"]),
        "type": row["type"],
        "version": row["version"],
        "stream": row["stream"],
        "sequence": row["sequence"],
        "occurred_at": occurred.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor": {"ref": row["actor_ref"], "role": row["actor_role"]},
        "org": {"unit": row["unit_id"], "branch": row["branch_id"]},
        "year": row["year"],
        "correlation_id": str(row["correlation_id"]),
        "causation_id": None if causation is None else str(causation),
        "data": json.loads(data) if isinstance(data, str) else data,
    }


def envelope_bytes(row: Mapping[Any, Any]) -> bytes:
    """``canonical_json(row_body(row))``, built without parsing the payload again.

    The ``data`` column is the payload's canonical JSON (the event store writes it so), so it
    is spliced in as is: its key, "data", sorts after actor/causation_id/correlation_id and
    before every other key of the envelope. This is what the event store hashes and stores as
    the row's ``wire`` bytes at append time, and what the relay publishes for a row stored
    without them. UUIDs may come as ``uuid.UUID`` or as text (32 hex digits, as SQLite stores
    them). A row whose ``data`` is not text falls back to encoding ``row_body``."""
    data = row["data"]
    if not isinstance(data, str):
        return canonical_json(row_body(row))
    occurred = row["occurred_at"]
    if occurred.tzinfo is None:  # SQLite hands back naive datetimes; everything is UTC
        occurred = occurred.replace(tzinfo=UTC)
    causation = row["causation_id"]
    head = canonical_json(
        {
            "actor": {"ref": row["actor_ref"], "role": row["actor_role"]},
            "causation_id": None if causation is None else uuid_text(causation),
            "correlation_id": uuid_text(row["correlation_id"]),
        }
    )
    tail = canonical_json(
        {
            "event_id": uuid_text(row["event_id"]),
            "occurred_at": occurred.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "org": {"unit": row["unit_id"], "branch": row["branch_id"]},
            "sequence": row["sequence"],
            "stream": row["stream"],
            "type": row["type"],
            "version": row["version"],
            "year": row["year"],
        }
    )
    return b"".join((head[:-1], b',"data":', data.encode("utf-8"), b",", tail[1:]))


def uuid_text(value: Any) -> str:
    """A UUID as its canonical text, from ``uuid.UUID`` or SQLite's 32 hex digits."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def link_hash(prev_hash: str, body: bytes) -> str:
    """SHA-256 over the previous event's hash and this event's canonical JSON ``body``."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(body)
    return digest.hexdigest()


def chain_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    """SHA-256 over the previous event's hash and this event's canonical JSON.

    Changing any byte of a stored event (or removing one) breaks every later link of its
    stream; ``verify_log`` finds the first broken one. Recomputed here from the parsed row
    (``row_body``), independently of how the appending code built the bytes.
    """
    return link_hash(prev_hash, canonical_json(row_body(row)))
