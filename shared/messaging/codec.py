"""How an event travels on Kafka: key = the stream's partition key (its home branch),
value = the envelope as canonical JSON, headers = type, version and event id for routing
and filtering without parsing the body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.contracts import Envelope
from shared.eventstore.rows import envelope_bytes, uuid_text

CONTENT_TYPE = b"application/json"
MAX_RECORD_BYTES = 1024 * 1024
"""No event of ours comes near Kafka's default 1 MB message limit; a larger record is not
one of ours (or is an attack on the projections) and goes to the dead-letter topic."""


def encode_record(row: Mapping[Any, Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A stored event row -> (key, value, headers).

    The value is the row's stored ``wire`` bytes when it has them (written at append time),
    else ``canonical_json(row_body(row))`` built by ``envelope_bytes`` (rows stored before the
    wire column existed, and private events, which are stored without it)."""
    wire = row.get("wire")
    value = bytes(wire) if wire is not None else envelope_bytes(row)
    return (
        str(row["partition_key"]).encode(),
        value,
        record_headers(row["type"], row["version"], uuid_text(row["event_id"])),
    )


def record_headers(type_: str, version: int, event_id: str) -> list[tuple[str, bytes]]:
    """The headers of a published event: routing and filtering without parsing the body."""
    return [
        ("content-type", CONTENT_TYPE),
        ("type", type_.encode()),
        ("version", str(version).encode()),
        ("event_id", event_id.encode()),
    ]


class DecodeError(ValueError):
    """A record that is not an envelope we can read (goes to the dead-letter topic)."""


def decode_envelope(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> Envelope:
    if value is None:
        raise DecodeError("empty message value")
    if len(value) > MAX_RECORD_BYTES:
        raise DecodeError(
            f"message too large: {len(value)} bytes (events are at most {MAX_RECORD_BYTES})"
        )
    try:
        return Envelope.from_json(value)
    except ValueError as exc:
        raise DecodeError(f"not a Suxing event envelope: {_short(str(exc))}") from None


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
