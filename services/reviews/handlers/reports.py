"""Queries that need the service's judgement: whose ballot is whose (by recomputing the
caller's own pseudonym), who is eligible (by the domain's rules on the roster), and whether
a result may be shown (the minimum number of ballots).

None of them links a reviewer to a score. Turnout hashes each eligible person with the
period's key and checks whether that pseudonym voted; it reads no score to do so.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews.domain import (
    NOT_ON_ROSTER,
    PERIOD_CLOSED,
    ReviewPeriodState,
    Turnout,
    as_rated,
    ballot_pseudonym,
    is_eligible_reviewer,
    not_yet_voted,
    rated_refusal,
    receipt_code,
    receipt_hash,
    reviewer_refusal,
    scope_covers,
)
from services.reviews.domain.results import rounded
from services.reviews.domain.tally import ROLES_OF_KIND, effective_minimum
from services.reviews.handlers import access
from services.reviews.projections import queries
from services.reviews.projections.views import (
    BallotLineView,
    BallotMember,
    BallotMembersView,
    BranchOverview,
    MemberOverview,
    MemberResultsView,
    MyBallotView,
    PartView,
    PeriodResultView,
    PeriodView,
    ReceiptCheckView,
    Reminder,
    RoleTurnout,
    TurnoutView,
)
from shared.auth import Principal
from shared.contracts.reviews import BallotRole, MemberReviewed, TallyStatus
from shared.contracts.scoring import ReviewKind
from shared.errors import Conflict, InvalidInput, NotFound


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
        opens_on=state.window.opens_on,
        closes_on=state.window.closes_on,
        window=state.window.label,
        closed=state.closed,
        closing_reason=state.closing_reason.label if state.closing_reason else None,
    )


async def get_period(session: AsyncSession, period_id: str) -> ReviewPeriodState:
    state = await queries.period(session, period_id)
    if state is None:
        raise NotFound(f"评议期“{period_id}”不存在")
    return state


async def ballot_members(
    session: AsyncSession,
    period_id: str,
    role: BallotRole,
    *,
    principal: Principal,
    now: datetime,
) -> BallotMembersView:
    """Whom the caller may rate in ``period_id`` as ``role``: the domain's rules for a cast,
    applied to the roster as it is now and the period's subjects (a cast is decided the same
    way)."""
    state = await get_period(session, period_id)

    def refused(reason: str) -> BallotMembersView:
        return BallotMembersView(
            period_id=period_id,
            role=role,
            role_label=role.label,
            may_vote=False,
            reason=reason,
            members=[],
        )

    if not state.accepts_ballots(now):
        return refused(PERIOD_CLOSED)
    reviewer = (await queries.roster_entries(session, [principal.person_id])).get(
        principal.person_id
    )
    if reviewer is None:
        return refused(NOT_ON_ROSTER)
    paired = (
        await queries.pairings(session, year=state.year, employee_ids=[reviewer.person_id])
    ).get(reviewer.person_id, frozenset())
    policy = await queries.policy(session, state.year)
    refusal = reviewer_refusal(
        reviewer,
        role=role,
        period=state,
        paired_members=paired,
        probationary_members_vote=policy.probationary_members_vote,
    )
    if refusal is not None:
        return refused(refusal.message)
    # The period's subjects reviewed by the reviewer's branch: its people as they are, and
    # those who moved away since the period opened (the branch at the opening reviews them).
    moves = await queries.period_moves(session, period_id)
    exempt = await queries.exempt_members(session, state.year)
    people = await queries.branch_people(session, reviewer.branch_id)
    moved_away = [p for p, branch in moves.items() if branch == reviewer.branch_id]
    people.extend((await queries.roster_entries(session, moved_away)).values())
    members = [
        BallotMember(member_id=person.person_id, name=person.name)
        for person in (as_rated(p, moves=moves, exempt=exempt) for p in people)
        if rated_refusal(
            person.person_id,
            reviewer=reviewer,
            role=role,
            rated=person,
            paired_members=paired,
        )
        is None
    ]
    members.sort(key=lambda m: (m.name, m.member_id))
    return BallotMembersView(
        period_id=period_id,
        role=role,
        role_label=role.label,
        may_vote=True,
        reason=None if members else "没有可以评议的党员",
        members=members,
    )


async def my_ballot(
    session: AsyncSession,
    period_id: str,
    role: BallotRole,
    *,
    principal: Principal,
    now: datetime,
) -> MyBallotView:
    """The caller's ballot. Its scores only while it can still be amended: afterwards the
    reviewer is shown that it was counted and its receipt code, never what it said, so no
    one can make them prove how they voted."""
    state = await get_period(session, period_id)
    key = await queries.period_key(session, period_id)
    if key is None:
        raise Conflict(
            f"{state.title}的评议结果已定稿，用于识别选票的密钥已按规定销毁，"
            "无人能再查出哪张选票是谁的；请用投票时得到的回执码核验选票已计入"
        )
    pseudonym = ballot_pseudonym(key, period_id, principal.person_id, role)
    lines = await queries.ballot_lines(session, period_id, role, pseudonym)
    if not lines:
        raise NotFound(f"您在{state.title}中没有以“{role.label}”身份投票")
    receipt = receipt_code(key, period_id, pseudonym)
    if not state.accepts_ballots(now):
        return MyBallotView(
            period_id=period_id,
            role=role,
            role_label=role.label,
            scores=[],
            amendable=False,
            counted=True,
            receipt=receipt,
            message="评议期已结束，您的选票已计入；为保护评议保密，结束后不再显示评分",
        )
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
        amendable=True,
        counted=True,
        receipt=receipt,
        message="评议期结束前可以重新投票修改，以最后一次为准",
    )


async def check_receipt(session: AsyncSession, period_id: str, code: str) -> ReceiptCheckView:
    state = await get_period(session, period_id)
    counted = await queries.receipt_counted(session, period_id, receipt_hash(code))
    return ReceiptCheckView(
        period_id=period_id,
        counted=counted,
        message=f"该回执对应的选票已计入{state.title}"
        if counted
        else f"{state.title}中没有与该回执对应的选票，请核对回执码",
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
    # None once a closed period's key is destroyed: no ballot can be matched to a person any
    # more, so the ballots of the branch are counted instead (nobody is named after close).
    key = await queries.period_key(session, state.period_id)
    people = await queries.branch_people(session, branch_id)
    pairings = await queries.pairings(
        session, year=state.year, employee_ids=[p.person_id for p in people]
    )
    out: list[RoleTurnout] = []
    for role in ROLES_OF_KIND[state.kind]:
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
        pseudonyms = await queries.voted_pseudonyms(
            session, state.period_id, role, branch_id=branch_id
        )
        if key is None:
            missing: set[str] = set()
            counted = Turnout(voted=min(len(pseudonyms), len(eligible)), eligible=len(eligible))
        else:
            missing = set(
                not_yet_voted(
                    key,
                    state.period_id,
                    role,
                    eligible_reviewer_ids=[p.person_id for p in eligible],
                    voted_pseudonyms=pseudonyms,
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
                not_voted=[]
                if state.closed
                else [
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
    """Every period of the year that reviews the member: open ones as "评议进行中" with no
    figure at all, closed ones as their tally says."""
    member = (await queries.roster_entries(session, [member_id])).get(member_id)
    if member is None:
        raise NotFound(f"花名册中没有编号为“{member_id}”的人员")
    access.results_reader(principal, member_id, member.branch_id)
    tallies = {
        tally.period_id: tally
        for tally in await queries.tallies(session, member_id=member_id, year=year)
    }
    policy = await queries.policy(session, year)
    shown: list[PeriodResultView] = []
    for state in await queries.periods(session, year=year):
        tally = tallies.get(state.period_id)
        covered = scope_covers(state.scope, unit_id=member.unit_id, branch_id=member.branch_id)
        if tally is not None:
            shown.append(await _closed_result(session, state, tally))
        elif covered and not state.closed:
            shown.append(_open_result(state, effective_minimum(state.kind, policy.scoring)))
    return MemberResultsView(
        member_id=member_id,
        name=member.name,
        branch_id=member.branch_id,
        year=year,
        periods=shown,
    )


OPEN = "open"
OPEN_LABEL = "评议进行中"
_STATUS = {
    TallyStatus.COUNTED: ("available", "已出结果"),
    TallyStatus.INSUFFICIENT_BALLOTS: ("insufficient_ballots", "票数不足"),
    TallyStatus.SINGLE_PART: ("single_part", "缺少结对或全体员工评议"),
}


def _open_result(state: ReviewPeriodState, min_ballots: int) -> PeriodResultView:
    return PeriodResultView(
        period_id=state.period_id,
        title=state.title,
        kind=state.kind,
        closed=False,
        ballots=None,
        min_ballots=min_ballots,
        status=OPEN,
        status_label=OPEN_LABEL,
        average=None,
        parts=[],
        assessments=[],
    )


async def _closed_result(
    session: AsyncSession, state: ReviewPeriodState, tally: MemberReviewed
) -> PeriodResultView:
    status, label = _STATUS[tally.status]
    assessments: list[str] = []
    if tally.kind is ReviewKind.BRANCH and tally.result is not None:
        # The committee's written assessments: its collective, recorded decision.
        assessments = sorted(
            entry.comment
            for ballot in await queries.ballots_rating(session, state, [tally.member_id])
            for entry in ballot.scores
            if entry.comment
        )
    return PeriodResultView(
        period_id=state.period_id,
        title=state.title,
        kind=state.kind,
        closed=True,
        ballots=tally.ballots,
        min_ballots=tally.min_ballots,
        status=status,
        status_label=label,
        average=tally.result,
        parts=_parts(tally),
        assessments=assessments,
    )


def _parts(tally: MemberReviewed) -> list[PartView]:
    return [
        PartView(
            role=part.role,
            role_label=part.role.label,
            ballots=part.ballots,
            average=rounded(Fraction(part.total) / part.ballots),
        )
        for part in tally.parts
    ]


async def branch_overview(
    session: AsyncSession,
    branch_id: str,
    period_id: str,
    *,
    principal: Principal,
) -> BranchOverview:
    """The committee's view of a period in its branch: while open, turnout (with the names
    to remind) and no result; once closed, the tallies and the turnout as counts."""
    access.branch_overseer(principal, branch_id, action="查看本支部的评议情况")
    state = await get_period(session, period_id)
    roles = await _turnout(session, state, branch_id)
    min_ballots = effective_minimum(state.kind, (await queries.policy(session, state.year)).scoring)
    members = [
        person
        for person in await queries.branch_people(session, branch_id)
        if person.membership.is_party_member and not person.departed
    ]
    tallies = {
        tally.member_id: tally
        for tally in await queries.tallies(session, period_id=period_id, branch_id=branch_id)
    }
    overview: list[MemberOverview] = []
    names = {m.person_id: m.name for m in members}
    if tallies:
        names.update(
            (entry.person_id, entry.name)
            for entry in (await queries.roster_entries(session, tallies)).values()
        )
    for member_id in sorted(set(names) if not state.closed else set(tallies)):
        tally = tallies.get(member_id)
        if tally is None:
            overview.append(
                MemberOverview(
                    member_id=member_id,
                    name=names[member_id],
                    ballots=None,
                    status=OPEN,
                    status_label=OPEN_LABEL,
                    average=None,
                    parts=[],
                )
            )
            continue
        status, label = _STATUS[tally.status]
        overview.append(
            MemberOverview(
                member_id=member_id,
                name=names.get(member_id, member_id),
                ballots=tally.ballots,
                status=status,
                status_label=label,
                average=tally.result,
                parts=_parts(tally),
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
