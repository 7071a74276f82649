"""Queries that need the service's judgement: whose ballot is whose (by recomputing the
caller's own pseudonym), who is eligible (by the domain's rules on the roster), and whether
a result may be shown (the minimum number of ballots).

None of them links a reviewer to a score. Turnout hashes each eligible person with the
period's key and checks whether that pseudonym voted; it reads no score to do so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews.domain import (
    BallotState,
    ReviewPeriodState,
    Turnout,
    ballot_pseudonym,
    is_eligible_reviewer,
    member_period_result,
    not_yet_voted,
    scope_covers,
)
from services.reviews.handlers import access
from services.reviews.projections import queries
from services.reviews.projections.views import (
    BallotLineView,
    BranchOverview,
    MemberOverview,
    MemberResultsView,
    MyBallotView,
    PartView,
    PeriodResultView,
    PeriodView,
    Reminder,
    RoleTurnout,
    TurnoutView,
)
from shared.auth import Principal
from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import ReviewKind
from shared.errors import InvalidInput, NotFound

_ROLES_OF_KIND: dict[ReviewKind, tuple[BallotRole, ...]] = {
    ReviewKind.PEER: (BallotRole.PEER,),
    ReviewKind.MASS: (BallotRole.ALL_STAFF, BallotRole.PAIRED),
    ReviewKind.BRANCH: (BallotRole.BRANCH,),
}


def period_view(state: ReviewPeriodState) -> PeriodView:
    return PeriodView(
        period_id=state.period_id,
        title=state.title,
        kind=state.kind,
        period=state.period,
        year=state.year,
        scope_level=state.scope.level,
        unit_id=state.scope.unit_id,
        branch_id=state.scope.branch_id,
        deadline=state.deadline,
        closed=state.closed,
        closing_reason=state.closing_reason.label if state.closing_reason else None,
    )


async def get_period(session: AsyncSession, period_id: str) -> ReviewPeriodState:
    state = await queries.period(session, period_id)
    if state is None:
        raise NotFound(f"评议期“{period_id}”不存在")
    return state


async def my_ballot(
    session: AsyncSession,
    period_id: str,
    role: BallotRole,
    *,
    principal: Principal,
    now: datetime,
) -> MyBallotView:
    state = await get_period(session, period_id)
    key = await queries.period_key(session, period_id)
    assert key is not None, "every period has its key from the moment it opens"
    pseudonym = ballot_pseudonym(key, period_id, principal.person_id, role)
    lines = await queries.ballot_lines(session, period_id, role, pseudonym)
    if not lines:
        raise NotFound(f"你在{state.title}中还没有以“{role.label}”身份投票")
    names = await queries.roster_entries(session, [line.member_id for line in lines])
    return MyBallotView(
        period_id=period_id,
        role=role,
        role_label=role.label,
        scores=[
            BallotLineView(
                member_id=line.member_id,
                member_name=names[line.member_id].name if line.member_id in names else None,
                score=line.score,
                comment=line.comment,
            )
            for line in lines
        ],
        amendable=state.accepts_ballots(now),
    )


async def turnout(
    session: AsyncSession,
    period_id: str,
    branch_id: str,
    *,
    principal: Principal,
) -> TurnoutView:
    access.branch_overseer(principal, branch_id, action="查看本支部的参评情况")
    state = await get_period(session, period_id)
    return TurnoutView(
        period_id=period_id,
        title=state.title,
        branch_id=branch_id,
        closed=state.closed,
        roles=await _turnout(session, state, branch_id),
    )


async def _turnout(
    session: AsyncSession, state: ReviewPeriodState, branch_id: str
) -> list[RoleTurnout]:
    """Per role: the eligible reviewers of the branch by the domain's rules, and which of
    them have voted (someone who voted and has since left or transferred is not counted)."""
    policy = await queries.policy(session, state.year)
    unit_id = await queries.branch_unit(session, branch_id)
    if unit_id is None:
        raise NotFound(f"党支部“{branch_id}”不存在")
    if not scope_covers(state.scope, unit_id=unit_id, branch_id=branch_id):
        raise InvalidInput(f"党支部“{branch_id}”不在{state.title}的评议范围内")
    key = await queries.period_key(session, state.period_id)
    assert key is not None, "every period has its key from the moment it opens"
    people = await queries.branch_people(session, branch_id)
    pairings = await queries.pairings(
        session, year=state.year, employee_ids=[p.person_id for p in people]
    )
    out: list[RoleTurnout] = []
    for role in _ROLES_OF_KIND[state.kind]:
        eligible = [
            person
            for person in people
            if is_eligible_reviewer(
                person,
                role=role,
                period=state,
                paired_members=pairings.get(person.person_id, frozenset()),
                probationary_members_vote=policy.probationary_members_vote,
            )
        ]
        missing = set(
            not_yet_voted(
                key,
                state.period_id,
                role,
                eligible_reviewer_ids=[p.person_id for p in eligible],
                voted_pseudonyms=await queries.voted_pseudonyms(
                    session, state.period_id, role, branch_id=branch_id
                ),
            )
        )
        counted = Turnout(voted=len(eligible) - len(missing), eligible=len(eligible))
        out.append(
            RoleTurnout(
                role=role,
                role_label=role.label,
                eligible=counted.eligible,
                voted=counted.voted,
                percent=counted.percent,
                not_voted=[
                    Reminder(person_id=p.person_id, name=p.name)
                    for p in eligible
                    if p.person_id in missing
                ],
            )
        )
    return out


async def member_results(
    session: AsyncSession,
    member_id: str,
    year: int,
    *,
    principal: Principal,
) -> MemberResultsView:
    member = (await queries.roster_entries(session, [member_id])).get(member_id)
    if member is None:
        raise NotFound(f"花名册中没有编号为“{member_id}”的人员")
    access.results_reader(principal, member_id, member.branch_id)
    policy = await queries.policy(session, year)
    shown: list[PeriodResultView] = []
    for state in await queries.periods(session, year=year):
        ballots = await queries.ballots_rating(session, state, [member_id])
        covered = scope_covers(state.scope, unit_id=member.unit_id, branch_id=member.branch_id)
        if ballots or covered:
            shown.append(_period_result(state, member_id, ballots, policy.min_ballots(state.kind)))
    return MemberResultsView(
        member_id=member_id,
        name=member.name,
        branch_id=member.branch_id,
        year=year,
        periods=shown,
    )


def _period_result(
    state: ReviewPeriodState, member_id: str, ballots: Sequence[BallotState], min_ballots: int
) -> PeriodResultView:
    result = member_period_result(member_id, ballots, min_ballots=min_ballots)
    available = bool(result.parts)
    assessments = sorted(
        entry.comment
        for ballot in ballots
        if available and ballot.role is BallotRole.BRANCH
        for entry in ballot.scores
        if entry.member_id == member_id and entry.comment
    )
    return PeriodResultView(
        period_id=state.period_id,
        title=state.title,
        kind=state.kind,
        closed=state.closed,
        ballots=result.ballots,
        min_ballots=result.min_ballots,
        status=result.status.value,
        status_label=result.status.label,
        average=result.average,
        parts=[_part(part.role, part.ballots, part.average) for part in result.parts],
        assessments=assessments,
    )


def _part(role: BallotRole, ballots: int, average: Decimal) -> PartView:
    return PartView(role=role, role_label=role.label, ballots=ballots, average=average)


async def branch_overview(
    session: AsyncSession,
    branch_id: str,
    period_id: str,
    *,
    principal: Principal,
) -> BranchOverview:
    access.branch_overseer(principal, branch_id, action="查看本支部的评议情况")
    state = await get_period(session, period_id)
    roles = await _turnout(session, state, branch_id)
    min_ballots = (await queries.policy(session, state.year)).min_ballots(state.kind)
    members = [
        person
        for person in await queries.branch_people(session, branch_id)
        if person.membership.is_party_member and not person.departed
    ]
    ballots = await queries.ballots_rating(session, state, [m.person_id for m in members])
    overview: list[MemberOverview] = []
    for member in members:
        result = member_period_result(
            member.person_id,
            [b for b in ballots if b.score_of(member.person_id) is not None],
            min_ballots=min_ballots,
        )
        overview.append(
            MemberOverview(
                member_id=member.person_id,
                name=member.name,
                ballots=result.ballots,
                status_label=result.status.label,
                parts=[_part(p.role, p.ballots, p.average) for p in result.parts],
            )
        )
    return BranchOverview(
        branch_id=branch_id,
        period_id=period_id,
        title=state.title,
        closed=state.closed,
        min_ballots=min_ballots,
        turnout=roles,
        members=overview,
    )
