"""Tables of the reviews service besides the event store.

Kept apart on purpose:

- the roster (``rv_units`` .. ``rv_pledges``), learned from the pledges topic by the
  checkpointed consumer: eligibility is decided from these tables only, never by calling the
  pledges service; likewise the review policy per year (``rv_policies``) from scoring;
- the period keys (``rv_period_keys``): one random key per period, written when the period
  opens. It is what makes a pseudonym opaque, so it never leaves this database: not in an
  event, not in a response, not in a log. Once the period's results are final (closed for
  ``SUXING_REVIEW_KEY_RETENTION_DAYS``) the row is deleted: from then on nobody, the service
  and a database administrator included, can tell whose ballot a pseudonym stands for;
- the receipts (``rv_receipts``): a hash of each counted ballot's receipt code, with no
  pseudonym beside it, so a reviewer can confirm that their ballot was counted without
  anyone being able to tell which ballot it was;
- the service's own read tables (periods, ballot sheets, ballot lines), written in the same
  transaction as the events that change them, so an answer and the next query agree;
- ``rv_turnout_counts``: turnout per (period, role, branch) as counts, kept by the writes
  that move it (ballots, the roster, periods opening) so a scope's turnout is a sum;
- ``rv_cache_tokens``: which version of the roster a command's in-memory cache may hold;
- ``rv_idempotency_keys``: the first answer to a request sent with an ``Idempotency-Key``
  (opening a period), so a retry gets it again and records nothing (``shared.idempotency``).

``rv_ballot_lines`` holds the rule "one ballot per reviewer x member x period" as a unique
constraint: even a bug that slipped past the stream's expected version could not count a
reviewer twice. No table links a person's id to a score; ballots are keyed by pseudonym.
Everything except the keys can be rebuilt from the event log.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from shared.idempotency import idempotency_columns

metadata = MetaData()

_REF = 64
_PSEUDONYM = 64

# Roster, from the pledges topic.

units = Table(
    "rv_units",
    metadata,
    Column("unit_id", String(_REF), primary_key=True),
    Column("name", String(200), nullable=False),
)

branches = Table(
    "rv_branches",
    metadata,
    Column("branch_id", String(_REF), primary_key=True),
    Column("unit_id", String(_REF), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)

people = Table(
    "rv_people",
    metadata,
    Column("person_id", String(_REF), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("branch_id", String(_REF), nullable=False, index=True),
    Column("membership", String(32), nullable=False),
    # The branch whose committee the person sits on; they count as committee only while it
    # is their own branch (a transfer does not carry a seat along).
    Column("committee_branch_id", String(_REF)),
    Column("departed", Boolean, nullable=False, default=False),
)

pledges = Table(
    "rv_pledges",
    metadata,
    # What pairing needs to know of a pledge: its member, year, paired employee once the
    # agreement is signed, and whether it was withdrawn.
    Column("pledge_id", String(_REF), primary_key=True),
    Column("member_id", String(_REF), nullable=False),
    Column("year", Integer),
    Column("paired_employee_id", String(_REF)),
    Column("withdrawn", Boolean, nullable=False, default=False),
    Index("ix_rv_pledges_employee_year", "paired_employee_id", "year"),
)

period_moves = Table(
    "rv_period_moves",
    metadata,
    # A party member who moved to another branch while a period was open: the branch they
    # belonged to when it opened, which reviews them for that period (DOMAIN.md section 5).
    # Written from PersonTransferred for every period open at the transfer's time (by the
    # event's time, not the consumer's, so a replay writes the same rows); a later move in
    # the same period keeps the first row. Members who did not move are reviewed by the
    # branch they are in.
    Column("period_id", String(_REF), primary_key=True),
    Column("person_id", String(_REF), primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
)

exemptions = Table(
    "rv_exemptions",
    metadata,
    # Members exempted from a year's review (免于评议): nobody rates them that year.
    Column("person_id", String(_REF), primary_key=True),
    Column("year", Integer, primary_key=True),
)

# Period keys: never published.

period_keys = Table(
    "rv_period_keys",
    metadata,
    Column("period_id", String(_REF), primary_key=True),
    Column("key", LargeBinary(64), nullable=False),
)

# The service's own read tables.

periods = Table(
    "rv_periods",
    metadata,
    Column("period_id", String(_REF), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("period", String(4), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scope_level", String(16), nullable=False),
    Column("unit_id", String(_REF)),
    Column("branch_id", String(_REF)),
    Column("deadline", DateTime(timezone=True)),
    # The window of days (Beijing) ballots are accepted on; null in rows of periods opened
    # before windows were recorded, which read as the period's default window.
    Column("opens_on", Date),
    Column("closes_on", Date),
    Column("closed", Boolean, nullable=False, default=False),
    Column("closing_reason", String(32)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    # When the period's key was destroyed (see rv_period_keys); null while it exists.
    Column("key_destroyed_at", DateTime(timezone=True)),
    # Whether rv_turnout_counts holds the period's counts: set when it opens, or when they
    # are recounted (periods opened before the counts were kept are false until then).
    Column("turnout_counted", Boolean, nullable=False, server_default=false()),
    Index("ix_rv_periods_slot", "kind", "period", "year"),
)

receipts = Table(
    "rv_receipts",
    metadata,
    # SHA-256 of a counted ballot's receipt code. No pseudonym, no time: the table is the set
    # of a period's receipts, rewritten in hash order when the key is destroyed.
    Column("period_id", String(_REF), primary_key=True),
    Column("receipt_hash", String(64), primary_key=True),
)

tallies = Table(
    "rv_tallies",
    metadata,
    # The MemberReviewed event of each member of a closed period, as recorded: what every
    # read of results answers from, so no read can see a figure the event does not give.
    Column("period_id", String(_REF), primary_key=True),
    Column("member_id", String(_REF), primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("year", Integer, nullable=False),
    Column("tally", Text, nullable=False),
    Index("ix_rv_tallies_member_year", "member_id", "year"),
    Index("ix_rv_tallies_branch", "branch_id", "period_id"),
)

ballot_sheets = Table(
    "rv_ballot_sheets",
    metadata,
    # One row per counted ballot: who voted is known only as a pseudonym (turnout).
    Column("period_id", String(_REF), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("pseudonym", String(_PSEUDONYM), primary_key=True),
    Column("branch_id", String(_REF), nullable=False),
    Column("amendments", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

turnout_counts = Table(
    "rv_turnout_counts",
    metadata,
    # Turnout per period, role and reviewer's branch, written with the ballots and the roster
    # changes that move it (services/reviews/projections/turnout_counts.py): the eligible
    # reviewers, those of them who voted (while the period's key exists) and the ballot
    # sheets. Counts only: no pseudonym, no score, nothing finer than the per-branch turnout.
    Column("period_id", String(_REF), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("branch_id", String(_REF), primary_key=True),
    Column("eligible", Integer, nullable=False),
    Column("voted", Integer, nullable=False),
    Column("ballots", Integer, nullable=False),
)

ballot_lines = Table(
    "rv_ballot_lines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("period_id", String(_REF), nullable=False),
    Column("role", String(16), nullable=False),
    Column("pseudonym", String(_PSEUDONYM), nullable=False),
    Column("member_id", String(_REF), nullable=False),
    Column("branch_id", String(_REF), nullable=False),
    Column("score", Numeric(5, 2), nullable=False),
    Column("comment", Text),
    UniqueConstraint(
        "period_id", "role", "pseudonym", "member_id", name="uq_rv_one_ballot_per_member"
    ),
    Index("ix_rv_ballot_lines_member", "member_id", "period_id"),
)

# The scoring policy's review rules per year, from the scoring topic.

policies = Table(
    "rv_policies",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("policy_id", String(_REF), nullable=False),
    Column("probationary_members_vote", Boolean, nullable=False),
    Column("min_peer", Integer, nullable=False),
    Column("min_mass", Integer, nullable=False),
    Column("min_branch", Integer, nullable=False),
    # The whole policy as adopted (tallies apply its mass share and satisfaction threshold);
    # null in rows written before it was kept, which read as the seed's values.
    Column("policy", Text),
)

# What a command may keep in memory between requests, and until when.

cache_tokens = Table(
    "rv_cache_tokens",
    metadata,
    # One row per kind of reference data a command caches ("roster": the roster tables and
    # the policies, which the consumer writes). The consumer writes a fresh random token in
    # the transaction that changes them; a command reads the token in its own first
    # statement and drops what it cached under another one (services/reviews/handlers/cache.py).
    # Random rather than a counter, so a deleted row or a restored backup never brings an old
    # value back.
    Column("name", String(32), primary_key=True),
    Column("token", String(32), nullable=False),
)

idempotency_keys = Table("rv_idempotency_keys", metadata, *idempotency_columns(_REF))


ROSTER_TABLES = (units, branches, people, pledges, period_moves, exemptions, policies)
"""What the consumer projects (from the pledges and scoring topics): emptied and re-read from
offset 0 by ``suxing rebuild reviews --in-place``. Periods, ballots and keys are not in it."""
