"""What a rebuild in catch-up mode has left to derive (``pending``), and deriving it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.projections.derive import (
    cards_touched,
    recompute_branch_stats,
    recompute_cards,
)
from services.scoring.projections.facts import Touched
from services.scoring.projections.rows import chunks
from shared.messaging.consumer import upsert

SETTLE_CHUNK = 2000
"""Members derived per statement group; each chunk forgets what it derived."""


async def remember(session: AsyncSession, touched: Touched) -> None:
    rows = (
        [{"kind": "member", "key": m, "year": y} for m, y in sorted(touched.members)]
        + [{"kind": "person", "key": p, "year": 0} for p in sorted(touched.people)]
        + [{"kind": "year", "key": "", "year": y} for y in sorted(touched.years)]
        + [{"kind": "branch", "key": b, "year": y} for b, y in sorted(touched.branches)]
        + [{"kind": "period", "key": p, "year": 0} for p in sorted(touched.periods)]
        + [{"kind": "bcards", "key": b, "year": 0} for b in sorted(touched.branch_cards)]
        + [{"kind": "activity", "key": b, "year": y} for b, y in sorted(touched.activity)]
    )
    if rows:
        await upsert(session, t.pending, rows, ["kind", "key", "year"])


async def settle(session: AsyncSession) -> int:
    """Derive every card and statistic remembered, then forget them; answers how many keys.
    Runs in the caller's transaction, in chunks of members so that memory stays bounded."""
    rows = await session.execute(select(t.pending.c.kind, t.pending.c.key, t.pending.c.year))
    touched = Touched()
    for kind, key, year in rows:
        if kind == "member":
            touched.members.add((key, year))
        elif kind == "person":
            touched.people.add(key)
        elif kind == "year":
            touched.years.add(year)
        elif kind == "period":
            touched.periods.add(key)
        elif kind == "bcards":
            touched.branch_cards.add(key)
        elif kind == "activity":
            touched.activity.add((key, year))
        else:
            touched.branches.add((key, year))
    count = len(touched.members) + len(touched.people) + len(touched.years)
    count += len(touched.branches) + len(touched.periods) + len(touched.branch_cards)
    count += len(touched.activity)
    if not count:
        return 0
    members = await cards_touched(session, touched)
    branches = set(touched.branches)
    for part in chunks(sorted(members), SETTLE_CHUNK):
        branches |= await recompute_cards(session, set(part))
    if branches:
        await recompute_branch_stats(session, branches)
    await session.execute(delete(t.pending))
    return count
