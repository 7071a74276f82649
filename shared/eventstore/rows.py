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


def chain_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    """SHA-256 over the previous event's hash and this event's canonical JSON.

    Changing any byte of a stored event (or removing one) breaks every later link of its
    stream; ``verify_log`` finds the first broken one.
    """
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(canonical_json(row_body(row)))
    return digest.hexdigest()
