"""Tokens that tell a command whether what it cached is still current (``rv_cache_tokens``;
the cache itself is ``services/reviews/handlers/cache.py``)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reviews import persistence as t
from shared.messaging.consumer import upsert

ROSTER = "roster"
"""The roster tables and the policies, which the consumer writes."""


async def bump(session: AsyncSession, name: str = ROSTER) -> None:
    """Make every instance drop what it cached of ``name``: called in the transaction that
    changes it, so the new token commits with the change or not at all."""
    await upsert(session, t.cache_tokens, [{"name": name, "token": uuid.uuid4().hex}], ["name"])


def current(name: str = ROSTER) -> Any:
    """The token of ``name`` as a scalar subquery (NULL before the first change)."""
    return select(t.cache_tokens.c.token).where(t.cache_tokens.c.name == name).scalar_subquery()
