"""Turnout counts per (period, role, branch), kept as the ballots and the roster are written
(``rv_turnout_counts``), so that the turnout of a scope sums a few small rows instead of
matching every eligible reviewer's pseudonym against the ballot sheets on the first read.

A row holds, for one period, role and branch (the reviewer's branch on the roster):

- ``eligible``: the people of that branch on the roster who may review in that role by the
  domain's rules (``is_eligible_reviewer``), as ``handlers/turnout`` and ``reports`` count;
- ``voted``: of them, those whose ballot pseudonym has a ballot sheet in that branch;
- ``ballots``: the ballot sheets of the branch (what turnout counts once the period's key is
  destroyed and nobody can be matched to a ballot any more).

Each figure is the sum over people of what they contribute (``_contribution``), so every
write adds the difference it makes, in the transaction that makes it:

- a period opening counts its eligible reviewers (nobody has voted yet: no pseudonym);
- a first ballot (``BallotCast``) adds 1 voted and 1 ballot to its role and branch: the
  decision has just found the voter eligible in that branch. An amendment changes nothing.
  This is the one statement the ballot path gains (an upsert);
- a roster change (joining, leaving, transfer, membership, committee seat, pairing, a branch
  registered or moved to another unit) takes each person it touches before and after and
  adds the difference to the periods covering their old and new branch. Whether that person
  voted needs their pseudonym of each such period, hence one HMAC per person, period and
  role, and one lookup of those pseudonyms in the ballot sheets;
- a policy that changes whether probationary members vote recounts that year (``recount``).

A period's key being destroyed changes nothing stored: from then on reads take ``ballots``
for ``voted`` (the voted column is no longer kept for it: no pseudonym can be computed).
``recount`` derives every row again from the roster, the ballot sheets and the keys, as the
full recomputation does; ``suxing rebuild reviews --in-place`` runs it after replaying the
roster, and periods opened before the table existed (``rv_periods.turnout_counted`` false)
are read by the full recomputation until it has run.

Concurrency: on PostgreSQL a period opening, a roster batch, a policy and a recount take one
transaction lock (``serialize``) before they read the roster, so none misses what another
has not committed yet. A transaction that takes it takes it before it writes any row that
another holder writes (the roster token): the other order deadlocks. A first ballot does not
take it (that would be another statement on every ballot): a ballot cast by someone in the
same instant as the consumer records that very person leaving or moving (the ballot decided
on the roster as it was) can leave them counted as voted where the recomputation would not;
a recount repairs it. SQLite writers are serial.

Rows are keyed by the branch as the roster has it, known or not; reads keep the branches the
roster knows in the scope that the period covers. Nothing here reads a score: the counts are
turnout, which the per-branch turnout already shows per role (docs/privacy.md).
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.domain import (
    ReviewPeriodState,
    RosterEntry,
    ballot_pseudonym,
    is_eligible_reviewer,
    not_yet_voted,
)
from services.reviews.domain.tally import ROLES_OF_KIND
from services.reviews.policy import DEFAULT_POLICY
from services.reviews.projections import queries
from shared.contracts.reviews import BallotRole, ReviewScope, ScopeLevel

_CHUNK = 500
_COMPANY = ReviewScope(level=ScopeLevel.COMPANY, unit_id=None, branch_id=None)

Counts = dict[tuple[str, str, str], list[int]]
"""(period id, role, branch id) -> [eligible, voted, ballots]."""


# Writing: what one transaction adds.


@functools.lru_cache(maxsize=4)
def _add_statement(dialect: str) -> Any:
    builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = builder(t.turnout_counts)
    c = t.turnout_counts.c
    return stmt.on_conflict_do_update(
        index_elements=[c.period_id, c.role, c.branch_id],
        set_={
            "eligible": c.eligible + stmt.excluded.eligible,
            "voted": c.voted + stmt.excluded.voted,
            "ballots": c.ballots + stmt.excluded.ballots,
        },
    )


async def _add(session: AsyncSession, counts: Counts) -> None:
    rows = [
        {"period_id": p, "role": r, "branch_id": b, "eligible": e, "voted": v, "ballots": n}
        for (p, r, b), (e, v, n) in sorted(counts.items())
        if e or v or n
    ]
    if rows:
        statement = _add_statement(session.get_bind().dialect.name)
        for start in range(0, len(rows), _CHUNK):
            await session.execute(statement, rows[start : start + _CHUNK])


async def ballot_cast(session: AsyncSession, period_id: str, role: BallotRole, branch: str) -> None:
    """A first ballot in ``role``: its voter, just found eligible in ``branch``, has voted."""
    await _add(session, {(period_id, role.value, branch): [0, 1, 1]})


_LOCK = int.from_bytes(
    hashlib.sha256(b"suxing/reviews/turnout-counts").digest()[:8], "big", signed=True
)


async def serialize(session: AsyncSession) -> None:
    """On PostgreSQL, a transaction lock taken by whatever counts from the roster (a period
    opening, a roster batch, a recount) before it reads it: otherwise a roster batch and a
    period opening at the same moment would each miss what the other has not committed yet.
    SQLite writers are serial already."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK})


