"""Versioned event contracts: the envelope, the registry and the canonical encoding."""

from shared.contracts.encoding import canonical_json
from shared.contracts.envelope import Actor, Envelope, Org
from shared.contracts.events import Event
from shared.contracts.registry import (
    REGISTRY,
    EventRegistry,
    UnknownEventType,
    event_type,
)

__all__ = [
    "REGISTRY",
    "Actor",
    "Envelope",
    "Event",
    "EventRegistry",
    "Org",
    "UnknownEventType",
    "canonical_json",
    "event_type",
]

# Every service's events are registered whenever contracts are imported: a consumer must never
# dead-letter a valid event only because nothing happened to import its module.
from shared.contracts import kernel, pledges, reviews, scoring

__all__ += ["kernel", "pledges", "reviews", "scoring"]
