"""``Idempotency-Key`` for commands that create something under an id the service picks.

A client that retries such a request (a timeout, a double click) sends the same key; the
service answers the first answer again and records nothing. The same key with another
request is refused (409) rather than guessed at. Keys are per person: two people may pick
the same one. The stored answer is written in the command's own transaction, so it exists
exactly when the command's events do.

The pledges service keeps its own copy of this mechanism (``services/pledges/handlers/
base.py``, table ``pl_idempotency_keys``); the reviews service uses this module with its
table ``rv_idempotency_keys``. Both tables have the same columns (``idempotency_columns``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.encoding import canonical_json
from shared.errors import Conflict

R = TypeVar("R", bound=BaseModel)

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="a retried request with the same key and body returns the first answer",
    ),
]


def idempotency_columns(ref_length: int) -> list[Column[object]]:
    return [
        Column("principal", String(ref_length), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    ]


@dataclass(frozen=True)
class IdempotencyKey:
    """The client's ``Idempotency-Key`` and a hash of the request it came with."""

    key: str
    request_hash: str

    @classmethod
    def of(cls, key: str, request: BaseModel) -> IdempotencyKey:
        # The request's kind is part of it: one key sent to two endpoints is two requests.
        payload = {"kind": type(request).__name__, "body": request.model_dump(mode="json")}
        digest = hashlib.sha256(canonical_json(payload)).hexdigest()
        return cls(key=key, request_hash=digest)


def idempotency(key: str | None, request: BaseModel) -> IdempotencyKey | None:
    return None if key is None else IdempotencyKey.of(key, request)


@dataclass(frozen=True)
class Replay(Generic[R]):
    """A stored answer: its status and body."""

    status_code: int
    body: R


async def replayed(
    session: AsyncSession,
    table: Table,
    *,
    principal: str,
    key: IdempotencyKey | None,
    answer: type[R],
) -> Replay[R] | None:
    """The stored answer to a retried request; a reused key with another request is refused."""
    if key is None:
        return None
    row = (
        await session.execute(
            select(table.c.request_hash, table.c.status_code, table.c.body).where(
                table.c.principal == principal, table.c.key == key.key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != key.request_hash:
        raise Conflict(
            f"幂等键“{key.key}”已用于另一个不同内容的请求；重试请保持请求内容不变，"
            "新的请求请使用新的幂等键"
        )
    return Replay(status_code=row.status_code, body=answer.model_validate_json(row.body))


async def remember(
    session: AsyncSession,
    table: Table,
    *,
    principal: str,
    key: IdempotencyKey | None,
    status_code: int,
    answer: BaseModel,
    now: datetime,
) -> None:
    """Store the answer in the command's transaction; a concurrent first request with the
    same key makes this one fail (and roll back) with a 409 to retry."""
    if key is None:
        return
    try:
        await session.execute(
            insert(table).values(
                principal=principal,
                key=key.key,
                request_hash=key.request_hash,
                status_code=status_code,
                body=answer.model_dump_json(),
                created_at=now,
            )
        )
    except IntegrityError:
        raise Conflict(f"使用幂等键“{key.key}”的相同请求正在处理，请稍后重试") from None
