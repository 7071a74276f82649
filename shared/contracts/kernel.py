"""Events the kernel itself writes into every service's log."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.events import Event
from shared.contracts.registry import event_type


@event_type("LogSealed", 1, term="日志封存")
class LogSealed(Event):
    """A digest over the heads of every stream of a service's log up to a position, recorded
    by the service (or an operator's seal command). Subscribers keep it to check the log later.

    Published on the service's topic, so subscribers hold a copy the service cannot rewrite:
    recomputing a whole stream's hash chain after tampering would no longer match the seal.
    """

    service: str = Field(min_length=1, max_length=40)
    """The service whose log is sealed (pledges, reviews or scoring)."""
    up_to_position: int = Field(ge=0)
    """The last log position covered (the service's own event store position)."""
    streams: int = Field(ge=0)
    """How many streams the seal covers (the seal's own stream excluded)."""
    events: int = Field(ge=0)
    """How many events the seal covers: the sum of the covered streams' last sequences."""
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    """SHA-256 over each stream's name, last sequence and last hash, in stream order: 64
    lowercase hex digits."""


@event_type("OperatorCommandRun", 1, term="运维操作记录")
class OperatorCommandRun(Event):
    """An operator's command that changed or read out the service's data, and who ran it.

    Recorded by seal, republish, rebuild and export: who, from where, what. Published like
    every event, so the record also lives outside the database the operator could reach."""

    service: str = Field(min_length=1, max_length=40)
    """The service whose data the command acted on (pledges, reviews or scoring)."""
    operator: str = Field(min_length=1, max_length=120)
    """Who ran it: the token's person as "name (person id)", or in the embedded profile the
    local account as "account (local account)"."""
    verified: bool = Field(
        description="true when the operator proved who they are with a token (operator or "
        "org_admin role); false for a local account name in the embedded profile"
    )
    command: str = Field(min_length=1, max_length=40)
    """The command run: seal, republish, rebuild or export."""
    detail: str = Field(default="", max_length=500)
    """The command's particulars in words (e.g. the position a republish started from, or
    where an export was written); empty when none."""
    host: str = Field(min_length=1, max_length=120)
    """The name of the machine the command ran on."""
