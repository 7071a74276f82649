"""The generated enterprise: its shape, the planned events, and the builder that plans them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from shared.contracts import canonical_json
from shared.contracts import pledges as pl
from shared.contracts.events import Event
from shared.contracts.reviews import (
    BallotScore,
)
from shared.contracts.scoring import Period

UNITS = 57
BRANCHES = 878
MEMBERS_PER_BRANCH = (20, 30)
EMPLOYEES_PER_BRANCH = (50, 90)
PROBATIONARY_SHARE = 0.10
PLEDGES_PER_MEMBER = (1, 2)
PAIRED_SHARE = 0.5
NEED_LINK_SHARE = 0.3
REVISION_SHARE = 0.1
AREA_CHANGE_SHARE = 0.05
YEAR = 2024
COMPANY = "company"

_AREAS = tuple(pl.ResponsibilityArea)
_CHANNELS = tuple(pl.PublicationChannel)
_QUARTER_END = {Period.Q1: 3, Period.Q2: 6, Period.Q3: 9, Period.Q4: 12}
_HALF_END = {Period.H1: 6, Period.H2: 12}


@dataclass(frozen=True, slots=True)
class Planned:
    """One event as a service would append it."""

    topic: str
    """``pledges`` or ``reviews``: the service whose log holds it."""
    stream: str
    key: str
    """The partition key: the stream's home branch (a unit's id for a unit stream,
    ``company`` for a company-wide review period)."""
    unit: str | None
    branch: str | None
    year: int | None
    occurred_at: datetime
    event: Event


@dataclass(frozen=True, slots=True)
class Branch:
    branch_id: str
    unit_id: str
    full_members: tuple[str, ...]
    probationary: tuple[str, ...]
    non_members: tuple[str, ...]
    committee: tuple[str, ...]

    @property
    def members(self) -> tuple[str, ...]:
        return self.full_members + self.probationary

    @property
    def employees(self) -> tuple[str, ...]:
        """Everyone on the branch's roster: members are employees too."""
        return self.members + self.non_members


@dataclass
class Enterprise:
    seed: int
    year: int
    units: tuple[str, ...]
    branches: tuple[Branch, ...]
    events: list[Planned] = field(default_factory=list)

    def canonical(self) -> bytes:
        """Every planned item as canonical JSON lines (for determinism checks)."""
        return b"\n".join(canonical_json(_as_json(item)) for item in self.events)


def _as_json(item: Planned) -> dict[str, object]:
    return {
        "topic": item.topic,
        "stream": item.stream,
        "key": item.key,
        "unit": item.unit,
        "branch": item.branch,
        "year": item.year,
        "occurred_at": item.occurred_at.isoformat(),
        "type": item.event.type_name,
        "version": item.event.schema_version,
        "data": item.event.model_dump(mode="json"),
    }


def period_key(seed: int, period_id: str) -> bytes:
    """The reviews service's per-period pseudonym key, here derived from the seed."""
    return hashlib.sha256(f"suxing-bench/{seed}/{period_id}".encode()).digest()


def _at(day: date, minutes: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC) + timedelta(minutes=minutes)


@dataclass(slots=True)
class _Pledge:
    pledge_id: str
    member_id: str
    branch: Branch
    area: pl.ResponsibilityArea
    paired: str | None
    need_ids: tuple[str, ...]
    due: date
    revised: bool
    first: bool


class _Builder:
    def __init__(self, seed: int, year: int) -> None:
        self.seed = seed
        self.year = year
        self.out: list[tuple[datetime, int, Planned]] = []
        self._scores: dict[tuple[str, int], BallotScore] = {}

    def add(
        self,
        topic: str,
        stream: str,
        key: str,
        branch: Branch | None,
        at: datetime,
        event: Event,
        *,
        unit: str | None = None,
    ) -> None:
        planned = Planned(
            topic=topic,
            stream=stream,
            key=key,
            unit=branch.unit_id if branch is not None else unit,
            branch=branch.branch_id if branch is not None else None,
            year=self.year,
            occurred_at=at,
            event=event,
        )
        self.out.append((at, len(self.out), planned))

    def pledges(self, stream: str, branch: Branch, at: datetime, event: Event) -> None:
        self.add("pledges", stream, branch.branch_id, branch, at, event)

    def score(self, member_id: str, value: int) -> BallotScore:
        cached = self._scores.get((member_id, value))
        if cached is None:
            cached = BallotScore(member_id=member_id, score=Decimal(value), comment=None)
            self._scores[(member_id, value)] = cached
        return cached

    def ordered(self) -> list[Planned]:
        # Stable by time, then by emission: within a stream events are emitted in causal
        # order with non-decreasing times, so each stream keeps its order.
        self.out.sort(key=lambda entry: (entry[0], entry[1]))
        return [planned for _, _, planned in self.out]
