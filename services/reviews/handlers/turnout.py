"""Turnout of a year's review periods in the company, a unit or a branch, as counts.

The figures are those of ``GET /periods/{id}/turnout`` summed over the branches of the scope
that each period covers: the eligible reviewers by the domain's rules on the roster
(``is_eligible_reviewer``) and, of them, those whose pseudonym has a ballot in their branch
(``not_yet_voted``), so someone who voted and has since left or transferred is not counted.
Once a period's key is destroyed nobody can match a ballot to a person any more; such a
period then counts its ballots (``matched`` is false).

They are read from the counts the service keeps per period, role and branch as ballots and
roster changes are written (``projections/turnout_counts.py``, ``rv_turnout_counts``): one
query sums them per period and role over the covered branches of the scope, whatever its
size. A period opened before the counts were kept (not yet recounted) is answered by the
full recomputation instead (``_recomputed``: roster, pairings, keys, ballot sheets and
policy, each eligible reviewer's pseudonym matched in this process, since the key never
leaves it); tests compare the two (``recomputed_view``).

Nothing here reads a score, and the answer names nobody (docs/privacy.md).

The answer is also kept in memory, counts only, for as long as nothing it depends on
changed: the roster, pairings and policy (written only by the consumer, in the transaction
that moves its offsets: their sum stands for them), the year's periods (read anyway), the
keys left (inserted when a period opens, deleted when destroyed) and the ballot sheets of the
open periods (inserted by a cast, never deleted: their count stands for them; a closed period
takes no more). The stamp is read again after counting, and the answer kept only if it has
not moved meanwhile.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.domain import (
    ReviewPeriodState,
    RosterEntry,
    Turnout,
    is_eligible_reviewer,
    not_yet_voted,
    scope_covers,
)
from services.reviews.domain.tally import ROLES_OF_KIND
from services.reviews.handlers import access
from services.reviews.projections import queries
from services.reviews.projections.views import (
    PeriodTurnoutCount,
    RoleCount,
    ScopeTurnoutView,
)
from shared.auth import Principal
from shared.contracts.reviews import BallotRole, ReviewScope, ScopeLevel
from shared.errors import InvalidInput, NotFound
from shared.eventstore.tables import consumer_offsets

_UNKNOWN = {ScopeLevel.UNIT: "没有找到该二级党委", ScopeLevel.BRANCH: "没有找到该党支部"}


async def scope_turnout(
    session: AsyncSession,
    year: int,
    level: ScopeLevel,
    scope_id: str | None,
    *,
    principal: Principal,
) -> ScopeTurnoutView:
    if level is ScopeLevel.COMPANY:
        scope_id = None
    elif not scope_id:
        raise InvalidInput("查看二级党委或党支部的参评情况时必须给出其编号（id）")
    scope = await queries.scope(session, level, scope_id)
    access.scope_turnout_reader(
        principal, level, scope_id, unit_id=scope.unit_id if scope else None
    )
    if scope is None:
        raise NotFound(_UNKNOWN[level])
    year_periods = await queries.periods(session, year=year)
    memo = (_database(session), year, level, scope_id)
    ids = [state.period_id for state in year_periods]
    open_ids = [state.period_id for state in year_periods if not state.closed]
    states = tuple((s.period_id, s.kind, s.scope, s.closed, s.title) for s in year_periods)
    before = (states, await _stamp(session, ids, open_ids))
    kept = _KEPT.get(memo)
    if kept is not None and kept[0] == before:
        _KEPT.move_to_end(memo)
        return kept[1]
    view = await _count(session, year, level, scope, scope_id, year_periods)
    if await _stamp(session, ids, open_ids) == before[1]:
        _KEPT[memo] = (before, view)
        _KEPT.move_to_end(memo)
        while len(_KEPT) > _KEPT_MAX:
            _KEPT.popitem(last=False)
    return view


_KEPT: OrderedDict[Hashable, tuple[Hashable, ScopeTurnoutView]] = OrderedDict()
"""(database, year, level, scope id) -> (stamp, answer), the most recently used last."""
_KEPT_MAX = 256
_CONSUMER = "reviews"


def _database(session: AsyncSession) -> Hashable:
    bind = session.bind
    return (id(bind), str(getattr(bind, "url", "")))


async def _stamp(session: AsyncSession, ids: Sequence[str], open_ids: Sequence[str]) -> Hashable:
    """What the year's turnout depends on besides its periods, in one small read: the
    consumer's offsets (summed: they only grow), the ballot sheets of the open periods (a
    closed period takes no ballot: its sheets are final) and the keys left."""
    o = consumer_offsets.c
    offsets = select(func.coalesce(func.sum(o.next_offset), 0)).where(o.consumer == _CONSUMER)
    sheets = select(func.count()).select_from(t.ballot_sheets)
    keys = select(func.count()).select_from(t.period_keys)
    row = (
        await session.execute(
            select(
                offsets.scalar_subquery(),
                sheets.where(t.ballot_sheets.c.period_id.in_(open_ids)).scalar_subquery(),
                keys.where(t.period_keys.c.period_id.in_(ids)).scalar_subquery(),
            )
        )
    ).one()
    return tuple(int(value or 0) for value in row)


async def _count(
    session: AsyncSession,
    year: int,
    level: ScopeLevel,
    scope: ReviewScope,
    scope_id: str | None,
    year_periods: Sequence[ReviewPeriodState],
) -> ScopeTurnoutView:
    """From the stored counts (``rv_turnout_counts``), summed per period and role over the
    branches of the scope each period covers; a period whose counts are not stored yet (one
    opened before they were kept) by the full recomputation (``_recomputed``)."""
    branches = await queries.scope_branches(session, scope)
    periods = [
        (state, covered) for state in year_periods if (covered := _covered(state.scope, branches))
    ]
    counted: list[PeriodTurnoutCount] = []
    if periods:
        flags = await _flags(session, year)
        sums = await _sums(session, year, scope)
        missing = [(s, c) for s, c in periods if not flags.get(s.period_id, (False, False))[0]]
        recomputed = {p.period_id: p for p in await _recomputed(session, year, scope, missing)}
        for state, covered in periods:
            if state.period_id in recomputed:
                counted.append(recomputed[state.period_id])
                continue
            matched = flags[state.period_id][1]
            roles = []
            for role in ROLES_OF_KIND[state.kind]:
                eligible, voted, ballots = sums.get((state.period_id, role.value), (0, 0, 0))
                roles.append(_role(role, Turnout(voted if matched else ballots, eligible)))
            counted.append(_period_count(state, len(covered), matched, roles))
    return ScopeTurnoutView(
        year=year,
        scope=level,
        scope_id=scope_id,
        branches=len(branches),
        periods=counted,
    )


async def _flags(session: AsyncSession, year: int) -> dict[str, tuple[bool, bool]]:
    """Per period of the year: whether its counts are stored, and whether it has a key."""
    p = t.periods.c
    rows = await session.execute(
        select(p.period_id, p.turnout_counted, t.period_keys.c.period_id.is_not(None))
        .select_from(t.periods.outerjoin(t.period_keys, t.period_keys.c.period_id == p.period_id))
        .where(p.year == year)
    )
    return {period_id: (bool(counted), bool(keyed)) for period_id, counted, keyed in rows}


async def _sums(
    session: AsyncSession, year: int, scope: ReviewScope
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(period, role) -> eligible, voted, ballots summed over the branches the roster knows
    in ``scope`` that the period covers, in one query."""
    c, p, b = t.turnout_counts.c, t.periods.c, t.branches.c
    covers = or_(
        p.scope_level == ScopeLevel.COMPANY.value,
        and_(p.scope_level == ScopeLevel.UNIT.value, b.unit_id == p.unit_id),
        and_(p.scope_level == ScopeLevel.BRANCH.value, p.branch_id == c.branch_id),
    )
    within: ColumnElement[bool] = true()
    if scope.level is ScopeLevel.UNIT:
        within = b.unit_id == scope.unit_id
    elif scope.level is ScopeLevel.BRANCH:
        within = c.branch_id == scope.branch_id
    rows = await session.execute(
        select(c.period_id, c.role, func.sum(c.eligible), func.sum(c.voted), func.sum(c.ballots))
        .select_from(
            t.turnout_counts.join(t.periods, p.period_id == c.period_id).join(
                t.branches, b.branch_id == c.branch_id
            )
        )
        .where(p.year == year, p.turnout_counted.is_(True), covers, within)
        .group_by(c.period_id, c.role)
    )
    return {
        (period_id, role): (int(e or 0), int(v or 0), int(n or 0))
        for period_id, role, e, v, n in rows
    }


