"""Plain example data for the reviews domain tests: one branch with its people, periods
opened through the real decisions, and a helper that casts ballots the way the handler will."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.reviews.commands import (
    AdjustPeriodWindow,
    CastBallot,
    CloseReviewPeriod,
    OpenReviewPeriod,
    ScoreMember,
)
from services.reviews.domain import (
    Authority,
    BallotState,
    ReviewPeriodState,
    RosterEntry,
    RosterSnapshot,
    as_rated,
    ballot_pseudonym,
    decide_adjust_window,
    decide_cast_ballot,
    decide_close_due,
    decide_close_period,
    decide_open_period,
    evolve_ballot,
    evolve_period,
    fold,
)
from services.reviews.domain.tally import tally_member
from shared.contracts.events import Event
from shared.contracts.pledges import Membership
from shared.contracts.reviews import BallotRole, ReviewScope, ScopeLevel
from shared.contracts.scoring import SEED_POLICY, Period, ReviewKind

YEAR = 2024
NOW = datetime(2024, 3, 20, 2, 0, tzinfo=UTC)
DEADLINE = datetime(2024, 3, 31, 16, 0, tzinfo=UTC)
KEY = bytes(range(32))
UNIT = "U-GY"
BRANCH = "B-JB"
OTHER_BRANCH = "B-CS"

BRANCH_SCOPE = ReviewScope(level=ScopeLevel.BRANCH, unit_id=UNIT, branch_id=BRANCH)
UNIT_SCOPE = ReviewScope(level=ScopeLevel.UNIT, unit_id=UNIT, branch_id=None)
COMPANY_SCOPE = ReviewScope(level=ScopeLevel.COMPANY, unit_id=None, branch_id=None)
ORG_DEPARTMENT = Authority(organization_department=True)
COMMITTEE = Authority(committee_of_branch=BRANCH)


def person(
    person_id: str,
    name: str,
    membership: Membership = Membership.FULL_MEMBER,
    *,
    branch_id: str = BRANCH,
    is_committee: bool = False,
    departed: bool = False,
) -> RosterEntry:
    return RosterEntry(
        person_id=person_id,
        name=name,
        branch_id=branch_id,
        unit_id=UNIT,
        membership=membership,
        is_committee=is_committee,
        departed=departed,
    )


WANG = person("P-1001", "王景奎", is_committee=True)
LIU = person("P-1002", "刘洋")
CHEN = person("P-1003", "陈明")
ZHAO = person("P-1004", "赵丽", Membership.PROBATIONARY_MEMBER)
WU = person("P-1005", "吴刚", departed=True)
LI = person("P-2001", "李娟", Membership.NON_MEMBER)
SUN = person("P-2002", "孙伟", Membership.NON_MEMBER)
ZHOU = person("P-1101", "周强", branch_id=OTHER_BRANCH)
ROSTER = {entry.person_id: entry for entry in (WANG, LIU, CHEN, ZHAO, WU, LI, SUN, ZHOU)}
# 李娟 signed a pairing agreement with 刘洋.
PAIRINGS = {LI.person_id: frozenset({LIU.person_id})}


def open_command(
    kind: ReviewKind = ReviewKind.PEER,
    period: Period = Period.Q1,
    *,
    period_id: str | None = None,
    scope: ReviewScope = BRANCH_SCOPE,
    deadline: datetime | None = DEADLINE,
) -> OpenReviewPeriod:
    scope_id = scope.branch_id if scope.level is ScopeLevel.BRANCH else scope.unit_id
    return OpenReviewPeriod(
        period_id=period_id or f"RP-{YEAR}-{kind.value}-{period.value}",
        kind=kind,
        period=period,
        year=YEAR,
        scope_level=scope.level,
        scope_id=scope_id,
        deadline=deadline,
    )


def opened(
    kind: ReviewKind = ReviewKind.PEER,
    period: Period = Period.Q1,
    *,
    scope: ReviewScope = BRANCH_SCOPE,
    deadline: datetime | None = DEADLINE,
) -> ReviewPeriodState:
    events = decide_open_period(
        None,
        open_command(kind, period, scope=scope, deadline=deadline),
        authority=ORG_DEPARTMENT,
        scope=scope,
        same_review_periods=(),
        now=NOW,
    )
    state = fold(evolve_period, events)
    assert state is not None
    return state


PEER_Q1 = opened(ReviewKind.PEER, Period.Q1)
MASS_H1 = opened(ReviewKind.MASS, Period.H1)
BRANCH_H1 = opened(ReviewKind.BRANCH, Period.H1)
PERIOD_OF_ROLE = {
    BallotRole.PEER: PEER_Q1,
    BallotRole.ALL_STAFF: MASS_H1,
    BallotRole.PAIRED: MASS_H1,
    BallotRole.BRANCH: BRANCH_H1,
}


def ballot(
    reviewer: RosterEntry, role: BallotRole, scores: Mapping[RosterEntry | str, str]
) -> CastBallot:
    """A ballot command; ``scores`` maps the rated person (or a bare id) to the score."""
    lines = []
    for rated, score in scores.items():
        member_id = rated if isinstance(rated, str) else rated.person_id
        comment = "工作扎实，带头作用明显" if role is BallotRole.BRANCH else None
        lines.append(ScoreMember(member_id=member_id, score=Decimal(score), comment=comment))
    return CastBallot(
        period_id=PERIOD_OF_ROLE[role].period_id,
        reviewer_id=reviewer.person_id,
        role=role,
        scores=tuple(lines),
    )


def cast(
    command: CastBallot,
    *,
    state: BallotState | None = None,
    period: ReviewPeriodState | None = None,
    reviewer: RosterEntry | None = None,
    probationary_members_vote: bool = False,
    now: datetime = NOW,
    moves: Mapping[str, str] | None = None,
    exempt: frozenset[str] = frozenset(),
) -> list[Event]:
    """Decide ``command`` as the handler will: the reviewer and the rated from the roster
    (``reviewer`` overrides the roster's entry), the rated as the period's subjects (``moves``:
    who moved while it was open and the branch at its opening; ``exempt``), the pseudonym from
    the period's key."""
    period = period or PERIOD_OF_ROLE[command.role]
    return decide_cast_ballot(
        state,
        command,
        period=period,
        roster=RosterSnapshot(
            reviewer=reviewer or ROSTER.get(command.reviewer_id),
            rated={
                m.member_id: as_rated(ROSTER[m.member_id], moves=moves or {}, exempt=exempt)
                for m in command.scores
                if m.member_id in ROSTER
            },
            paired_members=PAIRINGS.get(command.reviewer_id, frozenset()),
        ),
        pseudonym=ballot_pseudonym(KEY, command.period_id, command.reviewer_id, command.role),
        probationary_members_vote=probationary_members_vote,
        now=now,
    )


def cast_ballot(
    command: CastBallot,
    state: BallotState | None = None,
    *,
    probationary_members_vote: bool = False,
) -> BallotState:
    """The ballot's state after casting ``command`` (on ``state``'s stream, if given)."""
    after = state
    for event in cast(command, state=state, probationary_members_vote=probationary_members_vote):
        after = evolve_ballot(after, event)
    assert after is not None
    return after


def every_event_the_service_defines() -> list[tuple[str, Event]]:
    """One example of each event, with the reviewer whose id must not appear in it ("" for
    events without a reviewer), made by the real decisions."""
    opening = decide_open_period(
        None,
        open_command(),
        authority=ORG_DEPARTMENT,
        scope=BRANCH_SCOPE,
        same_review_periods=(),
        now=NOW,
    )
    closing = decide_close_period(
        PEER_Q1, CloseReviewPeriod(period_id=PEER_Q1.period_id), authority=ORG_DEPARTMENT
    )
    due = decide_close_due(PEER_Q1, DEADLINE + timedelta(hours=1))
    adjusted = decide_adjust_window(
        PEER_Q1,
        AdjustPeriodWindow(
            period_id=PEER_Q1.period_id,
            opens_on=date(2024, 3, 15),
            closes_on=date(2024, 3, 31),
            reason="季度末集中评议",
        ),
        authority=ORG_DEPARTMENT,
    )
    peer = cast(ballot(WANG, BallotRole.PEER, {LIU: "90", CHEN: "85", ZHAO: "88"}))
    first = fold(evolve_ballot, peer)
    amended = cast(ballot(WANG, BallotRole.PEER, {LIU: "91", CHEN: "85"}), state=first)
    all_staff = cast(ballot(SUN, BallotRole.ALL_STAFF, {LIU: "99", WANG: "97"}))
    paired = cast(ballot(LI, BallotRole.PAIRED, {LIU: "98"}))
    branch = cast(ballot(WANG, BallotRole.BRANCH, {LIU: "93", CHEN: "90"}))
    tally = tally_member(
        replace(PEER_Q1, closed=True),
        member_id=LIU.person_id,
        branch_id=LIU.branch_id,
        scores={BallotRole.PEER: [Decimal("91"), Decimal("85"), Decimal("88")]},
        policy_id="default",
        policy=SEED_POLICY,
    )
    return [
        *(("", event) for event in (*opening, *adjusted, *closing, *due, tally)),
        *((WANG.person_id, event) for event in (*peer, *amended, *branch)),
        *((SUN.person_id, event) for event in all_staff),
        *((LI.person_id, event) for event in paired),
    ]
