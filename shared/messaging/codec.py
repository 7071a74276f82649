"""How an event travels on Kafka: key = the stream's partition key (its home branch),
value = the envelope as canonical JSON, headers = type, version and event id for routing
and filtering without parsing the body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.contracts import Envelope, canonical_json
from shared.eventstore.rows import row_body

CONTENT_TYPE = b"application/json"


def encode_record(row: Mapping[Any, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A stored event row -> (key, value, headers)."""
    body = row_body(row)
    headers = [
        ("content-type", CONTENT_TYPE),
        ("type", str(row["type"]).encode()),
        ("version", str(row["version"]).encode()),
        ("event_id", body["event_id"].encode()),
    ]
    return str(row["partition_key"]).encode(), canonical_json(body), headers


class DecodeError(ValueError):
    """A record that is not an envelope we can read (goes to the dead-letter topic)."""


def decode_envelope(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> Envelope:
    if value is None:
        raise DecodeError("empty message value")
    try:
        return Envelope.from_json(value)
    except ValueError as exc:
        raise DecodeError(f"not a Suxing event envelope: {_short(str(exc))}") from None


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