async def _recomputed(
    session: AsyncSession,
    year: int,
    scope: ReviewScope,
    periods: Sequence[tuple[ReviewPeriodState, list[str]]],
) -> list[PeriodTurnoutCount]:
    """The full recomputation from the ballot sheets and the roster (what the stored counts
    must equal): each eligible reviewer's pseudonym matched against the sheets."""
    counted: list[PeriodTurnoutCount] = []
    if periods:
        people: dict[str, list[RosterEntry]] = defaultdict(list)
        for person in await queries.scope_people(session, scope):
            people[person.branch_id].append(person)
        pairings = await queries.scope_pairings(session, scope, year=year)
        keys = await queries.year_keys(session, year)
        voted = await queries.year_voted_pseudonyms(session, scope, year=year)
        vote = (await queries.policy(session, year)).probationary_members_vote
        # Who may review depends on the period's kind and scope only (not its quarter):
        # the year's periods of one kind and scope share it.
        eligible: dict[tuple[Hashable, ...], list[str]] = {}
        for state, covered in periods:
            roles = [
                _role_count(
                    state,
                    role,
                    key=keys.get(state.period_id),
                    people={branch: people[branch] for branch in covered},
                    voted={b: voted.get((state.period_id, role, b), set()) for b in covered},
                    pairings=pairings,
                    probationary_members_vote=vote,
                    eligible=eligible,
                )
                for role in ROLES_OF_KIND[state.kind]
            ]
            counted.append(_period_count(state, len(covered), state.period_id in keys, roles))
    return counted


