"""The roster as the reviews service knows it, applied from the pledges topic.

``apply`` is the checkpointed consumer's projection: it runs per batch in the consumer's
transaction (which also stores the offsets and each stream's last sequence, so a redelivered
event never reaches it twice). Batch style: read the rows the batch touches once, fold the
events over them in memory, write each changed row once. A batch that changes the roster
renews the roster token, so commands drop the roster entries they cached, and adds what it
changes of turnout to the stored counts (``turnout_counts.roster_changed``): the people it
touches are read before and after it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.projections import subjects, tokens, turnout_counts
from shared.contracts.pledges import (
    BranchRegistered,
    BranchRenamed,
    CommitteeMemberAppointed,
    CommitteeMemberRemoved,
    MemberExempted,
    MemberExemptionRevoked,
    PairingAgreementSigned,
    PersonDeparted,
    PersonRegistered,
    PersonTransferred,
    PersonUpdated,
    PledgeCarriedIn,
    PledgeDeclared,
    PledgeWithdrawn,
    UnitRegistered,
    UnitRenamed,
)
from shared.eventstore import StoredEvent
from shared.messaging.consumer import upsert

_CHUNK = 500


@dataclass
class _Rows:
    """The rows of one table a batch touches, by primary key, loaded once and written once."""

    table: Table
    key: str
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)

    async def load(self, session: AsyncSession, keys: Iterable[str]) -> None:
        wanted = sorted(set(keys) - self.rows.keys())
        column = self.table.c[self.key]
        for start in range(0, len(wanted), _CHUNK):
            result = await session.execute(
                select(self.table).where(column.in_(wanted[start : start + _CHUNK]))
            )
            for row in result.mappings():
                self.rows[row[self.key]] = dict(row)

    def get(self, key: str) -> dict[str, Any] | None:
        return self.rows.get(key)

    def put(self, key: str, *, create: bool = False, **values: Any) -> None:
        """Change a row, or create it when ``create``. A change to a row that was never
        registered is ignored: there is nothing sound to attach it to."""
        row = self.rows.get(key)
        if row is None:
            if not create:
                return
            row = self.rows[key] = {self.key: key}
        row.update(values)
        self.changed.add(key)

    async def write(self, session: AsyncSession) -> None:
        out = [self.rows[key] for key in sorted(self.changed)]
        for start in range(0, len(out), _CHUNK):
            await upsert(session, self.table, out[start : start + _CHUNK], [self.key])


_KEYED: dict[type[Any], tuple[str, str]] = {
    UnitRegistered: ("units", "unit_id"),
    UnitRenamed: ("units", "unit_id"),
    BranchRegistered: ("branches", "branch_id"),
    BranchRenamed: ("branches", "branch_id"),
    PersonRegistered: ("people", "person_id"),
    PersonUpdated: ("people", "person_id"),
    PersonTransferred: ("people", "person_id"),
    PersonDeparted: ("people", "person_id"),
    CommitteeMemberAppointed: ("people", "person_id"),
    CommitteeMemberRemoved: ("people", "person_id"),
    PledgeDeclared: ("pledges", "pledge_id"),
    PairingAgreementSigned: ("pledges", "pledge_id"),
    PledgeWithdrawn: ("pledges", "pledge_id"),
    PledgeCarriedIn: ("pledges", "pledge_id"),
}


async def apply(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    """Apply a batch of pledges events; events the reviews service does not need are skipped."""
    tables = {
        "units": _Rows(t.units, "unit_id"),
        "branches": _Rows(t.branches, "branch_id"),
        "people": _Rows(t.people, "person_id"),
        "pledges": _Rows(t.pledges, "pledge_id"),
    }
    relevant = [item for item in events if type(item.event) in _KEYED]
    wanted: dict[str, set[str]] = {name: set() for name in tables}
    for item in relevant:
        name, key = _KEYED[type(item.event)]
        wanted[name].add(getattr(item.event, key))
    for name, keys in wanted.items():
        await tables[name].load(session, keys)
    pledges, branches = tables["pledges"], tables["branches"]
    employees = {row["paired_employee_id"] for row in pledges.rows.values()}
    units = {key: row["unit_id"] for key, row in branches.rows.items()}
    for item in relevant:
        _fold(tables, item)
    moves = [
        subjects.Move(e.person_id, e.from_branch_id, e.to_branch_id, item.envelope.occurred_at)
        for item in relevant
        if isinstance(e := item.event, PersonTransferred)
    ]
    exemptions: dict[tuple[str, int], bool] = {}
    for item in events:
        match item.event:
            case MemberExempted(member_id=member, year=year):
                exemptions[(member, year)] = True
            case MemberExemptionRevoked(member_id=member, year=year):
                exemptions[(member, year)] = False
    subjects_changed = await subjects.record_moves(session, moves)
    subjects_changed |= await subjects.record_exemptions(session, exemptions)
    touched = await _touched(session, tables, employees, units)
    before = None
    if touched:
        await turnout_counts.serialize(session)
        before = await turnout_counts.people(session, touched)
    for rows in tables.values():
        await rows.write(session)
    if before is not None:
        after = await turnout_counts.people(session, touched)
        await turnout_counts.roster_changed(session, before, after)
    if subjects_changed or any(rows.changed for rows in tables.values()):
        await tokens.bump(session)


async def _touched(
    session: AsyncSession,
    tables: dict[str, _Rows],
    employees: set[str | None],
    units: dict[str, Any],
) -> set[str]:
    """The people whose turnout the batch may change: those it changed, the employees of
    the pledges it changed (pairing), and everyone in a branch it registered or moved to
    another unit (scope). ``employees`` and ``units`` are as the rows were before it."""
    people, pledges, branches = tables["people"], tables["pledges"], tables["branches"]
    touched = set(people.changed)
    if pledges.changed:
        touched |= {e for e in employees if e is not None}
        touched |= {e for key in pledges.changed if (e := pledges.rows[key]["paired_employee_id"])}
    moved = {key for key in branches.changed if units.get(key) != branches.rows[key].get("unit_id")}
    if moved:
        touched |= await turnout_counts.people_of_branches(session, moved)
    return touched


def _fold(tables: dict[str, _Rows], item: StoredEvent) -> None:
    units, branches, people, pledges = (
        tables["units"],
        tables["branches"],
        tables["people"],
        tables["pledges"],
    )
    event = item.event
    match event:
        case UnitRegistered():
            units.put(event.unit_id, create=True, name=event.name)
        case UnitRenamed():
            units.put(event.unit_id, name=event.name)
        case BranchRegistered():
            branches.put(event.branch_id, create=True, unit_id=event.unit_id, name=event.name)
        case BranchRenamed():
            branches.put(event.branch_id, name=event.name)
        case PersonRegistered():
            people.put(
                event.person_id,
                create=True,
                name=event.name,
                branch_id=event.branch_id,
                membership=event.membership.value,
                committee_branch_id=None,
                departed=False,
            )
        case PersonUpdated():
            people.put(event.person_id, name=event.name, membership=event.membership.value)
        case PersonTransferred():
            people.put(event.person_id, branch_id=event.to_branch_id)
        case PersonDeparted():
            people.put(event.person_id, departed=True)
        case CommitteeMemberAppointed():
            people.put(event.person_id, committee_branch_id=event.branch_id)
        case CommitteeMemberRemoved():
            people.put(event.person_id, committee_branch_id=None)
        case PledgeDeclared():
            pledges.put(
                event.pledge_id,
                create=True,
                member_id=event.member_id,
                year=event.year,
                paired_employee_id=None,
                withdrawn=False,
            )
        case PairingAgreementSigned():
            row = pledges.get(event.pledge_id)
            year = row["year"] if row is not None else item.envelope.year or event.signed_on.year
            pledges.put(
                event.pledge_id,
                create=True,
                member_id=event.member_id,
                year=year,
                paired_employee_id=event.employee_id,
                withdrawn=bool(row and row["withdrawn"]),
            )
        case PledgeWithdrawn():
            pledges.put(event.pledge_id, withdrawn=True)
        case PledgeCarriedIn():
            # A pledge carried over from the year before keeps its signed agreement: the
            # paired employee reviews the member in this year too. (The earlier year's pledge
            # keeps its pairing for that year: its carry-over changes nothing here.)
            agreement = event.agreement
            pledges.put(
                event.pledge_id,
                create=True,
                member_id=event.member_id,
                year=event.year,
                paired_employee_id=agreement.employee_id if agreement is not None else None,
                withdrawn=False,
            )
