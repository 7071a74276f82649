"""Projection tables of the scoring service (read models; none of it is the truth).

The tables live in a slot of the read model (``var/scoring.read-blue.db`` on SQLite, schema
``rm_scoring_blue`` on PostgreSQL), not in scoring's own database: ``suxing rebuild scoring``
builds the other slot from offset 0 while this one keeps serving, compares the two and
switches (shared/readmodel). The names keep their ``sc_{PROJECTION_VERSION}_`` prefix.
Rebuild and live run give identical rows because every key is derived from events (ids,
years, periods), every value comes from an event (no wall clock, no
auto-increment), and the derived tables (cards, branch statistics) are recomputed from the
fact tables, whose final state does not depend on how records were split into batches.

Decimals (scores) are stored as their canonical two-place strings ("87.50"): exact on both
databases and byte-identical after a rebuild.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
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

PROJECTION_VERSION = "v3"
"""v2: cards from per-period tallies (MemberReviewed) instead of individual ballots.
v3: roster-based cards (every member on the roster of a review year, docs/scoring.md) and
exemptions; people carry the date they were registered, statistics count roster members,
cards and exempt members apart."""
PREFIX = f"sc_{PROJECTION_VERSION}_"

metadata = MetaData()
"""What Alembic manages in scoring's own database: nothing beyond the kernel's tables."""

read_metadata = MetaData()
"""The read model: built in blue/green slots (shared/readmodel), rebuilt rather than migrated."""

_REF = 64
_SCORE = 8


def _name(table: str) -> str:
    return f"{PREFIX}{table}"


# Facts, as the events state them.

units = Table(
    _name("units"),
    read_metadata,
    Column("unit_id", String(_REF), primary_key=True),
    Column("name", String(200), nullable=False),
)

branches = Table(
    _name("branches"),
    read_metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("unit_id", String(_REF), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)

people = Table(
    _name("people"),
    read_metadata,
    Column("person_id", String(_REF), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("branch_id", String(_REF), nullable=False, index=True),
    Column("membership", String(32), nullable=False),
    Column("departed_on", Date),
    # The Beijing date of the PersonRegistered event (None: registered before v3 kept it).
    Column("registered_on", Date),
    # The branches the person left, in order: [[left on (ISO date), branch id], ...]. A
    # card belongs to the branch the member was in at the end of its year (``branch_at``).
    Column("moves", JSON, nullable=False, default=list),
)

areas = Table(
    _name("areas"),
    read_metadata,
    Column("person_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("area", String(32), nullable=False),
    # The branch the choice was recorded in (the event's envelope), for the statistics.
    Column("branch_id", String(_REF), nullable=False),
    Index(f"ix_{PREFIX}areas_branch_year", "branch_id", "year"),
)

pledges = Table(
    _name("pledges"),
    read_metadata,
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
    Column("paired_employee_id", String(_REF)),
    Column("agreement_signed_on", Date),
    Column("published_on", Date),
    Column("accepted_on", Date),
    Column("declared_at", DateTime(timezone=True), nullable=False),
    Index(f"ix_{PREFIX}pledges_branch_year", "branch_id", "year"),
)

ledger = Table(
    _name("ledger"),
    read_metadata,
    Column("pledge_id", String(_REF), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("assessment", String(16), nullable=False),
    Column("note", Text),
    Index(f"ix_{PREFIX}ledger_month", "month"),
)

needs = Table(
    _name("needs"),
    read_metadata,
    Column("need_id", String(_REF), primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("year", Integer, nullable=False),
    Column("area", String(32)),
    Column("solved_by", String(_REF)),
    Column("solved_on", Date),
    Index(f"ix_{PREFIX}needs_branch_year", "branch_id", "year"),
)

periods = Table(
    _name("periods"),
    read_metadata,
    # Review periods as the reviews topic announces them: which are open, and whom they cover.
    Column("period_id", String(_REF), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("period", String(2), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scope_level", String(16), nullable=False),
    Column("unit_id", String(_REF)),
    Column("branch_id", String(_REF)),
    Column("closed", Boolean, nullable=False),
    Index(f"ix_{PREFIX}periods_year", "year"),
)

tallies = Table(
    _name("tallies"),
    read_metadata,
    # One row per member and closed period (MemberReviewed): the figures the reviews service
    # gave, never a ballot. A card is computed from these and the open periods.
    Column("period_id", String(_REF), primary_key=True),
    Column("member_id", String(_REF), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("period", String(2), nullable=False),
    Column("branch_id", String(_REF), nullable=False),
    Column("status", String(32), nullable=False),
    Column("ballots", Integer, nullable=False),
    Column("result", String(_SCORE)),
    Column("paired_ballots", Integer),
    Column("all_staff_ballots", Integer),
    Column("satisfied", Integer),
    Index(f"ix_{PREFIX}tallies_member_year", "member_id", "year"),
    Index(f"ix_{PREFIX}tallies_branch_year", "branch_id", "year"),
)

past_members = Table(
    # Who left each branch (PersonTransferred): the branch's past years still count them,
    # so a review year that begins for the branch later still gives them their card there.
    _name("past_members"),
    read_metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("person_id", String(_REF), primary_key=True),
)

exemptions = Table(
    # The member-years an exemption was recorded for (MemberExempted); a revocation keeps the
    # row, revoked (the member-year stays one the facts name, so its card stays).
    _name("exemptions"),
    read_metadata,
    Column("member_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("reason_text", Text),
    Column("evidence", Text, nullable=False),
    Column("revoked", Boolean, nullable=False),
)

policies = Table(
    _name("policies"),
    read_metadata,
    Column("year", Integer, primary_key=True),
    Column("policy_id", String(_REF), nullable=False),
    Column("policy", JSON, nullable=False),
    Column("sequence", Integer, nullable=False),
)

# Derived: recomputed from the facts for what a batch touched.

cards = Table(
    _name("cards"),
    read_metadata,
    Column("member_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("branch_id", String(_REF)),
    Column("area", String(32)),
    Column("policy_id", String(_REF), nullable=False),
    Column("peer", String(_SCORE)),
    Column("mass", String(_SCORE)),
    Column("branch_review", String(_SCORE)),
    Column("composite", String(_SCORE)),
    Column("band", String(32)),
    Column("missing", JSON, nullable=False),
    # The exemption's reason code when the member is exempt for the year (免于评议).
    Column("exempt", String(32)),
    Column("exempt_text", Text),
    # The member was a party member on the roster of the card's branch during the year.
    Column("on_roster", Boolean, nullable=False),
    Column("pledges_total", Integer, nullable=False),
    Column("pledges_completed", Integer, nullable=False),
    Column("mass_satisfied", Integer, nullable=False),
    Column("mass_total", Integer, nullable=False),
    Column("result", Text, nullable=False),
    Index(f"ix_{PREFIX}cards_branch_year", "branch_id", "year"),
)

branch_stats = Table(
    _name("branch_stats"),
    read_metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
    # Party members on the roster during the year (their cards in this branch).
    Column("members", Integer, nullable=False),
    # Every card kept in the branch for the year (roster members, and anyone the facts name).
    Column("cards", Integer, nullable=False),
    # Exempt members (免于评议): counted apart, in no band, rate or "without composite".
    Column("exempt", Integer, nullable=False),
    Column("areas", Integer, nullable=False),
    Column("pairings", Integer, nullable=False),
    Column("pledges_signed", Integer, nullable=False),
    Column("pledges_completed", Integer, nullable=False),
    Column("needs_submitted", Integer, nullable=False),
    Column("needs_solved", Integer, nullable=False),
    Column("mass_satisfied", Integer, nullable=False),
    Column("mass_total", Integer, nullable=False),
    Column("band_unqualified", Integer, nullable=False),
    Column("band_yellow_card", Integer, nullable=False),
    Column("band_criticism", Integer, nullable=False),
    Column("band_no_awards", Integer, nullable=False),
    Column("band_good_standing", Integer, nullable=False),
    Column("without_composite", Integer, nullable=False),
)

# Bookkeeping of a rebuild: what a batch applied in catch-up mode left to derive.

pending = Table(
    _name("pending"),
    read_metadata,
    # kind: member (key = member id, year) | person (key = person id) | year (key = "")
    # | branch (key = branch id, year) | period (key = period id, year 0)
    # | bcards (key = branch id, year 0: every card of a branch registered anew)
    # | activity (key = branch id, year: a review year of the branch, its roster cards).
    # Empty whenever the slot serves or is compared.
    Column("kind", String(8), primary_key=True),
    Column("key", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True, autoincrement=False),
)

STAT_COUNTS = tuple(
    column.name for column in branch_stats.columns if column.name not in ("branch_id", "year")
)
"""The summable columns: a unit's or the company's statistics are their branches' sums."""
