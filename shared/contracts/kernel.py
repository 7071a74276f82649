"""Events the kernel itself writes into every service's log."""

from __future__ import annotations

from pydantic import Field

from shared.contracts.events import Event
from shared.contracts.registry import event_type


@event_type("LogSealed", 1)
class LogSealed(Event):
    """A digest over the heads of every stream of a service's log up to a position.

    Published on the service's topic, so subscribers hold a copy the service cannot rewrite:
    recomputing a whole stream's hash chain after tampering would no longer match the seal.
    """

    service: str = Field(min_length=1, max_length=40)
    up_to_position: int = Field(ge=0)
    streams: int = Field(ge=0)
    events: int = Field(ge=0)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")


@event_type("OperatorCommandRun", 1)
class OperatorCommandRun(Event):
    """An operator's command that changed or read out the service's data, and who ran it.

    Recorded by seal, republish, rebuild and export: who, from where, what. Published like
    every event, so the record also lives outside the database the operator could reach."""

    service: str = Field(min_length=1, max_length=40)
    operator: str = Field(min_length=1, max_length=120)
    verified: bool = Field(
        description="true when the operator proved who they are with a token (operator or "
        "org_admin role); false for a local account name in the embedded profile"
    )
    command: str = Field(min_length=1, max_length=40)
    detail: str = Field(default="", max_length=500)
    host: str = Field(min_length=1, max_length=120)
