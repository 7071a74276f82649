"""Tables of the event-sourcing kernel, present in every service's database."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

# SQLite only aliases ROWID (and so auto-increments) for a column typed exactly INTEGER.
Position = BigInteger().with_variant(Integer(), "sqlite")

kernel_metadata = MetaData()

streams = Table(
    "es_streams",
    kernel_metadata,
    Column("stream", String(160), primary_key=True),
    Column("version", Integer, nullable=False),
    # Fixed at the stream's first event so a stream never spans partitions, even when the
    # org of later events changes (a member who transfers keeps their stream's key).
    Column("partition_key", String(64), nullable=False),
    # Hash of the stream's latest event: the head of its tamper-evident chain.
    Column("head_hash", String(64), nullable=False),
)

events = Table(
    "es_events",
    kernel_metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("stream", String(160), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("type", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor_ref", String(64), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("unit_id", String(64)),
    Column("branch_id", String(64)),
    Column("year", Integer),
    Column("correlation_id", Uuid, nullable=False),
    Column("causation_id", Uuid),
    Column("partition_key", String(64), nullable=False),
    Column("data", Text, nullable=False),
    # Tamper evidence: sha256(prev_hash + canonical JSON of this event), chained per stream.
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # The Kafka value, encoded once at append time: exactly the canonical JSON that ``hash``
    # covers (sha256(prev_hash + wire) == hash), so the relay publishes it without encoding.
    # NULL for private events (never published) and for rows stored before the column
    # existed; the relay encodes those from the columns above.
    Column("wire", LargeBinary),
    UniqueConstraint("stream", "sequence", name="uq_es_events_stream_sequence"),
)

EVENT_COLUMNS = [column for column in events.c if column.name != "wire"]
"""Every es_events column but ``wire``: what readers of stored events need (the wire bytes
are for the relay and for verification)."""

# The gap-safe outbox: a row per stored-but-unpublished event, written in the appending
# transaction and deleted once the broker acknowledged it. A transaction that commits late
# simply shows up late here; nothing depends on positions being committed in order.
outbox = Table(
    "es_outbox",
    kernel_metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
)

relay_state = Table(
    "es_relay",
    kernel_metadata,
    Column("topic", String(200), primary_key=True),
    # The broker's id of the topic last published to: a different id means the topic was
    # recreated (the embedded broker restarted, or Kafka lost it) and everything is resent.
    Column("topic_id", String(64)),
    Column("owner", String(120)),
    Column("lease_until", DateTime(timezone=True)),
    Column("published_total", BigInteger, nullable=False, default=0),
)

# Read side: where each consumer is, stored in the same transaction as its projection rows.
consumer_offsets = Table(
    "cp_offsets",
    kernel_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("topic", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
    Column("topic_id", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

consumer_streams = Table(
    "cp_streams",
    kernel_metadata,
    Column("consumer", String(120), primary_key=True),
    Column("stream", String(160), primary_key=True),
    Column("last_sequence", Integer, nullable=False),
)

dead_letters = Table(
    "cp_dead_letters",
    kernel_metadata,
    Column("id", Position, primary_key=True, autoincrement=True),
    Column("consumer", String(120), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_cp_dead_letters_consumer", "consumer"),
)

# Read models that are rebuilt blue/green (shared/readmodel): one row per slot. Exactly one
# slot of a read model is ``active``; reads and the live consumer follow it, and a rebuild
# switches it in one transaction.
read_model_slots = Table(
    "rm_slots",
    kernel_metadata,
    Column("read_model", String(80), primary_key=True),
    Column("slot", String(16), primary_key=True),
    # building | ready | active | retired
    Column("state", String(16), nullable=False),
    # The projection version (code) that built the slot, e.g. "v1".
    Column("version", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("switched_at", DateTime(timezone=True)),
    Column("note", Text),
)
