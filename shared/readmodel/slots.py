"""Blue/green slots of a rebuildable read model.

A read model (scoring's cards, statistics and board tables) is the projection's tables **and**
its consumer's checkpoints, kept together in one *slot* so that a batch and its offsets
commit in one transaction. A service has two slots, ``blue`` and ``green``:

- on SQLite each slot is its own file beside the service's database
  (``var/scoring.db`` → ``var/scoring.read-blue.db``);
- on PostgreSQL each slot is a schema of the service's database (``rm_scoring_blue``), reached
  through SQLAlchemy's ``schema_translate_map`` so the same Table objects serve both.

The service's own database holds the registry (``rm_slots``): which slot is ``active``. Reads
and the live consumer follow the active slot; ``suxing rebuild`` builds the other one from
offset 0, verifies it against the active one and switches the pointer in one transaction.
Read models are rebuilt, never migrated: a changed projection is a new version built beside
the old one.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, Table, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.eventstore.tables import (
    consumer_offsets,
    consumer_streams,
    dead_letters,
    kernel_metadata,
    read_model_slots,
)
from shared.messaging.consumer import Apply
from shared.readmodel.fold import FoldFactory

SLOTS = ("blue", "green")
Settle = Callable[[AsyncSession], Awaitable[object]]
CHECKPOINT_TABLES: tuple[Table, ...] = (consumer_offsets, consumer_streams, dead_letters)


class SlotError(Exception):
    """A slot operation that cannot go ahead (a message for the operator)."""


@dataclass(frozen=True)
class ReadModelSpec:
    """What a service declares about its rebuildable read model."""

    name: str
    metadata: MetaData
    version: str
    catch_up: Apply | None = None
    """The projection for replaying a long stretch of the log (a rebuild): it may leave
    derived rows to ``settle``. None: the live projection is used."""
    settle: Settle | None = None
    """Derives what ``catch_up`` left, in the caller's transaction; run when caught up."""
    fold: FoldFactory | None = None
    """Folds the log in memory into an empty slot (shared/readmodel/fold.py); None: an empty
    slot is filled batch by batch like any other."""

    @property
    def tables(self) -> list[Table]:
        return list(self.metadata.sorted_tables)


@dataclass(frozen=True)
class SlotInfo:
    slot: str
    state: str
    version: str
    started_at: datetime
    updated_at: datetime
    switched_at: datetime | None
    note: str | None


def _vacuum(path: str) -> None:
    conn = sqlite3.connect(path, timeout=30)
    try:
        conn.execute("VACUUM")
    finally:
        conn.close()


def other(slot: str) -> str:
    return SLOTS[1 - SLOTS.index(slot)]


