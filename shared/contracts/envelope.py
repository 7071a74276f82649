"""The one envelope every event travels in (DESIGN.md, Contracts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.encoding import canonical_json


class Actor(BaseModel):
    """Who caused the event: a person's reference and the role they acted in."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    ref: str = Field(min_length=1, max_length=64)
    """The acting person's id (人员编号); for ballots the reviewer's pseudonym, never a person
    id; for operator commands the operator; for the services' own steps a name such as
    "system" or "reviews-scheduler"."""
    role: str = Field(min_length=1, max_length=32)
    """The role they acted in, as a code (e.g. member, employee, branch_committee,
    unit_committee, org_admin, operator; "system" for scheduled steps)."""


class Org(BaseModel):
    """Where in the organization the event belongs."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    unit: str | None = Field(default=None, max_length=64)
    """The id of the unit party committee (二级党委) the event belongs to; null when none
    (company-wide or kernel events)."""
    branch: str | None = Field(default=None, max_length=64)
    """The id of the branch (党支部) the event belongs to; null when it belongs to no one
    branch."""


class Envelope(BaseModel):
    """Metadata plus the event's ``data``. JSON on the wire; ``data`` is the payload as stored."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    event_id: UUID
    """The event's unique id (UUID); deduplicate by it."""
    type: str = Field(min_length=1, max_length=80)
    """The event's stable type name, past tense (e.g. PledgeApproved): which payload
    ``data`` is (docs/events/)."""
    version: int = Field(ge=1)
    """The payload's schema version for ``type``, from 1."""
    stream: str = Field(min_length=1, max_length=160)
    """The stream the event belongs to: one aggregate's history, e.g. "pledge-<pledge id>"."""
    sequence: int = Field(ge=1)
    """The event's place in its stream: 1, 2, 3… with no gaps."""
    occurred_at: datetime
    """When the event was recorded, an instant in UTC (ISO 8601 with its offset)."""
    actor: Actor
    """Who caused the event, and in which role."""
    org: Org
    """Where in the organization the event belongs (unit and branch)."""
    year: int | None = Field(default=None, ge=2000, le=2100)
    """The review year the event's work belongs to (DOMAIN.md section 5), 2000 to 2100;
    null when it belongs to no one year."""
    correlation_id: UUID
    """The id (UUID) shared by the events of one request or decision; group them by it."""
    causation_id: UUID | None = None
    """The ``event_id`` of the event this one reacts to; null when no event caused it (a
    command)."""
    data: dict[str, Any]
    """The payload: a JSON object valid against the schema of ``type`` and ``version``."""

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
        """Read an envelope as a reader does: fields this code does not know (added by a
        newer writer) are ignored; building one in code stays strict (``extra="forbid"``)."""
        return cls.model_validate_json(raw, extra="ignore")


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
