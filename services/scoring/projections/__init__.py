"""Read models of the scoring service, fed by the checkpointed consumer.

``apply`` runs once per batch inside the consumer's transaction: the batch's facts are
written first (``facts``), then the cards and branch statistics they touch are recomputed
from the fact tables (``derive``).

A rebuild reads the whole log: recomputing after every batch would recompute each card once
per batch it appears in (quadratic in the log). ``apply_deferred`` writes the facts and only
remembers what they touched (the ``pending`` table, in the same transaction); ``settle`` derives
everything remembered at once, once the rebuild has caught up. Cards and statistics are
functions of the facts alone, so both paths end in the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.projections.derive import recompute
from services.scoring.projections.facts import FactBatch
from services.scoring.projections.pending import remember, settle
from shared.eventstore import StoredEvent


async def apply(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    touched = await FactBatch().apply(session, events)
    await recompute(session, touched)


async def apply_deferred(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    touched = await FactBatch().apply(session, events)
    await remember(session, touched)


__all__ = ["apply", "apply_deferred", "settle"]
