"""The service's own read tables, kept in step with its events in the transaction that
appends them (the unit of work calls ``project``): a cast and the next query agree at once.

A ballot's lines are replaced whole when it is amended, as the event says. Inserting them
meets the unique constraint (period, role, pseudonym, member): a second counted line for the
same reviewer and member cannot be written, whatever happened before. A period's turnout
counts are started when it opens, and a first ballot adds to them (``turnout_counts``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.projections import queries, turnout_counts
from shared.contracts.encoding import canonical_json
from shared.contracts.reviews import (
    BallotAmended,
    BallotCast,
    MemberReviewed,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewPeriodWindowAdjusted,
)
from shared.eventstore import StoredEvent


async def project(session: AsyncSession, stored: Sequence[StoredEvent]) -> None:
    for item in stored:
        event = item.event
        at = item.envelope.occurred_at
        match event:
            case ReviewPeriodOpened():
                await session.execute(
                    insert(t.periods).values(
                        period_id=event.period_id,
                        kind=event.kind.value,
                        period=event.period.value,
                        year=event.year,
                        scope_level=event.scope.level.value,
                        unit_id=event.scope.unit_id,
                        branch_id=event.scope.branch_id,
                        deadline=event.deadline,
                        opens_on=event.opens_on,
                        closes_on=event.closes_on,
                        closed=False,
                        opened_at=at,
                    )
                )
                state = await queries.period(session, event.period_id)
                assert state is not None
                await turnout_counts.period_opened(session, state)
            case ReviewPeriodWindowAdjusted():
                await session.execute(
                    update(t.periods)
                    .where(t.periods.c.period_id == event.period_id)
                    .values(opens_on=event.opens_on, closes_on=event.closes_on)
                )
            case ReviewPeriodClosed():
                await session.execute(
                    update(t.periods)
                    .where(t.periods.c.period_id == event.period_id)
                    .values(closed=True, closing_reason=event.reason.value, closed_at=at)
                )
            case MemberReviewed():
                await session.execute(
                    insert(t.tallies).values(
                        period_id=event.period_id,
                        member_id=event.member_id,
                        branch_id=event.branch_id,
                        year=event.year,
                        tally=canonical_json(event.model_dump(mode="json")).decode("utf-8"),
                    )
                )
            case BallotCast() | BallotAmended():
                sheet = (
                    t.ballot_sheets.c.period_id == event.period_id,
                    t.ballot_sheets.c.role == event.role.value,
                    t.ballot_sheets.c.pseudonym == event.reviewer_pseudonym,
                )
                if isinstance(event, BallotCast):
                    await session.execute(
                        insert(t.ballot_sheets).values(
                            period_id=event.period_id,
                            role=event.role.value,
                            pseudonym=event.reviewer_pseudonym,
                            branch_id=event.branch_id,
                            amendments=0,
                            updated_at=at,
                        )
                    )
                    # The voter was just found eligible in this branch: 1 voted, 1 ballot.
                    await turnout_counts.ballot_cast(
                        session, event.period_id, event.role, event.branch_id
                    )
                else:
                    await session.execute(
                        update(t.ballot_sheets)
                        .where(*sheet)
                        .values(amendments=t.ballot_sheets.c.amendments + 1, updated_at=at)
                    )
                    await session.execute(
                        delete(t.ballot_lines).where(
                            t.ballot_lines.c.period_id == event.period_id,
                            t.ballot_lines.c.role == event.role.value,
                            t.ballot_lines.c.pseudonym == event.reviewer_pseudonym,
                        )
                    )
                await session.execute(
                    insert(t.ballot_lines),
                    [
                        {
                            "period_id": event.period_id,
                            "role": event.role.value,
                            "pseudonym": event.reviewer_pseudonym,
                            "member_id": line.member_id,
                            "branch_id": event.branch_id,
                            "score": line.score,
                            "comment": line.comment,
                        }
                        for line in event.scores
                    ],
                )
