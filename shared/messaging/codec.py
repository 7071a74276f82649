"""How an event travels on Kafka: key = the stream's partition key (its home branch),
value = the envelope as canonical JSON, headers = type, version and event id for routing
and filtering without parsing the body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from shared.contracts import Actor, Envelope, Org
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


class WireActor(msgspec.Struct, frozen=True):
    ref: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    role: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class WireOrg(msgspec.Struct, frozen=True):
    unit: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    branch: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class WireEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope as consumers decode it from the wire: the fields and limits of
    :class:`shared.contracts.Envelope` (the contract), checked by msgspec in one pass over
    the bytes instead of pydantic's (measured in docs/benchmarks.md: ~1.4 µs against ~5–8 µs
    per record; what it accepts, the contract accepts with the same values,
    tests/unit/test_wire_envelope.py). Strict in types: a number sent as a string is refused.
    Tolerant of fields it does not know, as every reader is (docs/compatibility.md): a newer
    writer may add an optional envelope field, and this reader ignores it."""

    event_id: UUID
    type: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    stream: Annotated[str, msgspec.Meta(min_length=1, max_length=160)]
    sequence: Annotated[int, msgspec.Meta(ge=1)]
    occurred_at: Annotated[datetime, msgspec.Meta(tz=True)]
    actor: WireActor
    org: WireOrg
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)] | None = None
    correlation_id: UUID
    causation_id: UUID | None = None
    data: dict[str, Any]

    def to_envelope(self) -> Envelope:
        """The contract's model of the same envelope (validated again, for the edges)."""
        return Envelope(
            event_id=self.event_id,
            type=self.type,
            version=self.version,
            stream=self.stream,
            sequence=self.sequence,
            occurred_at=self.occurred_at,
            actor=Actor(ref=self.actor.ref, role=self.actor.role),
            org=Org(unit=self.org.unit, branch=self.org.branch),
            year=self.year,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            data=self.data,
        )


_WIRE = msgspec.json.Decoder(WireEnvelope)


def decode_envelope(value: bytes | None, headers: Sequence[tuple[str, bytes]] = ()) -> WireEnvelope:
    if value is None:
        raise DecodeError("empty message value")
    if len(value) > MAX_RECORD_BYTES:
        raise DecodeError(
            f"message too large: {len(value)} bytes (events are at most {MAX_RECORD_BYTES})"
        )
    try:
        envelope = _WIRE.decode(value)
    except msgspec.DecodeError as exc:
        raise DecodeError(f"not a Suxing event envelope: {_short(str(exc))}") from None
    if envelope.occurred_at.tzinfo is not UTC:  # another offset than Z: in UTC, as the contract
        envelope = msgspec.structs.replace(
            envelope, occurred_at=envelope.occurred_at.astimezone(UTC)
        )
    return envelope


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