async def recomputed_view(
    session: AsyncSession, year: int, level: ScopeLevel, scope_id: str | None
) -> ScopeTurnoutView:
    """The scope's turnout by the full recomputation only, whatever is stored (tests compare
    the stored counts with it)."""
    scope = await queries.scope(session, level, scope_id)
    assert scope is not None
    branches = await queries.scope_branches(session, scope)
    periods = [
        (state, covered)
        for state in await queries.periods(session, year=year)
        if (covered := _covered(state.scope, branches))
    ]
    return ScopeTurnoutView(
        year=year,
        scope=level,
        scope_id=None if level is ScopeLevel.COMPANY else scope_id,
        branches=len(branches),
        periods=await _recomputed(session, year, scope, periods),
    )


def _covered(scope: ReviewScope, branches: dict[str, str]) -> list[str]:
    """The branches (of ``branches``, branch -> unit) that a period of ``scope`` covers, by
    ``scope_covers``; a branch-wide period is looked up rather than tried on every branch,
    since a company's year has a few thousand of them."""
    if scope.level is ScopeLevel.BRANCH:
        candidates = [scope.branch_id] if scope.branch_id in branches else []
    else:
        candidates = sorted(branches)
    return [
        branch
        for branch in candidates
        if branch is not None and scope_covers(scope, unit_id=branches[branch], branch_id=branch)
    ]


def _role_count(
    state: ReviewPeriodState,
    role: BallotRole,
    *,
    key: bytes | None,
    people: dict[str, list[RosterEntry]],
    voted: dict[str, set[str]],
    pairings: dict[str, frozenset[str]],
    probationary_members_vote: bool,
    eligible: dict[tuple[Hashable, ...], list[str]],
) -> RoleCount:
    """The role's eligible and voted reviewers summed over the branches (as ``_turnout`` in
    ``reports`` counts one branch). ``eligible`` keeps each branch's eligible reviewers per
    kind, scope and role for the other periods of the request."""
    eligible_total = voted_total = 0
    for branch, members in people.items():
        known = (state.kind, state.scope, role, branch)
        if known not in eligible:
            eligible[known] = [
                person.person_id
                for person in members
                if is_eligible_reviewer(
                    person,
                    role=role,
                    period=state,
                    paired_members=pairings.get(person.person_id, frozenset()),
                    probationary_members_vote=probationary_members_vote,
                )
            ]
        reviewers = eligible[known]
        eligible_total += len(reviewers)
        pseudonyms = voted[branch]
        if key is None:
            voted_total += len(pseudonyms)
        elif pseudonyms and reviewers:
            missing = not_yet_voted(
                key,
                state.period_id,
                role,
                eligible_reviewer_ids=reviewers,
                voted_pseudonyms=pseudonyms,
            )
            voted_total += len(reviewers) - len(missing)
    return _role(role, Turnout(voted=voted_total, eligible=eligible_total))


def _role(role: BallotRole, counted: Turnout) -> RoleCount:
    return RoleCount(
        role=role,
        role_label=role.label,
        eligible=counted.eligible,
        voted=counted.voted,
        percent=counted.percent,
    )


def _period_count(
    state: ReviewPeriodState, branches: int, matched: bool, roles: list[RoleCount]
) -> PeriodTurnoutCount:
    total = Turnout(voted=sum(r.voted for r in roles), eligible=sum(r.eligible for r in roles))
    return PeriodTurnoutCount(
        period_id=state.period_id,
        title=state.title,
        kind=state.kind,
        period=state.period,
        scope_level=state.scope.level,
        closed=state.closed,
        branches=branches,
        eligible=total.eligible,
        voted=total.voted,
        percent=total.percent,
        matched=matched,
        roles=roles,
    )
