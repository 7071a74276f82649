"""The review policy per year, applied from the scoring topic: the last policy adopted for a
year is the one in force (as in the scoring service). Adopting one renews the roster token,
so commands drop the policies they cached."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from services.reviews.projections import queries, tokens, turnout_counts
from shared.contracts.encoding import canonical_json
from shared.contracts.scoring import ScoringPolicyAdopted
from shared.eventstore import StoredEvent
from shared.messaging.consumer import upsert


async def apply(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    latest: dict[int, ScoringPolicyAdopted] = {}
    for item in events:
        if isinstance(item.event, ScoringPolicyAdopted):
            latest[item.event.year] = item.event
    if not latest:
        return
    # The roster lock first, before any row is written: a roster batch holds it while it
    # writes the roster token that this transaction writes too (the order of the two locks
    # must be the same everywhere, or each waits for the other: deadlock on PostgreSQL).
    await turnout_counts.serialize(session)
    votes = {y: (await queries.policy(session, y)).probationary_members_vote for y in latest}
    await upsert(
        session,
        t.policies,
        [
            {
                "year": year,
                "policy_id": event.policy_id,
                "probationary_members_vote": event.policy.probationary_members_vote,
                "min_peer": event.policy.min_ballots.peer,
                "min_mass": event.policy.min_ballots.mass,
                "min_branch": event.policy.min_ballots.branch,
                "policy": canonical_json(event.policy.model_dump(mode="json")).decode("utf-8"),
            }
            for year, event in sorted(latest.items())
        ],
        ["year"],
    )
    await tokens.bump(session)
    # Whether probationary members review changes who is eligible in the year's peer review.
    changed = [y for y, e in latest.items() if e.policy.probationary_members_vote != votes[y]]
    if changed:
        await turnout_counts.recount(session, years=changed)