async def period_opened(session: AsyncSession, state: ReviewPeriodState) -> None:
    """The eligible reviewers of a period just opened, per role and branch; nobody voted."""
    await serialize(session)
    people = await queries.scope_people(session, state.scope)
    pairings = await queries.scope_pairings(session, state.scope, year=state.year)
    vote = (await queries.policy(session, state.year)).probationary_members_vote
    counts: Counts = {}
    for role in ROLES_OF_KIND[state.kind]:
        for person in people:
            if is_eligible_reviewer(
                person,
                role=role,
                period=state,
                paired_members=pairings.get(person.person_id, frozenset()),
                probationary_members_vote=vote,
            ):
                counts.setdefault((state.period_id, role.value, person.branch_id), [0, 0, 0])[
                    0
                ] += 1
    await _add(session, counts)
    await session.execute(
        update(t.periods)
        .where(t.periods.c.period_id == state.period_id)
        .values(turnout_counted=True)
    )


# The roster: a person before and after a change.


@dataclass(frozen=True)
class People:
    """What a batch of roster changes touches of some people: their entries (absent: not on
    the roster), the members each is paired with per year, and the years' voting rule."""

    entries: Mapping[str, RosterEntry]
    paired: Mapping[tuple[str, int], frozenset[str]]


async def people(session: AsyncSession, person_ids: Iterable[str]) -> People:
    wanted = sorted(set(person_ids))
    entries = await queries.roster_entries(session, wanted)
    found: dict[tuple[str, int], set[str]] = defaultdict(set)
    p = t.pledges.c
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            select(p.paired_employee_id, p.year, p.member_id).where(
                p.paired_employee_id.in_(wanted[start : start + _CHUNK]),
                p.year.is_not(None),
                p.withdrawn.is_(False),
            )
        )
        for employee, year, member in rows:
            found[(employee, year)].add(member)
    return People(entries, {k: frozenset(v) for k, v in found.items()})


