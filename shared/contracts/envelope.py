"""The one envelope every event travels in (DESIGN.md, Contracts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.encoding import canonical_json


class Actor(BaseModel):
    """Who caused the event: a person's reference and the role they acted in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ref: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=32)


class Org(BaseModel):
    """Where in the organization the event belongs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: str | None = Field(default=None, max_length=64)
    branch: str | None = Field(default=None, max_length=64)


class Envelope(BaseModel):
    """Metadata plus the event's ``data``. JSON on the wire; ``data`` is the payload as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    type: str = Field(min_length=1, max_length=80)
    version: int = Field(ge=1)
    stream: str = Field(min_length=1, max_length=160)
    sequence: int = Field(ge=1)
    occurred_at: datetime
    actor: Actor
    org: Org
    year: int | None = Field(default=None, ge=2000, le=2100)
    correlation_id: UUID
    causation_id: UUID | None = None
    data: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone (UTC)")
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        return cls.model_validate_json(raw)


class ActorView(Protocol):
    @property
    def ref(self) -> str: ...
    @property
    def role(self) -> str: ...


class OrgView(Protocol):
    @property
    def unit(self) -> str | None: ...
    @property
    def branch(self) -> str | None: ...


class EnvelopeView(Protocol):
    """What projections read of an envelope: :class:`Envelope` (the contract, as the event
    store and producers build it) or the consumer's wire decoding of the same fields
    (``shared.messaging.codec.WireEnvelope``, validated to the same rules at a quarter of
    the cost)."""

    @property
    def event_id(self) -> UUID: ...
    @property
    def type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def stream(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor(self) -> ActorView: ...
    @property
    def org(self) -> OrgView: ...
    @property
    def year(self) -> int | None: ...
    @property
    def correlation_id(self) -> UUID: ...
    @property
    def causation_id(self) -> UUID | None: ...
    @property
    def data(self) -> dict[str, Any]: ...
