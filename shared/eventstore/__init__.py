"""The event-sourcing kernel: store, outbox relay, tables."""

from shared.eventstore.store import EventStore, Metadata, StoredEvent, envelope_from_row
from shared.eventstore.tables import kernel_metadata

__all__ = ["EventStore", "Metadata", "StoredEvent", "envelope_from_row", "kernel_metadata"]
