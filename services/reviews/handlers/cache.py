"""What a ballot needs that rarely changes, kept in memory between commands.

A ballot reads the roster entries of the reviewer and the people rated, the reviewer's
pairings, the year's policy and exemptions, and the period's moved members. They change only
when the consumer applies a roster or policy event, which writes a fresh random token into
``rv_cache_tokens`` in the same transaction (``projections.tokens.bump``). A command reads
the token in its first statement (with its lock on the period) and hands it to
:meth:`CommandCache.at`: under another token everything cached is dropped first, so a change
committed before that statement is always seen. This holds across instances (each has its
own cache; the token is in the shared database) and across restarts.

Entries read by a command are stored only if the cache is still at the token that command
read: a command that read an older token (a change committed meanwhile, seen by a newer
command) cannot put what it read under the newer one.

A period's key is kept only while the period is open, for at most ``KEY_SECONDS``: knowing the
key before the first statement lets that statement also find the reviewer's ballot stream.
Every command still reads the key row in that statement and uses what the database says (a
different or missing key drops the cached one), a closed period's key is dropped as soon as a
command or this instance's close sees it, and no key outlives ``KEY_SECONDS`` in memory, far
less than the days a closed period's key is retained.

There is one cache per :class:`~shared.db.Database` (per service instance).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from services.reviews.domain import RosterEntry
from services.reviews.policy import ReviewPolicy
from shared.db import Database

KEY_SECONDS = 10.0
MAX_ENTRIES = 200_000
"""A bound on each map; past it the map starts again empty (a whole company's roster fits)."""
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class CommandCache:
    token: str | None = None
    people: dict[str, RosterEntry | None] = field(default_factory=dict)
    """Roster entries by person id; None: not on the roster (under this token)."""
    pairings: dict[tuple[int, str], frozenset[str]] = field(default_factory=dict)
    """The members an employee is paired with in a year, by (year, employee id)."""
    policies: dict[int, ReviewPolicy] = field(default_factory=dict)
    moves: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per period, the members who moved while it was open and the branch reviewing them."""
    exempt: dict[int, frozenset[str]] = field(default_factory=dict)
    """Per year, the members exempted from its review."""
    keys: dict[str, tuple[bytes, float]] = field(default_factory=dict)
    """Open periods' keys with the monotonic time they expire at."""

    def at(self, token: str | None) -> Snapshot:
        """The cache as of ``token``, read in the command's transaction."""
        if token != self.token:
            self.people.clear()
            self.pairings.clear()
            self.policies.clear()
            self.moves.clear()
            self.exempt.clear()
            self.token = token
        return Snapshot(self, token)

    def key(self, period_id: str) -> bytes | None:
        found = self.keys.get(period_id)
        if found is None:
            return None
        if found[1] <= time.monotonic():
            del self.keys[period_id]
            return None
        return found[0]

    def keep_key(self, period_id: str, key: bytes) -> None:
        if len(self.keys) >= MAX_ENTRIES:
            self.keys.clear()
        self.keys[period_id] = (key, time.monotonic() + KEY_SECONDS)

    def forget_keys(self, period_ids: Iterable[str]) -> None:
        for period_id in period_ids:
            self.keys.pop(period_id, None)


@dataclass(frozen=True)
class Snapshot:
    """One command's view: reads hit the cache, stores happen only while it is current."""

    cache: CommandCache
    token: str | None

    @property
    def current(self) -> bool:
        return self.cache.token == self.token

    def person(self, person_id: str) -> tuple[bool, RosterEntry | None]:
        """(known, entry): ``known`` False when the roster must be read."""
        if person_id in self.cache.people:
            return True, self.cache.people[person_id]
        return False, None

    def keep_people(self, entries: dict[str, RosterEntry | None]) -> None:
        if self.current:
            _bounded(self.cache.people).update(entries)

    def paired(self, year: int, employee_id: str) -> frozenset[str] | None:
        return self.cache.pairings.get((year, employee_id))

    def keep_paired(self, year: int, employee_id: str, members: frozenset[str]) -> None:
        if self.current:
            _bounded(self.cache.pairings)[(year, employee_id)] = members

    def policy(self, year: int) -> ReviewPolicy | None:
        return self.cache.policies.get(year)

    def keep_policy(self, year: int, policy: ReviewPolicy) -> None:
        if self.current:
            self.cache.policies[year] = policy

    def period_moves(self, period_id: str) -> dict[str, str] | None:
        return self.cache.moves.get(period_id)

    def keep_period_moves(self, period_id: str, moves: dict[str, str]) -> None:
        if self.current:
            _bounded(self.cache.moves)[period_id] = moves

    def exempt(self, year: int) -> frozenset[str] | None:
        return self.cache.exempt.get(year)

    def keep_exempt(self, year: int, members: frozenset[str]) -> None:
        if self.current:
            self.cache.exempt[year] = members


def _bounded(mapping: dict[K, V]) -> dict[K, V]:
    if len(mapping) >= MAX_ENTRIES:
        mapping.clear()
    return mapping


_CACHES: weakref.WeakKeyDictionary[Database, CommandCache] = weakref.WeakKeyDictionary()


def for_database(db: Database) -> CommandCache:
    """The cache of the service instance that writes to ``db``."""
    cache = _CACHES.get(db)
    if cache is None:
        cache = _CACHES[db] = CommandCache()
    return cache
