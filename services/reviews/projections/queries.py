"""Reads over the roster, the period keys and the read tables. Each one reads; none decides.

The roster reads return the domain's ``RosterEntry``, so eligibility is decided by the same
rules whether a ballot is being cast or turnout is being counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, null, select, true
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.domain import BallotState, ReviewPeriodState, RosterEntry
from services.reviews.policy import DEFAULT_POLICY, ReviewPolicy
from services.reviews.projections import tokens
from shared.contracts.pledges import Membership
from shared.contracts.reviews import (
    BallotRole,
    BallotScore,
    ClosingReason,
    MemberReviewed,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import (
    SEED_POLICY,
    BallotMinimums,
    Period,
    ReviewKind,
    ScoringPolicy,
)
from shared.eventstore.tables import streams as es_streams

_CHUNK = 500


def _people() -> Any:
    return select(
        t.people.c.person_id,
        t.people.c.name,
        t.people.c.branch_id,
        t.people.c.membership,
        t.people.c.committee_branch_id,
        t.people.c.departed,
        t.branches.c.unit_id,
    ).select_from(t.people.outerjoin(t.branches, t.branches.c.branch_id == t.people.c.branch_id))


def _entry(row: RowMapping) -> RosterEntry:
    return RosterEntry(
        person_id=row["person_id"],
        name=row["name"],
        branch_id=row["branch_id"],
        unit_id=row["unit_id"] or "",
        membership=Membership(row["membership"]),
        is_committee=row["committee_branch_id"] is not None
        and row["committee_branch_id"] == row["branch_id"],
        departed=bool(row["departed"]),
    )


async def roster_entries(
    session: AsyncSession, person_ids: Iterable[str]
) -> dict[str, RosterEntry]:
    wanted = sorted(set(person_ids))
    found: dict[str, RosterEntry] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            _people().where(t.people.c.person_id.in_(wanted[start : start + _CHUNK]))
        )
        found.update({row["person_id"]: _entry(row) for row in rows.mappings()})
    return found


async def branch_people(session: AsyncSession, branch_id: str) -> list[RosterEntry]:
    rows = await session.execute(
        _people().where(t.people.c.branch_id == branch_id).order_by(t.people.c.person_id)
    )
    return [_entry(row) for row in rows.mappings()]


async def branch_unit(session: AsyncSession, branch_id: str) -> str | None:
    unit_id: str | None = await session.scalar(
        select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
    )
    return unit_id


def _within(branch_id: Any, scope: ReviewScope) -> ColumnElement[bool]:
    """The rows whose branch is in ``scope``: a condition, so a scope of any size is one
    query."""
    condition: ColumnElement[bool]
    match scope.level:
        case ScopeLevel.COMPANY:
            condition = true()
        case ScopeLevel.UNIT:
            condition = branch_id.in_(
                select(t.branches.c.branch_id).where(t.branches.c.unit_id == scope.unit_id)
            )
        case ScopeLevel.BRANCH:
            condition = branch_id == scope.branch_id
    return condition


async def scope_branches(session: AsyncSession, scope: ReviewScope) -> dict[str, str]:
    """The branches in ``scope`` with their unit."""
    rows = await session.execute(
        select(t.branches.c.branch_id, t.branches.c.unit_id).where(
            _within(t.branches.c.branch_id, scope)
        )
    )
    return {branch: unit for branch, unit in rows}


async def scope_people(session: AsyncSession, scope: ReviewScope) -> list[RosterEntry]:
    """The people on the roster of the branches in ``scope``, except those who departed
    (whom the domain never lets review, so they are left in the database)."""
    rows = await session.execute(
        _people()
        .where(_within(t.people.c.branch_id, scope), t.people.c.departed.is_(False))
        .order_by(t.people.c.person_id)
    )
    return [_entry(row) for row in rows.mappings()]


async def scope_pairings(
    session: AsyncSession, scope: ReviewScope, *, year: int
) -> dict[str, frozenset[str]]:
    """``pairings`` for every employee of the branches in ``scope``, in one query."""
    rows = await session.execute(
        select(t.pledges.c.paired_employee_id, t.pledges.c.member_id)
        .select_from(
            t.pledges.join(t.people, t.people.c.person_id == t.pledges.c.paired_employee_id)
        )
        .where(
            t.pledges.c.year == year,
            t.pledges.c.withdrawn.is_(False),
            _within(t.people.c.branch_id, scope),
        )
    )
    found: dict[str, set[str]] = {}
    for employee_id, member_id in rows:
        found.setdefault(employee_id, set()).add(member_id)
    return {employee: frozenset(members) for employee, members in found.items()}


async def year_keys(session: AsyncSession, year: int) -> dict[str, bytes]:
    """The keys of the year's periods that still have one."""
    rows = await session.execute(
        select(t.period_keys.c.period_id, t.period_keys.c.key)
        .select_from(
            t.period_keys.join(t.periods, t.periods.c.period_id == t.period_keys.c.period_id)
        )
        .where(t.periods.c.year == year)
    )
    return {period_id: key for period_id, key in rows}


