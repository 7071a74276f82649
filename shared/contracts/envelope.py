"""The one envelope every event travels in (DESIGN.md, Contracts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
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
