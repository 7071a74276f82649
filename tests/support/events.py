"""Event models used only by the kernel's tests (registered in a private registry)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.contracts import Actor, Event, EventRegistry, Org, event_type
from shared.eventstore import Metadata

TEST_REGISTRY = EventRegistry()


@event_type("CounterIncremented", 1, registry=TEST_REGISTRY)
class CounterIncrementedV1(Event):
    amount: int


@event_type("CounterIncremented", 2, registry=TEST_REGISTRY)
class CounterIncremented(Event):
    amount: int
    note: str


@TEST_REGISTRY.upcaster("CounterIncremented", from_version=1)
def _counter_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    return {**data, "note": ""}


@event_type("CounterReset", 1, registry=TEST_REGISTRY)
class CounterReset(Event):
    reason: str


@event_type("SecretNoted", 1, registry=TEST_REGISTRY)
class SecretNoted(Event):
    """A private event: stored and chained, never put in the outbox."""

    private = True
    text: str


def meta(branch: str = "b1", actor: str = "p1") -> Metadata:
    return Metadata(
        actor=Actor(ref=actor, role="member"),
        org=Org(unit="u1", branch=branch),
        occurred_at=datetime.now(UTC),
        correlation_id=uuid.uuid4(),
        year=2026,
    )
