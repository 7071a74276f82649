"""Casting and amending ballots.

The reviewer's id is used here, inside the service, for two things only: to recompute their
pseudonym with the period's key, and to look them up on the roster. It goes into no event,
no envelope and no table: the ballot's stream, its events' actor and its read rows all carry
the pseudonym. Ballot events are private (never published), and they get a fresh correlation
id rather than the request's, which a client could choose in order to tag its own ballot.

The first cast stores the hash of the ballot's receipt code (``rv_receipts``, with no
pseudonym beside it) and answers the code, so the reviewer can confirm after the period
closed, even after its key is gone, that their ballot was counted.

Twenty simultaneous submissions by one reviewer race on one stream. The stream's expected
version lets one of them append and turns the others into a ``ConcurrencyError`` (and the
unique key on the ballot lines would refuse a second counted line even if it did not); each
loser is then decided once more on the stream as it now stands, which finds nothing to
change for the same ballot, or amends it for a different one.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Unpack

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.commands import CastBallot
from services.reviews.domain import (
    BallotState,
    RosterEntry,
    RosterSnapshot,
    as_rated,
    ballot_pseudonym,
    ballot_stream,
    decide_cast_ballot,
    evolve_ballot,
    receipt_code,
    receipt_hash,
)
from services.reviews.handlers import access
from services.reviews.handlers.base import transaction
from services.reviews.handlers.cache import Snapshot, for_database
from services.reviews.policy import ReviewPolicy
from services.reviews.projections import queries
from shared.auth import Role
from shared.contracts import Actor, Org
from shared.contracts.reviews import BallotAmended, BallotCast, BallotRole
from shared.errors import ConcurrencyError, NotFound
from shared.handlers import Dependencies, Loaded

_ATTEMPTS = 2


class Outcome(StrEnum):
    CAST = "cast"
    AMENDED = "amended"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return {
            Outcome.CAST: "投票成功",
            Outcome.AMENDED: "已修改选票，以最后一次为准",
            Outcome.UNCHANGED: "选票内容与上次相同，无需修改",
        }[self]


class BallotReceipt(BaseModel):
    """What the reviewer is told. It names neither the reviewer nor their pseudonym."""

    model_config = ConfigDict(
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "period_id": "rp-2024-peer-q1-b-101",
                    "role": "peer",
                    "outcome": "cast",
                    "message": "投票成功",
                    "members": 4,
                    "events": ["BallotCast"],
                    "receipt": "7KQ2M-XH4PD-9TRWB-C3NEF",
                }
            ]
        },
    )

    period_id: str
    role: BallotRole
    outcome: Outcome
    message: str
    members: int = Field(description="选票评议的党员人数")
    events: list[str] = Field(description="types of the events recorded; [] if none")
    receipt: str = Field(
        description="投票回执码：评议期结束后可凭此核验选票已计入（不含评分，不能证明投了什么）"
    )


async def cast_ballot(command: CastBallot, **deps: Unpack[Dependencies]) -> BallotReceipt:
    principal = deps["principal"]
    if command.reviewer_id != principal.person_id:
        raise ValueError("the reviewer is the authenticated person, never the request's choice")
    acting = access.reviewer(principal, command.role)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return await _cast_once(command, acting, deps)
        except (ConcurrencyError, IntegrityError):
            if attempt == _ATTEMPTS:
                raise ConcurrencyError(
                    "你的选票正在被另一次提交修改，请稍后刷新查看并在需要时重新提交"
                ) from None
    raise AssertionError("unreachable")


async def _cast_once(command: CastBallot, acting: Role, deps: Dependencies) -> BallotReceipt:
    cache = for_database(deps["db"])
    async with transaction(deps, fresh_correlation=True) as uow:
        session = uow.session
        # With the period's key at hand, the first statement also finds the ballot's stream.
        known_key = cache.key(command.period_id)
        guess = None if known_key is None else _ballot_stream(command, known_key)
        context = await queries.cast_context(session, command.period_id, ballot_stream=guess)
        if context is None or context.key is None:
            cache.forget_keys([command.period_id])
            raise NotFound(f"评议期“{command.period_id}”不存在")
        period, key = context.period, context.key
        if period.closed:
            cache.forget_keys([command.period_id])
        elif key != known_key:
            cache.keep_key(command.period_id, key)
        cached = cache.at(context.roster_token)
        policy = await _policy(session, cached, period.year)
        pseudonym = ballot_pseudonym(key, command.period_id, command.reviewer_id, command.role)
        roster = await _snapshot(session, cached, command, year=period.year)
        if roster.rated:
            roster = await _as_subjects(session, cached, roster, period.period_id, period.year)
        stream = ballot_stream(command.period_id, command.role, pseudonym)
        if stream == guess and context.ballot_version is None:
            ballot: Loaded[BallotState] = Loaded(stream, None, 0, evolve_ballot)  # none yet
        else:
            ballot = await uow.load(stream, evolve_ballot)
        events = decide_cast_ballot(
            ballot.state,
            command,
            period=period,
            roster=roster,
            pseudonym=pseudonym,
            probationary_members_vote=policy.probationary_members_vote,
            now=uow.now,
        )
        reviewer = roster.reviewer
        assert reviewer is not None, "the decision refuses a reviewer the roster does not know"
        await uow.record(
            ballot,
            events,
            actor=Actor(ref=pseudonym, role=acting.value),
            org=Org(unit=reviewer.unit_id or None, branch=reviewer.branch_id),
            partition_key=reviewer.branch_id,
            year=period.year,
        )
        receipt = receipt_code(key, command.period_id, pseudonym)
        if any(isinstance(e, BallotCast) for e in events):
            await session.execute(
                insert(t.receipts).values(
                    period_id=command.period_id, receipt_hash=receipt_hash(receipt)
                )
            )
    outcome = Outcome.UNCHANGED
    if any(isinstance(e, BallotCast) for e in events):
        outcome = Outcome.CAST
    elif any(isinstance(e, BallotAmended) for e in events):
        outcome = Outcome.AMENDED
    return BallotReceipt(
        period_id=command.period_id,
        role=command.role,
        outcome=outcome,
        message=outcome.label,
        members=len(command.scores),
        events=[e.type_name for e in events],
        receipt=receipt,
    )


def _ballot_stream(command: CastBallot, key: bytes) -> str:
    pseudonym = ballot_pseudonym(key, command.period_id, command.reviewer_id, command.role)
    return ballot_stream(command.period_id, command.role, pseudonym)


async def _policy(session: AsyncSession, cached: Snapshot, year: int) -> ReviewPolicy:
    policy = cached.policy(year)
    if policy is None:
        policy = await queries.policy(session, year)
        cached.keep_policy(year, policy)
    return policy


async def _snapshot(
    session: AsyncSession, cached: Snapshot, command: CastBallot, *, year: int
) -> RosterSnapshot:
    """What the decision needs of the roster: the reviewer, the people rated, and the members
    the reviewer is paired with in the period's year. From the cache where it has them."""
    people: dict[str, RosterEntry | None] = {}
    missing: list[str] = []
    for person_id in [command.reviewer_id, *(line.member_id for line in command.scores)]:
        known, entry = cached.person(person_id)
        if known:
            people[person_id] = entry
        else:
            missing.append(person_id)
    if missing:
        found = await queries.roster_entries(session, missing)
        read = {person_id: found.get(person_id) for person_id in missing}
        cached.keep_people(read)
        people.update(read)
    paired = cached.paired(year, command.reviewer_id)
    if paired is None:
        pairings = await queries.pairings(session, year=year, employee_ids=[command.reviewer_id])
        paired = pairings.get(command.reviewer_id, frozenset())
        cached.keep_paired(year, command.reviewer_id, paired)
    rated = {}
    for line in command.scores:
        entry = people[line.member_id]
        if entry is not None:
            rated[line.member_id] = entry
    return RosterSnapshot(reviewer=people[command.reviewer_id], rated=rated, paired_members=paired)


async def _as_subjects(
    session: AsyncSession, cached: Snapshot, roster: RosterSnapshot, period_id: str, year: int
) -> RosterSnapshot:
    """The people rated as the period's subjects: who moved since it opened, who is exempt."""
    moves = cached.period_moves(period_id)
    if moves is None:
        moves = await queries.period_moves(session, period_id)
        cached.keep_period_moves(period_id, moves)
    exempt = cached.exempt(year)
    if exempt is None:
        exempt = await queries.exempt_members(session, year)
        cached.keep_exempt(year, exempt)
    if not moves and not exempt:
        return roster
    rated = {
        member_id: as_rated(entry, moves=moves, exempt=exempt)
        for member_id, entry in roster.rated.items()
    }
    return replace(roster, rated=rated)
