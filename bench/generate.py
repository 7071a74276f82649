"""A deterministic synthetic enterprise-year: the events the pledges and reviews services
would have stored for a company of units, branches, members and employees (issue 8).

    .venv/bin/python -m bench.generate --seed 1 --scale 0.02

Full size (``scale=1``) is the company of DOMAIN.md: 57 unit committees and 878 branches,
each branch with 20-30 party members (about 10% probationary) among 50-90 employees. Every
member chooses a responsibility area and declares 1-2 pledges that go declare -> (revision)
-> approve -> (pairing agreement) -> publish -> monthly ledger entries -> acceptance; needs
are submitted, classified, linked and solved; peer ballots per quarter, mass ballots (all
staff, and paired employees) and branch reviews per half-year.

The output is a list of :class:`Planned` items in causal order (the order a stack would have
appended them: within a stream the list order is the sequence order). Stream names come from
the services' domain modules; reviewer pseudonyms from the reviews domain, with a per-period
key derived from the seed, so no reviewer's person id appears anywhere in review events.
Same seed, same events.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.pledges.domain.areas import member_year_stream
from services.pledges.domain.planning import need_stream, plan_stream
from services.pledges.domain.pledge import pledge_stream
from services.pledges.domain.roster import branch_stream, person_stream, unit_stream
from services.reviews.domain.anonymity import ballot_pseudonym
from services.reviews.domain.ballot import ballot_stream
from services.reviews.domain.period import period_stream
from shared.contracts import canonical_json
from shared.contracts import pledges as pl
from shared.contracts.events import Event
from shared.contracts.reviews import (
    BallotCast,
    BallotRole,
    BallotScore,
    ClosingReason,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import HALF_YEARS, QUARTERS, Period, ReviewKind

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


def _shape(seed: int, units: int, branches: int) -> tuple[tuple[str, ...], tuple[Branch, ...]]:
    rng = random.Random(f"shape/{seed}")
    unit_ids = tuple(f"U{u + 1:02d}" for u in range(units))
    shaped: list[Branch] = []
    for b in range(branches):
        unit_id = unit_ids[b * units // branches]
        branch_id = f"B{b + 1:03d}"
        n_members = rng.randint(*MEMBERS_PER_BRANCH)
        n_employees = rng.randint(*EMPLOYEES_PER_BRANCH)
        n_probationary = sum(rng.random() < PROBATIONARY_SHARE for _ in range(n_members))
        n_probationary = min(n_probationary, n_members - 3)
        people = [f"{branch_id}P{k + 1:03d}" for k in range(n_employees)]
        members = people[:n_members]
        full = tuple(members[: n_members - n_probationary])
        committee = tuple(rng.sample(full, rng.randint(3, 5)))
        shaped.append(
            Branch(
                branch_id=branch_id,
                unit_id=unit_id,
                full_members=full,
                probationary=tuple(members[n_members - n_probationary :]),
                non_members=tuple(people[n_members:]),
                committee=tuple(sorted(committee)),
            )
        )
    return unit_ids, tuple(shaped)


def generate(
    seed: int,
    *,
    scale: float = 1.0,
    units: int = UNITS,
    branches: int = BRANCHES,
    year: int = YEAR,
) -> Enterprise:
    """The company-year for ``seed``; ``scale`` shrinks the numbers of units and branches
    (each branch keeps its full size, so per-branch figures do not depend on the scale)."""
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    n_units = max(1, round(units * scale))
    n_branches = max(n_units, round(branches * scale))
    unit_ids, shaped = _shape(seed, n_units, n_branches)
    b = _Builder(seed, year)
    for unit_id in unit_ids:
        b.add(
            "pledges",
            unit_stream(unit_id),
            unit_id,
            None,
            _at(date(year, 1, 2)),
            pl.UnitRegistered(unit_id=unit_id, name=f"{unit_id}党委"),
            unit=unit_id,
        )
    pledges: list[_Pledge] = []
    for branch in shaped:
        pledges += _branch_pledges(b, seed, branch, year)
    _ledger_and_acceptance(b, seed, pledges)
    _reviews(b, seed, shaped, pledges, year)
    return Enterprise(seed=seed, year=year, units=unit_ids, branches=shaped, events=b.ordered())


def _branch_pledges(b: _Builder, seed: int, branch: Branch, year: int) -> list[_Pledge]:
    rng = random.Random(f"branch/{seed}/{branch.branch_id}")
    jan2 = date(year, 1, 2)
    # Roster.
    b.pledges(
        branch_stream(branch.branch_id),
        branch,
        _at(jan2, 1),
        pl.BranchRegistered(
            branch_id=branch.branch_id, unit_id=branch.unit_id, name=f"{branch.branch_id}党支部"
        ),
    )
    membership = {p: pl.Membership.FULL_MEMBER for p in branch.full_members}
    membership |= {p: pl.Membership.PROBATIONARY_MEMBER for p in branch.probationary}
    membership |= {p: pl.Membership.NON_MEMBER for p in branch.non_members}
    for person in branch.employees:
        b.pledges(
            person_stream(person),
            branch,
            _at(jan2, 2),
            pl.PersonRegistered(
                person_id=person,
                name=f"员工{person}",
                branch_id=branch.branch_id,
                membership=membership[person],
                post=rng.choice((None, "采油工", "技术员", "班长")),
            ),
        )
    positions = [pl.CommitteePosition.SECRETARY, pl.CommitteePosition.DEPUTY_SECRETARY]
    for index, person in enumerate(branch.committee):
        position = positions[index] if index < len(positions) else pl.CommitteePosition.MEMBER
        b.pledges(
            person_stream(person),
            branch,
            _at(jan2, 3),
            pl.CommitteeMemberAppointed(
                person_id=person, branch_id=branch.branch_id, position=position
            ),
        )
    # Annual plan, needs.
    meeting = date(year, 1, 5)
    b.pledges(
        plan_stream(branch.branch_id, year),
        branch,
        _at(meeting),
        pl.PlanAdopted(
            branch_id=branch.branch_id,
            year=year,
            title=f"{year}年党员塑形工程活动方案",
            summary="围绕生产经营中心任务开展党员承诺践诺",
            meeting_date=meeting,
        ),
    )
    need_ids = [f"N{branch.branch_id}-{k + 1:02d}" for k in range(rng.randint(5, 10))]
    need_areas: dict[str, pl.ResponsibilityArea] = {}
    for need_id in need_ids:
        area = rng.choice(_AREAS)
        need_areas[need_id] = area
        b.pledges(
            need_stream(need_id),
            branch,
            _at(date(year, 1, 10)),
            pl.NeedSubmitted(
                need_id=need_id,
                branch_id=branch.branch_id,
                year=year,
                employee_id=rng.choice(branch.employees),
                problem=f"{area.label}方面的问题",
                suggested_area=rng.choice((None, area)),
            ),
        )
        b.pledges(
            need_stream(need_id),
            branch,
            _at(date(year, 1, 15)),
            pl.NeedClassified(need_id=need_id, area=area),
        )
    # Areas and pledges.
    made: list[_Pledge] = []
    for member in branch.members:
        area = rng.choice(_AREAS)
        stream = member_year_stream(member, year)
        b.pledges(
            stream,
            branch,
            _at(date(year, 1, 20)),
            pl.ResponsibilityAreaChosen(person_id=member, year=year, area=area),
        )
        if rng.random() < AREA_CHANGE_SHARE:
            new_area = rng.choice([a for a in _AREAS if a is not area])
            b.pledges(
                stream,
                branch,
                _at(date(year, 1, 25)),
                pl.ResponsibilityAreaChanged(
                    person_id=member, year=year, previous_area=area, area=new_area
                ),
            )
            area = new_area
        for n in range(rng.randint(*PLEDGES_PER_MEMBER)):
            matching = [need for need, a in need_areas.items() if a is area]
            linked = (rng.choice(matching),) if matching and rng.random() < NEED_LINK_SHARE else ()
            paired = rng.choice(branch.non_members) if rng.random() < PAIRED_SHARE else None
            due_month = rng.randint(8, 11)
            made.append(
                _Pledge(
                    pledge_id=f"{member}-{year}-{n + 1}",
                    member_id=member,
                    branch=branch,
                    area=area,
                    paired=paired,
                    need_ids=linked,
                    due=date(year, due_month, 28),
                    revised=rng.random() < REVISION_SHARE,
                    first=n == 0,
                )
            )
    for pledge in made:
        _declare_to_publish(b, rng, pledge, year)
    return made


def _declare_to_publish(b: _Builder, rng: random.Random, p: _Pledge, year: int) -> None:
    stream = pledge_stream(p.pledge_id)
    branch = p.branch
    terms = {
        "area": p.area,
        "item": f"{p.area.label}承诺",
        "content": f"在{p.area.label}方面完成本年度承诺事项",
        "quantity": f"{rng.randint(2, 20)}项",
        "quality_standard": "通过党支部验收",
        "due_date": p.due,
        "need_ids": p.need_ids,
        "paired_employee_id": p.paired,
    }
    declared = date(year, 2, rng.randint(1, 10))
    b.pledges(
        stream,
        branch,
        _at(declared),
        pl.PledgeDeclared(
            pledge_id=p.pledge_id,
            member_id=p.member_id,
            branch_id=branch.branch_id,
            year=year,
            **terms,
        ),
    )
    for need_id in p.need_ids:
        b.pledges(
            need_stream(need_id),
            branch,
            _at(declared, 1),
            pl.NeedPledgeLinked(need_id=need_id, pledge_id=p.pledge_id),
        )
    if p.revised:
        b.pledges(
            stream,
            branch,
            _at(date(year, 2, 12)),
            pl.PledgeRevisionRequested(pledge_id=p.pledge_id, reasons=("数量和质量标准不明确",)),
        )
        b.pledges(
            stream, branch, _at(date(year, 2, 14)), pl.PledgeRevised(pledge_id=p.pledge_id, **terms)
        )
    approved = _at(date(year, 2, rng.randint(15, 20)))
    b.pledges(
        stream,
        branch,
        approved,
        pl.PledgeApproved(pledge_id=p.pledge_id, member_id=p.member_id, year=year, area=p.area),
    )
    if p.first:
        b.pledges(
            member_year_stream(p.member_id, year),
            branch,
            approved + timedelta(seconds=1),
            pl.ResponsibilityAreaLocked(person_id=p.member_id, year=year, pledge_id=p.pledge_id),
        )
    signed = date(year, 2, 25)
    if p.paired is not None:
        b.pledges(
            stream,
            branch,
            _at(signed),
            pl.PairingAgreementSigned(
                pledge_id=p.pledge_id,
                member_id=p.member_id,
                employee_id=p.paired,
                signed_on=signed,
                problem="结对帮扶的具体问题",
                quarterly_work=pl.QuarterlyWork(q1="调研", q2="帮扶", q3="落实", q4="总结"),
                final_goal="问题解决，员工满意",
            ),
        )
    published = date(year, 3, rng.randint(1, 5))
    b.pledges(
        stream,
        branch,
        _at(published),
        pl.PledgePublished(
            pledge_id=p.pledge_id,
            channels=tuple(sorted(rng.sample(_CHANNELS, rng.randint(1, 2)))),
            published_on=published,
        ),
    )


def _ledger_and_acceptance(b: _Builder, seed: int, pledges: Sequence[_Pledge]) -> None:
    rng = random.Random(f"tracking/{seed}")
    accepted_on = {p.pledge_id: p.due + timedelta(days=rng.randint(3, 10)) for p in pledges}
    solver: dict[str, _Pledge] = {}
    for p in pledges:
        for need_id in p.need_ids:
            best = solver.get(need_id)
            if best is None or accepted_on[p.pledge_id] < accepted_on[best.pledge_id]:
                solver[need_id] = p
    for p in pledges:
        stream = pledge_stream(p.pledge_id)
        year = p.due.year
        for month in range(3, p.due.month + 1):
            last = month == p.due.month
            assessment = (
                pl.LedgerAssessment.DONE
                if last
                else rng.choice((pl.LedgerAssessment.ON_TRACK,) * 4 + (pl.LedgerAssessment.BEHIND,))
            )
            b.pledges(
                stream,
                p.branch,
                _at(date(year, month, 25)),
                pl.LedgerEntryRecorded(
                    pledge_id=p.pledge_id,
                    month=f"{year:04d}-{month:02d}",
                    assessment=assessment,
                    note=None if rng.random() < 0.7 else "按月推进",
                ),
            )
        b.pledges(
            stream,
            p.branch,
            _at(p.due, 1),
            pl.PledgeAcceptanceRequested(
                pledge_id=p.pledge_id, summary="承诺事项已全部完成", requested_on=p.due
            ),
        )
        accepted = accepted_on[p.pledge_id]
        b.pledges(
            stream,
            p.branch,
            _at(accepted),
            pl.PledgeAccepted(
                pledge_id=p.pledge_id, need_ids=p.need_ids, accepted_on=accepted, comment=None
            ),
        )
        for need_id in p.need_ids:
            # The first accepted pledge solves the need.
            if solver[need_id] is not p:
                continue
            b.pledges(
                need_stream(need_id),
                p.branch,
                _at(accepted, 1),
                pl.NeedSolved(need_id=need_id, pledge_id=p.pledge_id, solved_on=accepted),
            )


def _reviews(
    b: _Builder, seed: int, branches: Sequence[Branch], pledges: Sequence[_Pledge], year: int
) -> None:
    rng = random.Random(f"reviews/{seed}")
    paired_with: dict[str, set[str]] = {}
    for p in pledges:
        if p.paired is not None:
            paired_with.setdefault(p.paired, set()).add(p.member_id)
    company = ReviewScope(level=ScopeLevel.COMPANY, unit_id=None, branch_id=None)
    slots = [(ReviewKind.PEER, q, _QUARTER_END[q]) for q in QUARTERS]
    slots += [
        (kind, h, _HALF_END[h]) for h in HALF_YEARS for kind in (ReviewKind.MASS, ReviewKind.BRANCH)
    ]
    slots.sort(key=lambda slot: slot[2])
    for kind, period, month in slots:
        period_id = f"{year}-{kind.value}-{period.value}"
        opened = _at(date(year, month, 10))
        closed = _at(date(year, month, 28))
        stream = period_stream(period_id)
        b.add(
            "reviews",
            stream,
            COMPANY,
            None,
            opened,
            ReviewPeriodOpened(
                period_id=period_id,
                kind=kind,
                period=period,
                year=year,
                scope=company,
                deadline=None,
            ),
        )
        key = period_key(seed, period_id)
        for branch in branches:
            rated = branch.members
            if kind is ReviewKind.PEER:
                sheets = [(BallotRole.PEER, r, rated) for r in branch.full_members]
            elif kind is ReviewKind.BRANCH:
                sheets = [(BallotRole.BRANCH, r, rated) for r in branch.committee]
            else:
                sheets = [(BallotRole.ALL_STAFF, r, rated) for r in branch.employees]
                sheets += [
                    (BallotRole.PAIRED, r, tuple(sorted(paired_with[r])))
                    for r in branch.non_members
                    if r in paired_with
                ]
            for role, reviewer, members in sheets:
                scores = tuple(
                    b.score(member, rng.randint(55, 100))
                    for member in members
                    if member != reviewer
                )
                pseudonym = ballot_pseudonym(key, period_id, reviewer, role)
                b.add(
                    "reviews",
                    ballot_stream(period_id, role, pseudonym),
                    branch.branch_id,
                    branch,
                    opened + timedelta(minutes=rng.randint(1, 60 * 24 * 14)),
                    BallotCast(
                        period_id=period_id,
                        period=period,
                        year=year,
                        branch_id=branch.branch_id,
                        role=role,
                        reviewer_pseudonym=pseudonym,
                        scores=scores,
                    ),
                )
        b.add(
            "reviews",
            stream,
            COMPANY,
            None,
            closed,
            ReviewPeriodClosed(period_id=period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER),
        )


def counts(enterprise: Enterprise) -> dict[str, int]:
    """Units, branches, people and events (in total, per topic and per type)."""
    branches = enterprise.branches
    out: dict[str, int] = {
        "units": len(enterprise.units),
        "branches": len(branches),
        "members": sum(len(b.members) for b in branches),
        "probationary": sum(len(b.probationary) for b in branches),
        "employees": sum(len(b.employees) for b in branches),
        "pledges": sum(isinstance(item.event, pl.PledgeDeclared) for item in enterprise.events),
        "events": len(enterprise.events),
    }
    topics = Counter(f"topic {item.topic}" for item in enterprise.events)
    types = Counter(item.event.type_name for item in enterprise.events)
    out |= dict(sorted(topics.items()))
    out |= dict(sorted(types.items()))
    return out


async def write_events(enterprise: Enterprise, db_urls: dict[str, str], *, batch: int = 500) -> int:
    """Append the planned events with the event store, one database per service (``db_urls``
    maps ``pledges``/``reviews`` to a SQLAlchemy async URL), in transactions of ``batch``
    events, with their outbox rows so each service's relay publishes them later. Returns the
    number of events written. The databases must be empty (every stream starts at 0)."""
    from shared.contracts.envelope import Actor, Org
    from shared.db import Database
    from shared.eventstore import EventStore, Metadata, kernel_metadata

    written = 0
    correlation = uuid.UUID(int=enterprise.seed)
    for topic, url in db_urls.items():
        items = [item for item in enterprise.events if item.topic == topic]
        database = Database(url)
        await database.create_all([kernel_metadata])
        store = EventStore()
        versions: dict[str, int] = {}
        try:
            for start in range(0, len(items), batch):
                async with database.transaction() as session:
                    for item in items[start : start + batch]:
                        version = versions.get(item.stream, 0)
                        meta = Metadata(
                            actor=Actor(ref="bench", role="generator"),
                            org=Org(unit=item.unit, branch=item.branch),
                            occurred_at=item.occurred_at,
                            correlation_id=correlation,
                            year=item.year,
                        )
                        await store.append(
                            session,
                            stream=item.stream,
                            expected_version=version,
                            events_=[item.event],
                            meta=meta,
                            partition_key=item.key,
                        )
                        versions[item.stream] = version + 1
            written += len(items)
        finally:
            await database.dispose()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pledges-db", help="also append the pledges events to this database")
    parser.add_argument("--reviews-db", help="also append the reviews events to this database")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    enterprise = generate(args.seed, scale=args.scale)
    elapsed = time.perf_counter() - started
    table = counts(enterprise)
    width = max(len(name) for name in table)
    print(f"seed {args.seed}, scale {args.scale}, year {enterprise.year}")
    for name, value in table.items():
        print(f"{name:<{width}}  {value:>10,}")
    print(f"generated in {elapsed:.1f} s")
    urls = {"pledges": args.pledges_db, "reviews": args.reviews_db}
    urls = {topic: url for topic, url in urls.items() if url}
    if urls:
        started = time.perf_counter()
        written = asyncio.run(write_events(enterprise, urls))
        print(f"wrote {written:,} events in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
