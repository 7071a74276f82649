"""Batch-style access to projection rows: read every row a batch needs in a few queries,
change them in memory in log order, write each changed row once."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.messaging.consumer import upsert

CHUNK = 500

Key = tuple[Hashable, ...]
Row = dict[str, Any]


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def key_filter(table: Table, columns: Sequence[str], keys: Sequence[Key]) -> Any:
    if len(columns) == 1:
        return table.c[columns[0]].in_([key[0] for key in keys])
    return tuple_(*(table.c[name] for name in columns)).in_(keys)


def loose_key_filter(table: Table, columns: Sequence[str], keys: Sequence[Key]) -> Any:
    """Each column in its own values among ``keys``: the rows of ``keys`` and perhaps more
    (the caller keeps those whose key it asked for). PostgreSQL plans a row-value IN list
    (``key_filter``) as one OR term per key, evaluated on every candidate row (100-200 ms a
    statement for 500 keys in the live consumer); a list per column is an index lookup."""
    return and_(
        *(
            table.c[name].in_(sorted({key[i] for key in keys}, key=repr))
            for i, name in enumerate(columns)
        )
    )


async def select_by_keys(
    session: AsyncSession, table: Table, columns: Sequence[str], keys: Iterable[Key]
) -> list[Row]:
    """Rows whose ``columns`` equal one of ``keys``, in chunks the databases accept."""
    ordered = sorted(set(keys), key=repr)
    found: list[Row] = []
    for part in chunks(ordered):
        if len(columns) == 1:
            result = await session.execute(select(table).where(key_filter(table, columns, part)))
            found.extend(dict(row) for row in result.mappings())
            continue
        wanted = set(part)
        result = await session.execute(select(table).where(loose_key_filter(table, columns, part)))
        found.extend(
            dict(row) for row in result.mappings() if tuple(row[name] for name in columns) in wanted
        )
    return found


class RowCache:
    """The rows of one table a batch reads or writes, by primary key."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.key_columns = tuple(column.name for column in table.primary_key.columns)
        self.columns = tuple(column.name for column in table.columns)
        self._wanted: set[Key] = set()
        self._rows: dict[Key, Row | None] = {}
        self._dirty: set[Key] = set()

    def want(self, *key: Hashable) -> None:
        self._wanted.add(key)

    async def load(self, session: AsyncSession) -> None:
        missing = [key for key in self._wanted if key not in self._rows]
        for row in await select_by_keys(session, self.table, self.key_columns, missing):
            self._rows[self._key_of(row)] = row
        for key in missing:
            self._rows.setdefault(key, None)

    def get(self, *key: Hashable) -> Row | None:
        return self._rows.get(key)

    def put(self, row: Row) -> None:
        key = self._key_of(row)
        self._rows[key] = dict(row)
        self._dirty.add(key)

    def update(self, *key: Hashable, **values: Any) -> Row | None:
        """Change an existing row; None (and nothing written) when the row is unknown."""
        current = self._rows.get(key)
        if current is None:
            return None
        current.update(values)
        self._dirty.add(key)
        return current

    async def flush(self, session: AsyncSession) -> None:
        rows = [self._rows[key] for key in sorted(self._dirty, key=repr)]
        written = [row for row in rows if row is not None]
        for part in chunks(written):
            await upsert(session, self.table, list(part), self.key_columns)
        self._dirty.clear()

    def put_new(self, rows: Sequence[tuple[Any, ...]]) -> bool:
        """Hold ``rows``, given as tuples in column order (another fold's export), as put
        would; False (and nothing held) when a key among them is held already."""
        columns = self.columns
        picks = [map(itemgetter(columns.index(name)), rows) for name in self.key_columns]
        keys = list(zip(*picks, strict=True))
        if not self._rows.keys().isdisjoint(keys):
            return False
        held = [dict(zip(columns, values, strict=True)) for values in rows]
        self._rows.update(zip(keys, held, strict=True))
        self._dirty.update(keys)
        return True

    def rows(self) -> list[Row]:
        """Every row held (a fold's whole table), in the order first seen."""
        return [row for row in self._rows.values() if row is not None]

    def _key_of(self, row: Row) -> Key:
        return tuple(row[name] for name in self.key_columns)


async def delete_by_keys(
    session: AsyncSession, table: Table, columns: Sequence[str], keys: Iterable[Key]
) -> None:
    ordered = sorted(set(keys), key=repr)
    for part in chunks(ordered):
        await session.execute(delete(table).where(key_filter(table, columns, part)))
