"""Who a period reviews when members move or are exempted (DOMAIN.md section 5), applied
with the roster from the pledges topic.

- **Moves.** The branch a member belongs to when a period opens reviews them for that period.
  A ``PersonTransferred`` whose time falls while a period is open (opened at or before it,
  not closed before it) and whose old or new branch the period covers records, for that
  period, the branch the member left (``rv_period_moves``). A second move in the same period
  keeps the first row: the branch at the opening. Decided by the event's time, not by when
  the consumer reads it, so a replay (``suxing rebuild reviews --in-place``, which keeps the
  periods) writes the same rows. A member registered after a period opened has no such row
  and is reviewed by the branch they are in.
- **Exemptions.** ``MemberExempted`` / ``MemberExemptionRevoked`` keep the set of members
  exempted from a year (``rv_exemptions``): nobody rates them in that year's periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.domain.period import scope_covers
from services.reviews.projections import queries

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Move:
    person_id: str
    from_branch_id: str
    to_branch_id: str
    at: datetime


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def record_moves(session: AsyncSession, moves: Sequence[Move]) -> bool:
    """Record, in order, the periods each move happened in; whether any row was written."""
    if not moves:
        return False
    earliest, latest = min(m.at for m in moves), max(m.at for m in moves)
    rows = (
        await session.execute(
            select(t.periods).where(
                t.periods.c.opened_at <= latest,
                or_(t.periods.c.closed_at.is_(None), t.periods.c.closed_at > earliest),
            )
        )
    ).mappings()
    periods = [
        (
            queries.period_from_row(row),
            _utc(row["opened_at"]),
            None if row["closed_at"] is None else _utc(row["closed_at"]),
        )
        for row in rows
    ]
    if not periods:
        return False
    units = await queries.branch_units(
        session, {b for m in moves for b in (m.from_branch_id, m.to_branch_id)}
    )
    keys = sorted({(state.period_id, m.person_id) for state, _, _ in periods for m in moves})
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(keys), _CHUNK):
        found = await session.execute(
            select(t.period_moves.c.period_id, t.period_moves.c.person_id).where(
                tuple_(t.period_moves.c.period_id, t.period_moves.c.person_id).in_(
                    keys[start : start + _CHUNK]
                )
            )
        )
        existing.update((period, person) for period, person in found)
    new: dict[tuple[str, str], str] = {}
    for move in moves:
        for state, opened_at, closed_at in periods:
            if not (opened_at <= move.at and (closed_at is None or move.at < closed_at)):
                continue
            if not any(
                scope_covers(state.scope, unit_id=units.get(branch, ""), branch_id=branch)
                for branch in (move.from_branch_id, move.to_branch_id)
            ):
                continue
            key = (state.period_id, move.person_id)
            if key not in existing and key not in new:
                new[key] = move.from_branch_id
    rows_out = [
        {"period_id": period, "person_id": person, "branch_id": branch}
        for (period, person), branch in sorted(new.items())
    ]
    for start in range(0, len(rows_out), _CHUNK):
        await session.execute(insert(t.period_moves), rows_out[start : start + _CHUNK])
    return bool(rows_out)


async def record_exemptions(session: AsyncSession, changes: Mapping[tuple[str, int], bool]) -> bool:
    """Apply the batch's last word on each (member, year): exempt or not; whether any."""
    if not changes:
        return False
    keys = sorted(changes)
    for start in range(0, len(keys), _CHUNK):
        await session.execute(
            delete(t.exemptions).where(
                tuple_(t.exemptions.c.person_id, t.exemptions.c.year).in_(
                    keys[start : start + _CHUNK]
                )
            )
        )
    rows = [{"person_id": p, "year": year} for (p, year) in keys if changes[(p, year)]]
    for start in range(0, len(rows), _CHUNK):
        await session.execute(insert(t.exemptions), rows[start : start + _CHUNK])
    return True