class ReadModel:
    """The slots of one read model of one service database."""

    def __init__(self, spec: ReadModelSpec, db: Database) -> None:
        self.spec = spec
        self.db = db
        self._databases: dict[str, Database] = {}

    # Where a slot lives.

    def slot_url(self, slot: str) -> str:
        if slot not in SLOTS:
            raise SlotError(f"unknown slot {slot!r}; one of {', '.join(SLOTS)}")
        if not self.db.sqlite:
            return self.db.url
        url = make_url(self.db.url)
        if not url.database or url.database == ":memory:":
            raise SlotError("a read model on SQLite needs a database file, not :memory:")
        path = Path(url.database)
        slot_path = path.with_name(f"{path.stem}.read-{slot}{path.suffix}")
        return url.set(database=str(slot_path)).render_as_string(hide_password=False)

    def schema(self, slot: str) -> str | None:
        return None if self.db.sqlite else f"rm_{self.spec.name}_{slot}"

    def database(self, slot: str) -> Database:
        if slot not in self._databases:
            self._databases[slot] = Database(self.slot_url(slot), schema=self.schema(slot))
        return self._databases[slot]

    async def dispose(self) -> None:
        for database in self._databases.values():
            await database.dispose()
        self._databases.clear()

    # The registry.

    async def slots(self) -> dict[str, SlotInfo]:
        async with self.db.reading() as session:
            rows = await session.execute(
                select(read_model_slots).where(read_model_slots.c.read_model == self.spec.name)
            )
            return {
                row.slot: SlotInfo(
                    slot=row.slot,
                    state=row.state,
                    version=row.version,
                    started_at=row.started_at,
                    updated_at=row.updated_at,
                    switched_at=row.switched_at,
                    note=row.note,
                )
                for row in rows
            }

    async def active(self) -> str | None:
        async with self.db.reading() as session:
            value: str | None = await session.scalar(
                select(read_model_slots.c.slot).where(
                    read_model_slots.c.read_model == self.spec.name,
                    read_model_slots.c.state == "active",
                )
            )
            return value

    async def ensure_active(self) -> str:
        """The active slot; on a new database, ``blue`` becomes it (created empty, so the
        consumer builds it from offset 0). Safe when several instances start together.

        An active slot of another projection version (the code's read model changed shape) is
        emptied, checkpoints included, so the consumer builds it anew from offset 0: a read
        model is rebuilt, never migrated."""
        current = await self.active()
        if current is not None:
            was = (await self.slots())[current].version
            if was != self.spec.version:
                await self.reset(current)
                await self.mark(
                    current, "active", note=f"{was} -> {self.spec.version}: rebuilt from 0"
                )
            else:
                await self.create_tables(current)
            return current
        await self.create_tables(SLOTS[0])
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            builder = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
            await session.execute(
                builder(read_model_slots)
                .values(
                    read_model=self.spec.name,
                    slot=SLOTS[0],
                    state="active",
                    version=self.spec.version,
                    started_at=now,
                    updated_at=now,
                    switched_at=now,
                )
                .on_conflict_do_nothing()
            )
        found = await self.active()
        if found is None:
            raise SlotError(f"{self.spec.name}: no active slot after creating one")
        return found

    async def mark(self, slot: str, state: str, note: str | None = None) -> None:
        now = datetime.now(UTC)
        builder = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        async with self.db.transaction() as session:
            stmt = builder(read_model_slots).values(
                read_model=self.spec.name,
                slot=slot,
                state=state,
                version=self.spec.version,
                started_at=now,
                updated_at=now,
                note=note,
            )
            await session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["read_model", "slot"],
                    set_={
                        "state": state,
                        "version": self.spec.version,
                        "updated_at": now,
                        "note": note,
                        **({"started_at": now} if state == "building" else {}),
                    },
                )
            )

    async def switch(self, to: str, *, expected_active: str) -> None:
        """Make ``to`` the active slot and retire the previous one, in one transaction.
        Refused when the active slot changed meanwhile (another rebuild switched first)."""
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            current = await session.scalar(
                select(read_model_slots.c.slot)
                .where(
                    read_model_slots.c.read_model == self.spec.name,
                    read_model_slots.c.state == "active",
                )
                .with_for_update()
            )
            if current != expected_active:
                raise SlotError(
                    f"{self.spec.name}: the active slot is {current}, not {expected_active}; "
                    "another rebuild switched meanwhile"
                )
            rows = read_model_slots.c
            await session.execute(
                update(read_model_slots)
                .where(rows.read_model == self.spec.name, rows.slot == expected_active)
                .values(state="retired", updated_at=now)
            )
            await session.execute(
                update(read_model_slots)
                .where(rows.read_model == self.spec.name, rows.slot == to)
                .values(state="active", updated_at=now, switched_at=now)
            )

    # Tables of a slot.

    async def create_tables(self, slot: str) -> None:
        database = self.database(slot)
        if database.schema is not None:
            async with self.db.connect() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{database.schema}"'))
        async with database.connect() as conn:
            await conn.run_sync(kernel_metadata.create_all, tables=list(CHECKPOINT_TABLES))
            await conn.run_sync(self.spec.metadata.create_all)

    async def drop_tables(self, slot: str) -> None:
        """Remove the slot's tables and checkpoints (its data is gone; a rebuild makes it again)."""
        database = self.database(slot)
        if database.schema is not None:
            await database.dispose()
            self._databases.pop(slot, None)
            async with self.db.connect() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{database.schema}" CASCADE'))
            return
        async with database.connect() as conn:
            await conn.run_sync(self.spec.metadata.drop_all)
            await conn.run_sync(kernel_metadata.drop_all, tables=list(CHECKPOINT_TABLES))
        # Give the space back (the file stays: a running service may hold it open).
        path = make_url(database.url).database
        if path:
            await asyncio.to_thread(_vacuum, path)

    async def reset(self, slot: str) -> None:
        await self.drop_tables(slot)
        await self.create_tables(slot)

    def table_names(self) -> Sequence[str]:
        return [t.name for t in (*CHECKPOINT_TABLES, *self.spec.tables)]
