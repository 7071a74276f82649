"""Tables of the pledges service besides the event store: the write side's own query tables
(kept in step with the events in the same transaction) and the idempotency keys.

Every table here can be dropped and rebuilt from ``es_events``; none of it is the truth.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

_REF = 64

units = Table(
    "pl_units",
    metadata,
    Column("unit_id", String(_REF), primary_key=True),
    Column("name", String(200), nullable=False),
)

branches = Table(
    "pl_branches",
    metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("unit_id", String(_REF), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)

people = Table(
    "pl_people",
    metadata,
    Column("person_id", String(_REF), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("branch_id", String(_REF), nullable=False, index=True),
    Column("membership", String(32), nullable=False),
    Column("post", String(64)),
    Column("committee_position", String(32)),
    Column("departed_on", Date),
)

member_areas = Table(
    "pl_member_areas",
    metadata,
    Column("person_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("area", String(32), nullable=False),
    Column("locked_by", String(_REF)),
)

plans = Table(
    "pl_plans",
    metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("title", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("meeting_date", Date, nullable=False),
)

needs = Table(
    "pl_needs",
    metadata,
    Column("need_id", String(_REF), primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("year", Integer, nullable=False),
    Column("employee_id", String(_REF), nullable=False),
    Column("problem", Text, nullable=False),
    Column("suggested_area", String(32)),
    Column("area", String(32)),
    Column("solved_by", String(_REF)),
    Column("solved_on", Date),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Index("ix_pl_needs_branch_year", "branch_id", "year"),
)

need_pledges = Table(
    "pl_need_pledges",
    metadata,
    Column("need_id", String(_REF), primary_key=True),
    Column("pledge_id", String(_REF), primary_key=True, index=True),
)

pledges = Table(
    "pl_pledges",
    metadata,
    Column("pledge_id", String(_REF), primary_key=True),
    Column("member_id", String(_REF), nullable=False, index=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("year", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("area", String(32), nullable=False),
    Column("item", String(200), nullable=False),
    Column("content", Text, nullable=False),
    Column("quantity", String(200), nullable=False),
    Column("quality_standard", Text, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("need_ids", JSON, nullable=False),
    Column("paired_employee_id", String(_REF)),
    Column("revision_reasons", JSON),
    Column("agreement", JSON),
    Column("channels", JSON),
    Column("published_on", Date),
    Column("acceptance_summary", Text),
    Column("acceptance_requested_on", Date),
    Column("return_reasons", JSON),
    Column("accepted_on", Date),
    Column("acceptance_comment", Text),
    Column("withdrawal_reason", Text),
    # Carry-over (结转): the next year's pledge that continues this one, and why; on that
    # one, the pledge it continues.
    Column("carried_to", String(_REF)),
    Column("carry_reason", Text),
    Column("carried_from", String(_REF)),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Index("ix_pl_pledges_branch_year", "branch_id", "year"),
)

ledger = Table(
    "pl_ledger",
    metadata,
    Column("pledge_id", String(_REF), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("assessment", String(16), nullable=False),
    Column("note", Text),
    Column("correction_reason", Text),
    # Why an entry was recorded after its month's time (补记); null when on time.
    Column("late_reason", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(_REF), nullable=False),
)

idempotency_keys = Table(
    "pl_idempotency_keys",
    metadata,
    # A key is the client's: two people may happen to pick the same one.
    Column("principal", String(_REF), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