async def year_voted_pseudonyms(
    session: AsyncSession, scope: ReviewScope, *, year: int
) -> dict[tuple[str, BallotRole, str], set[str]]:
    """``voted_pseudonyms`` of every period of the year, role and branch in ``scope``, keyed
    by (period id, role, branch id), in one query."""
    sheets = t.ballot_sheets.c
    rows = await session.execute(
        select(sheets.period_id, sheets.role, sheets.branch_id, sheets.pseudonym)
        .select_from(t.ballot_sheets.join(t.periods, t.periods.c.period_id == sheets.period_id))
        .where(t.periods.c.year == year, _within(sheets.branch_id, scope))
    )
    found: dict[tuple[str, BallotRole, str], set[str]] = {}
    roles = {role.value: role for role in BallotRole}  # a company-year has ~250,000 rows
    for period_id, role, branch_id, pseudonym in rows:
        key = (period_id, roles[role], branch_id)
        if (pseudonyms := found.get(key)) is None:
            pseudonyms = found[key] = set()
        pseudonyms.add(pseudonym)
    return found


async def pairings(
    session: AsyncSession, *, year: int, employee_ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    """The members each employee is paired with by a signed agreement on a pledge of
    ``year`` that was not withdrawn."""
    wanted = sorted(set(employee_ids))
    found: dict[str, set[str]] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            select(t.pledges.c.paired_employee_id, t.pledges.c.member_id).where(
                t.pledges.c.paired_employee_id.in_(wanted[start : start + _CHUNK]),
                t.pledges.c.year == year,
                t.pledges.c.withdrawn.is_(False),
            )
        )
        for employee_id, member_id in rows:
            found.setdefault(employee_id, set()).add(member_id)
    return {employee: frozenset(members) for employee, members in found.items()}


async def scope(
    session: AsyncSession, level: ScopeLevel, scope_id: str | None
) -> ReviewScope | None:
    """The scope as the roster knows it (a branch with its unit); ``None`` if unknown."""
    match level:
        case ScopeLevel.COMPANY:
            return ReviewScope(level=level, unit_id=None, branch_id=None)
        case ScopeLevel.UNIT:
            known = await session.scalar(
                select(t.units.c.unit_id).where(t.units.c.unit_id == scope_id)
            )
            return (
                None if known is None else ReviewScope(level=level, unit_id=known, branch_id=None)
            )
        case ScopeLevel.BRANCH:
            unit_id = await branch_unit(session, scope_id or "")
            if unit_id is None:
                return None
            return ReviewScope(level=level, unit_id=unit_id, branch_id=scope_id)


async def period_key(session: AsyncSession, period_id: str) -> bytes | None:
    key: bytes | None = await session.scalar(
        select(t.period_keys.c.key).where(t.period_keys.c.period_id == period_id)
    )
    return key


@dataclass(frozen=True)
class CastContext:
    """What a ballot's first statement reads (see ``cast_context``)."""

    period: ReviewPeriodState
    key: bytes | None
    ballot_version: int | None
    """The version of the ballot stream asked about; None if it has no event (or none was
    asked about)."""
    roster_token: str | None


