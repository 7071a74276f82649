"""The ballot aggregate: one per reviewer, period and role, stream
``review-ballot-{period_id}-{role}-{pseudonym}``.

Why this granularity rather than one aggregate per reviewer, member and period:

- A ballot is one sheet, as on paper: a peer or all-staff reviewer rates many members at
  once, and the rules hold per sheet (no member twice, none of them oneself). One stream per
  sheet makes the sheet one event, so it is counted whole or not at all; per-member
  aggregates would need a write across many streams for one ballot.
- "The last one counts" is the stream's latest event, and the stream's expected version
  serializes a reviewer's concurrent submissions: of twenty simultaneous casts one appends
  ``BallotCast`` and the others get a concurrency conflict (or, retried, amend or find
  nothing to change). Nobody can hold two counted ballots for the same period.
- The role is part of the identity because the mass review has two: an employee paired with
  a member rates that member as the paired employee and, like every employee, as one of the
  staff. The persistence layer's unique key "one ballot per reviewer x member x period" is
  therefore (period, role, pseudonym, member); for peer and branch reviews the role follows
  from the period, so it is the same constraint.

The stream name holds the pseudonym, never the person's id, because stream names are
published in every envelope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from services.reviews.commands import CastBallot
from services.reviews.domain.base import unexpected
from services.reviews.domain.eligibility import (
    NOT_ON_ROSTER,
    RosterSnapshot,
    rated_refusal,
    reviewer_refusal,
)
from services.reviews.domain.period import PERIOD_CLOSED, ReviewPeriodState, existing_period
from shared.contracts.events import Event
from shared.contracts.reviews import BallotAmended, BallotCast, BallotRole, BallotScore
from shared.contracts.scoring import Period
from shared.errors import Conflict, Forbidden, InvalidInput

_PSEUDONYM = re.compile(r"[0-9a-f]{64}")


def ballot_stream(period_id: str, role: BallotRole, pseudonym: str) -> str:
    return f"review-ballot-{period_id}-{role.value}-{pseudonym}"


@dataclass(frozen=True, slots=True)
class BallotState:
    period_id: str
    period: Period
    year: int
    branch_id: str
    role: BallotRole
    reviewer_pseudonym: str
    scores: tuple[BallotScore, ...]
    amendments: int = 0

    def score_of(self, member_id: str) -> BallotScore | None:
        return next((entry for entry in self.scores if entry.member_id == member_id), None)


def evolve_ballot(state: BallotState | None, event: Event) -> BallotState:
    match event:
        case BallotCast() if state is None:
            return BallotState(
                period_id=event.period_id,
                period=event.period,
                year=event.year,
                branch_id=event.branch_id,
                role=event.role,
                reviewer_pseudonym=event.reviewer_pseudonym,
                scores=event.scores,
            )
        case BallotAmended() if state is not None:
            return replace(state, scores=event.scores, amendments=state.amendments + 1)
    raise unexpected(state, event)


def decide_cast_ballot(
    state: BallotState | None,
    command: CastBallot,
    *,
    period: ReviewPeriodState | None,
    roster: RosterSnapshot,
    pseudonym: str,
    probationary_members_vote: bool,
    now: datetime,
) -> list[Event]:
    """Cast a ballot, or amend the reviewer's earlier one: the new ballot replaces it whole.
    Casting the same ballot again decides nothing.

    ``state`` is the stream of ``ballot_stream(period_id, role, pseudonym)``; ``period`` the
    period the command names; ``pseudonym`` is ``ballot_pseudonym(...)`` of the reviewer for
    this period and role; ``probationary_members_vote`` the scoring policy's flag.
    """
    # These guard the handler's wiring, not the user's input: a wrong pseudonym here would
    # publish a person's id or put a ballot into someone else's stream.
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise ValueError("pseudonym must be the 64-hex-digit ballot_pseudonym of the reviewer")
    if state is not None and (state.reviewer_pseudonym, state.role, state.period_id) != (
        pseudonym,
        command.role,
        command.period_id,
    ):
        raise ValueError("the ballot state passed in is not this reviewer's ballot")
    open_period = existing_period(period, command.period_id)
    # Closed, or past its deadline (closed in all but the scheduler's record): 409. Else,
    # outside its window: 422, naming the window's days (it may yet be extended).
    if not open_period.accepts_ballots(now):
        raise Conflict(PERIOD_CLOSED)
    if (outside := open_period.outside_window(now)) is not None:
        raise outside
    reviewer = roster.reviewer
    if reviewer is None:
        raise Forbidden(NOT_ON_ROSTER)
    # Before the other checks, whose refusal (e.g. "not in scope") would not say why.
    if state is not None and state.branch_id != reviewer.branch_id:
        raise Conflict("你已调到其他党支部，原支部的选票不能再修改")
    refusal = reviewer_refusal(
        reviewer,
        role=command.role,
        period=open_period,
        paired_members=roster.paired_members,
        probationary_members_vote=probationary_members_vote,
    )
    if refusal is not None:
        raise refusal
    for line in command.scores:
        refusal = rated_refusal(
            line.member_id,
            reviewer=reviewer,
            role=command.role,
            rated=roster.rated.get(line.member_id),
            paired_members=roster.paired_members,
        )
        if refusal is not None:
            raise refusal
        if command.role is BallotRole.BRANCH and line.comment is None:
            name = roster.rated[line.member_id].name
            raise InvalidInput(f"党支部评议须为{name}填写评价意见")
    scores = tuple(
        BallotScore(member_id=line.member_id, score=line.score, comment=line.comment)
        for line in sorted(command.scores, key=lambda line: line.member_id)
    )
    if state is not None and state.scores == scores:
        return []
    event = BallotCast if state is None else BallotAmended
    return [
        event(
            period_id=open_period.period_id,
            period=open_period.period,
            year=open_period.year,
            branch_id=reviewer.branch_id,
            role=command.role,
            reviewer_pseudonym=pseudonym,
            scores=scores,
        )
    ]
