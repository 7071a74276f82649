"""The reviews service's read side: what it learns from other services' topics (``apply``,
the consumer's projection: the roster from pledges, the review policy from scoring), its own
read tables (``project``, in the handlers' transactions), the reads over them and the views
the API answers with."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews.projections import policy, roster
from services.reviews.projections.records import project
from shared.eventstore import StoredEvent


async def apply(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    """The checkpointed consumer's projection for the pledges and scoring topics."""
    await roster.apply(session, events)
    await policy.apply(session, events)


__all__ = ["apply", "project"]