async def people_of_branches(session: AsyncSession, branch_ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(branch_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found.update(
            await session.scalars(
                select(t.people.c.person_id).where(
                    t.people.c.branch_id.in_(wanted[start : start + _CHUNK])
                )
            )
        )
    return found


@dataclass(frozen=True)
class _Period:
    state: ReviewPeriodState
    key: bytes | None


async def _covering(session: AsyncSession, units: set[str], branches: set[str]) -> list[_Period]:
    """The counted periods whose scope covers any of ``branches`` (of ``units``)."""
    columns = select(t.periods, t.period_keys.c.key.label("period_key")).select_from(
        t.periods.outerjoin(t.period_keys, t.period_keys.c.period_id == t.periods.c.period_id)
    )
    counted = t.periods.c.turnout_counted.is_(True)
    level = t.periods.c.scope_level
    found = list(
        (
            await session.execute(
                columns.where(
                    counted,
                    or_(
                        level == ScopeLevel.COMPANY.value,
                        (level == ScopeLevel.UNIT.value) & t.periods.c.unit_id.in_(sorted(units)),
                    ),
                )
            )
        ).mappings()
    )
    wanted = sorted(branches)
    for start in range(0, len(wanted), _CHUNK):
        found.extend(
            (
                await session.execute(
                    columns.where(
                        counted,
                        level == ScopeLevel.BRANCH.value,
                        t.periods.c.branch_id.in_(wanted[start : start + _CHUNK]),
                    )
                )
            ).mappings()
        )
    return [_Period(queries.period_from_row(row), row["period_key"]) for row in found]


async def _votes(session: AsyncSession) -> dict[int, bool]:
    rows = await session.execute(select(t.policies.c.year))
    return {
        year: (await queries.policy(session, year)).probationary_members_vote for (year,) in rows
    }


async def roster_changed(session: AsyncSession, before: People, after: People) -> None:
    """Add what the people of ``before`` and ``after`` (the same ids, read before and after
    the change) contribute now less what they contributed, to every counted period that
    covers their old or new branch."""
    ids = sorted(set(before.entries) | set(after.entries))
    units: set[str] = set()
    branches: set[str] = set()
    for entries in (before.entries, after.entries):
        for entry in entries.values():
            units.add(entry.unit_id)
            branches.add(entry.branch_id)
    if not ids:
        return
    periods = await _covering(session, units, branches)
    if not periods:
        return
    votes = await _votes(session)
    default_vote = DEFAULT_POLICY.probationary_members_vote
    company = [p for p in periods if p.state.scope.level is ScopeLevel.COMPANY]
    by_unit: dict[str | None, list[_Period]] = defaultdict(list)
    by_branch: dict[str | None, list[_Period]] = defaultdict(list)
    for p in periods:
        if p.state.scope.level is ScopeLevel.UNIT:
            by_unit[p.state.scope.unit_id].append(p)
        elif p.state.scope.level is ScopeLevel.BRANCH:
            by_branch[p.state.scope.branch_id].append(p)

    def eligible(people: People, person_id: str, period: _Period, role: BallotRole) -> str | None:
        """The branch the person counts in as an eligible reviewer; None if not eligible."""
        entry = people.entries.get(person_id)
        if entry is None:
            return None
        state = period.state
        ok = is_eligible_reviewer(
            entry,
            role=role,
            period=state,
            paired_members=people.paired.get((person_id, state.year), frozenset()),
            probationary_members_vote=votes.get(state.year, default_vote),
        )
        return entry.branch_id if ok else None

    # (period, role, person) -> (branch before, branch after), where they differ.
    changes: dict[tuple[str, BallotRole, str], tuple[str | None, str | None]] = {}
    by_id = {p.state.period_id: p for p in periods}
    for person_id in ids:
        seen: dict[str, _Period] = {}
        for known in (before.entries.get(person_id), after.entries.get(person_id)):
            if known is None:
                continue
            for p in (*company, *by_unit.get(known.unit_id, ()), *by_branch[known.branch_id]):
                seen[p.state.period_id] = p
        for period_id, p in seen.items():
            for role in ROLES_OF_KIND[p.state.kind]:
                was = eligible(before, person_id, p, role)
                now = eligible(after, person_id, p, role)
                if was != now:
                    changes[(period_id, role, person_id)] = (was, now)
    if not changes:
        return
    # Where each changed person's ballot sheet is, in the periods that still have a key.
    wanted: dict[tuple[str, str, str], str] = {}
    for period_id, role, person_id in changes:
        key = by_id[period_id].key
        if key is not None:
            pseudonym = ballot_pseudonym(key, period_id, person_id, role)
            wanted[(period_id, role.value, pseudonym)] = person_id
    sheet_branch: dict[tuple[str, str, str], str] = {}
    s = t.ballot_sheets.c
    by_sheet: dict[tuple[str, str], list[str]] = defaultdict(list)
    for period_id, role_value, pseudonym in sorted(wanted):
        by_sheet[(period_id, role_value)].append(pseudonym)
    # Per period and role, so each lookup walks the primary key (a row-value IN over all
    # three columns is not an index lookup on PostgreSQL).
    for (period_id, role_value), pseudonyms in by_sheet.items():
        for start in range(0, len(pseudonyms), _CHUNK):
            rows = await session.execute(
                select(s.pseudonym, s.branch_id).where(
                    s.period_id == period_id,
                    s.role == role_value,
                    s.pseudonym.in_(pseudonyms[start : start + _CHUNK]),
                )
            )
            for pseudonym, branch in rows:
                person_id = wanted[(period_id, role_value, pseudonym)]
                sheet_branch[(period_id, role_value, person_id)] = branch
    counts: Counts = {}
    for (period_id, role, person_id), (was, now) in changes.items():
        voted_in = sheet_branch.get((period_id, role.value, person_id))
        for branch, sign in ((was, -1), (now, 1)):
            if branch is not None:
                row = counts.setdefault((period_id, role.value, branch), [0, 0, 0])
                row[0] += sign
                if voted_in == branch:
                    row[1] += sign
    await _add(session, counts)


# Deriving everything again.


async def derive(
    session: AsyncSession, states: Sequence[ReviewPeriodState]
) -> tuple[Counts, set[str]]:
    """The counts of ``states`` from the roster, the ballot sheets and the keys, as the full
    recomputation counts them; and the periods that have a key. Voted is 0 for a period
    without a key (it reads ``ballots``)."""
    counts: Counts = {}
    matched: set[str] = set()
    by_year: dict[int, list[ReviewPeriodState]] = defaultdict(list)
    for state in states:
        by_year[state.year].append(state)
    everyone = await queries.scope_people(session, _COMPANY)
    people: dict[str, list[RosterEntry]] = defaultdict(list)
    for person in everyone:
        people[person.branch_id].append(person)
    s = t.ballot_sheets.c
    for year, year_states in sorted(by_year.items()):
        ids = [state.period_id for state in year_states]
        pairings = await queries.scope_pairings(session, _COMPANY, year=year)
        keys = await queries.year_keys(session, year)
        voted = await queries.year_voted_pseudonyms(session, _COMPANY, year=year)
        vote = (await queries.policy(session, year)).probationary_members_vote
        for start in range(0, len(ids), _CHUNK):
            rows = await session.execute(
                select(s.period_id, s.role, s.branch_id, func.count())
                .where(s.period_id.in_(ids[start : start + _CHUNK]))
                .group_by(s.period_id, s.role, s.branch_id)
            )
            for period_id, role, branch, n in rows:
                counts.setdefault((period_id, role, branch), [0, 0, 0])[2] = n
        for state in year_states:
            key = keys.get(state.period_id)
            if key is not None:
                matched.add(state.period_id)
            for role in ROLES_OF_KIND[state.kind]:
                for branch, members in people.items():
                    reviewers = [
                        person.person_id
                        for person in members
                        if is_eligible_reviewer(
                            person,
                            role=role,
                            period=state,
                            paired_members=pairings.get(person.person_id, frozenset()),
                            probationary_members_vote=vote,
                        )
                    ]
                    if not reviewers:
                        continue
                    row = counts.setdefault((state.period_id, role.value, branch), [0, 0, 0])
                    row[0] = len(reviewers)
                    pseudonyms = voted.get((state.period_id, role, branch))
                    if key is not None and pseudonyms:
                        missing = not_yet_voted(
                            key,
                            state.period_id,
                            role,
                            eligible_reviewer_ids=reviewers,
                            voted_pseudonyms=pseudonyms,
                        )
                        row[1] = len(reviewers) - len(missing)
    return {k: v for k, v in counts.items() if any(v)}, matched


async def recount(session: AsyncSession, *, years: Iterable[int] | None = None) -> int:
    """Derive the counts of every period (of ``years``) again and store them; the periods
    recounted. For a rebuilt roster, a changed voting rule, or periods opened before the
    counts were kept."""
    await serialize(session)
    wanted = None if years is None else set(years)
    states = [s for s in await queries.periods(session) if wanted is None or s.year in wanted]
    if not states:
        return 0
    counts, _ = await derive(session, states)
    ids = [state.period_id for state in states]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        await session.execute(
            delete(t.turnout_counts).where(t.turnout_counts.c.period_id.in_(chunk))
        )
        await session.execute(
            update(t.periods).where(t.periods.c.period_id.in_(chunk)).values(turnout_counted=True)
        )
    rows = [
        {"period_id": p, "role": r, "branch_id": b, "eligible": e, "voted": v, "ballots": n}
        for (p, r, b), (e, v, n) in sorted(counts.items())
    ]
    for start in range(0, len(rows), _CHUNK):
        await session.execute(insert(t.turnout_counts), rows[start : start + _CHUNK])
    return len(states)


async def stored(session: AsyncSession, period_ids: Sequence[str]) -> Counts:
    """The stored rows of ``period_ids`` with any figure (for tests and checks)."""
    c = t.turnout_counts.c
    found: Counts = {}
    for start in range(0, len(period_ids), _CHUNK):
        rows = await session.execute(
            select(c.period_id, c.role, c.branch_id, c.eligible, c.voted, c.ballots).where(
                c.period_id.in_(period_ids[start : start + _CHUNK])
            )
        )
        for p, r, b, e, v, n in rows:
            if e or v or n:
                found[(p, r, b)] = [e, v, n]
    return found
