"""Read models of the scoring service, fed by the checkpointed consumer.

``apply`` runs once per batch inside the consumer's transaction: the batch's facts are
written first (``facts``), then the cards and branch statistics they touch are recomputed
from the fact tables (``derive``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.projections.derive import recompute
from services.scoring.projections.facts import FactBatch
from shared.eventstore import StoredEvent


async def apply(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    touched = await FactBatch().apply(session, events)
    await recompute(session, touched)


__all__ = ["apply"]