async def cast_context(
    session: AsyncSession, period_id: str, *, ballot_stream: str | None
) -> CastContext | None:
    """The period as projected, its key, the version of ``ballot_stream`` and the roster
    token, in one statement that also takes a shared lock on the period's row: a close waits
    for the ballots being cast, and a cast that starts after a close sees it (PostgreSQL;
    SQLite writers are serial). ``None``: no such period."""
    version: Any = null()
    if ballot_stream is not None:
        version = (
            select(es_streams.c.version)
            .where(es_streams.c.stream == ballot_stream)
            .scalar_subquery()
        )
    key = select(t.period_keys.c.key).where(t.period_keys.c.period_id == period_id)
    row = (
        (
            await session.execute(
                select(
                    t.periods,
                    key.scalar_subquery().label("period_key"),
                    version.label("ballot_version"),
                    tokens.current(tokens.ROSTER).label("roster_token"),
                )
                .where(t.periods.c.period_id == period_id)
                .with_for_update(read=True, of=t.periods)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return CastContext(
        period=period_from_row(row),
        key=row["period_key"],
        ballot_version=row["ballot_version"],
        roster_token=row["roster_token"],
    )


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def period_from_row(row: RowMapping) -> ReviewPeriodState:
    """A period as its ``rv_periods`` row says."""
    level = ScopeLevel(row["scope_level"])
    return ReviewPeriodState(
        period_id=row["period_id"],
        kind=ReviewKind(row["kind"]),
        period=Period(row["period"]),
        year=row["year"],
        scope=ReviewScope(level=level, unit_id=row["unit_id"], branch_id=row["branch_id"]),
        deadline=_utc(row["deadline"]),
        closed=bool(row["closed"]),
        closing_reason=ClosingReason(row["closing_reason"]) if row["closing_reason"] else None,
        opens_on=row["opens_on"],
        closes_on=row["closes_on"],
    )


async def period(session: AsyncSession, period_id: str) -> ReviewPeriodState | None:
    row = (
        (await session.execute(select(t.periods).where(t.periods.c.period_id == period_id)))
        .mappings()
        .first()
    )
    return None if row is None else period_from_row(row)


async def periods(
    session: AsyncSession,
    *,
    kind: ReviewKind | None = None,
    period_: Period | None = None,
    year: int | None = None,
    open_only: bool = False,
) -> list[ReviewPeriodState]:
    stmt = select(t.periods).order_by(t.periods.c.year, t.periods.c.period, t.periods.c.kind)
    if kind is not None:
        stmt = stmt.where(t.periods.c.kind == kind.value)
    if period_ is not None:
        stmt = stmt.where(t.periods.c.period == period_.value)
    if year is not None:
        stmt = stmt.where(t.periods.c.year == year)
    if open_only:
        stmt = stmt.where(t.periods.c.closed.is_(False))
    return [period_from_row(row) for row in (await session.execute(stmt)).mappings()]


async def voted_pseudonyms(
    session: AsyncSession, period_id: str, role: BallotRole, *, branch_id: str | None = None
) -> set[str]:
    stmt = select(t.ballot_sheets.c.pseudonym).where(
        t.ballot_sheets.c.period_id == period_id, t.ballot_sheets.c.role == role.value
    )
    if branch_id is not None:
        stmt = stmt.where(t.ballot_sheets.c.branch_id == branch_id)
    return set((await session.scalars(stmt)).all())


async def ballot_lines(
    session: AsyncSession, period_id: str, role: BallotRole, pseudonym: str
) -> list[BallotScore]:
    rows = await session.execute(
        select(t.ballot_lines.c.member_id, t.ballot_lines.c.score, t.ballot_lines.c.comment)
        .where(
            t.ballot_lines.c.period_id == period_id,
            t.ballot_lines.c.role == role.value,
            t.ballot_lines.c.pseudonym == pseudonym,
        )
        .order_by(t.ballot_lines.c.member_id)
    )
    return [
        BallotScore(member_id=member_id, score=Decimal(score), comment=comment)
        for member_id, score, comment in rows
    ]


async def ballots_rating(
    session: AsyncSession, state: ReviewPeriodState, member_ids: Iterable[str]
) -> list[BallotState]:
    """The period's counted ballot lines about ``member_ids``, each as a one-line ballot: the
    shape the domain's result helpers read. No reviewer is named, only pseudonyms."""
    wanted = sorted(set(member_ids))
    found: list[BallotState] = []
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            select(t.ballot_lines)
            .where(
                t.ballot_lines.c.period_id == state.period_id,
                t.ballot_lines.c.member_id.in_(wanted[start : start + _CHUNK]),
            )
            .order_by(t.ballot_lines.c.id)
        )
        found.extend(
            BallotState(
                period_id=state.period_id,
                period=state.period,
                year=state.year,
                branch_id=row["branch_id"],
                role=BallotRole(row["role"]),
                reviewer_pseudonym=row["pseudonym"],
                scores=(
                    BallotScore(
                        member_id=row["member_id"],
                        score=Decimal(row["score"]),
                        comment=row["comment"],
                    ),
                ),
            )
            for row in rows.mappings()
        )
    return found


async def policy(session: AsyncSession, year: int) -> ReviewPolicy:
    """The review rules in force for ``year``: the adopted policy's, else the defaults."""
    row = (
        (await session.execute(select(t.policies).where(t.policies.c.year == year)))
        .mappings()
        .first()
    )
    if row is None:
        return DEFAULT_POLICY
    if row["policy"] is not None:
        return ReviewPolicy(
            policy_id=row["policy_id"], scoring=ScoringPolicy.model_validate_json(row["policy"])
        )
    # A row from before the whole policy was kept: its own values over the seed's.
    return ReviewPolicy(
        policy_id=row["policy_id"],
        scoring=SEED_POLICY.model_copy(
            update={
                "probationary_members_vote": bool(row["probationary_members_vote"]),
                "min_ballots": BallotMinimums(
                    peer=row["min_peer"], mass=row["min_mass"], branch=row["min_branch"]
                ),
            }
        ),
    )


async def members_in_scope(session: AsyncSession, scope: ReviewScope) -> dict[str, str]:
    """The party members on the roster (not departed) in ``scope``, with their branch: the
    members a closing period tallies even when nobody rated them."""
    stmt = (
        select(t.people.c.person_id, t.people.c.branch_id)
        .select_from(t.people.join(t.branches, t.branches.c.branch_id == t.people.c.branch_id))
        .where(
            t.people.c.membership != Membership.NON_MEMBER.value,
            t.people.c.departed.is_(False),
        )
    )
    if scope.level is ScopeLevel.UNIT:
        stmt = stmt.where(t.branches.c.unit_id == scope.unit_id)
    elif scope.level is ScopeLevel.BRANCH:
        stmt = stmt.where(t.people.c.branch_id == scope.branch_id)
    return {person: branch for person, branch in await session.execute(stmt)}


async def period_scores(
    session: AsyncSession, period_id: str
) -> dict[str, tuple[str, dict[BallotRole, list[Decimal]]]]:
    """Every counted score of the period by rated member: the branch the ballots were cast
    in and the scores by role. Reviewers appear nowhere in the answer."""
    rows = await session.execute(
        select(
            t.ballot_lines.c.member_id,
            t.ballot_lines.c.branch_id,
            t.ballot_lines.c.role,
            t.ballot_lines.c.score,
        ).where(t.ballot_lines.c.period_id == period_id)
    )
    found: dict[str, tuple[str, dict[BallotRole, list[Decimal]]]] = {}
    for member_id, branch_id, role, score in rows:
        _, by_role = found.setdefault(member_id, (branch_id, {}))
        by_role.setdefault(BallotRole(role), []).append(Decimal(score))
    return found


async def tallies(
    session: AsyncSession,
    *,
    member_id: str | None = None,
    year: int | None = None,
    period_id: str | None = None,
    branch_id: str | None = None,
) -> list[MemberReviewed]:
    """Recorded tallies (what closed periods say of their members), filtered."""
    stmt = select(t.tallies.c.tally).order_by(t.tallies.c.period_id, t.tallies.c.member_id)
    if member_id is not None:
        stmt = stmt.where(t.tallies.c.member_id == member_id)
    if year is not None:
        stmt = stmt.where(t.tallies.c.year == year)
    if period_id is not None:
        stmt = stmt.where(t.tallies.c.period_id == period_id)
    if branch_id is not None:
        stmt = stmt.where(t.tallies.c.branch_id == branch_id)
    return [MemberReviewed.model_validate_json(raw) for raw in await session.scalars(stmt)]


async def receipt_counted(session: AsyncSession, period_id: str, receipt_hash: str) -> bool:
    found = await session.scalar(
        select(t.receipts.c.receipt_hash).where(
            t.receipts.c.period_id == period_id, t.receipts.c.receipt_hash == receipt_hash
        )
    )
    return found is not None


async def branch_units(session: AsyncSession, branch_ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(branch_ids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = await session.execute(
            select(t.branches.c.branch_id, t.branches.c.unit_id).where(
                t.branches.c.branch_id.in_(wanted[start : start + _CHUNK])
            )
        )
        found.update({branch: unit for branch, unit in rows})
    return found


async def keys_to_destroy(
    session: AsyncSession, closed_before: datetime
) -> list[tuple[ReviewPeriodState, datetime]]:
    """Closed periods whose key still exists and that closed at or before ``closed_before``,
    with their closing time."""
    rows = await session.execute(
        select(t.periods)
        .join(t.period_keys, t.period_keys.c.period_id == t.periods.c.period_id)
        .where(t.periods.c.closed.is_(True), t.periods.c.closed_at <= closed_before)
        .order_by(t.periods.c.period_id)
    )
    return [
        (period_from_row(row), _utc(row["closed_at"]) or closed_before) for row in rows.mappings()
    ]


async def period_moves(session: AsyncSession, period_id: str) -> dict[str, str]:
    """The members who moved while ``period_id`` was open, with the branch they belonged to
    when it opened (which reviews them for it)."""
    rows = await session.execute(
        select(t.period_moves.c.person_id, t.period_moves.c.branch_id).where(
            t.period_moves.c.period_id == period_id
        )
    )
    return {person: branch for person, branch in rows}


async def exempt_members(session: AsyncSession, year: int) -> frozenset[str]:
    """The members exempted from ``year``'s review."""
    rows = await session.execute(
        select(t.exemptions.c.person_id).where(t.exemptions.c.year == year)
    )
    return frozenset(rows.scalars())
