"""Derived rows: a member's card and a branch's statistics, recomputed from the fact tables
for what a batch touched. Being functions of the facts alone, they come out the same however
the log was split into batches, live or in a rebuild."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import (
    DEFAULT_ADOPTED_POLICY,
    REVIEW_PERIODS,
    AdoptedPolicy,
    PeriodResult,
    PeriodStatus,
    card_from_periods,
)
from services.scoring.projections.facts import Touched
from services.scoring.projections.pledge_states import PledgeStatus
from services.scoring.projections.rows import (
    Row,
    chunks,
    delete_by_keys,
    key_filter,
    loose_key_filter,
    select_by_keys,
)
from shared.contracts.encoding import canonical_json
from shared.contracts.pledges import Membership
from shared.contracts.scoring import Band, Period, ReviewKind, ScoringPolicy
from shared.messaging.consumer import upsert

MemberYear = tuple[str, int]
BranchYear = tuple[str, int]

SIGNED = frozenset(
    {
        PledgeStatus.APPROVED,
        PledgeStatus.AGREEMENT_SIGNED,
        PledgeStatus.PUBLISHED,
        PledgeStatus.ACCEPTANCE_REQUESTED,
        PledgeStatus.RETURNED,
        PledgeStatus.ACCEPTED,
        PledgeStatus.CARRIED_OVER,
    }
)
"""A pledge is signed (定诺) once the committee approved it; every later state keeps it so,
carried over into the next year included (signed in its year, not completed there)."""


async def cards_touched(session: AsyncSession, touched: Touched) -> set[MemberYear]:
    """The cards to recompute: the members' own; every existing card of a person whose
    roster entry changed, of a year whose policy changed, or of a member in the scope of a
    period that opened or closed (its entry on the card); and the roster cards a batch may
    have created (docs/scoring.md, "Which cards exist"): of the people whose roster entry
    changed, of the branches registered, of every member in the scope of an opened period,
    and of the members of a branch whose year some member's area, pledge or tally names.
    Which cards exist is a function of the facts (``card_named``, ``ReviewYears``), never of
    the order in which topics were read."""
    members = set(touched.members)
    if touched.periods:
        for period in await select_by_keys(
            session, t.periods, ["period_id"], [(p,) for p in touched.periods]
        ):
            year = period["year"]
            in_scope = await _people_in_scope(session, period)
            members.update(
                (person["person_id"], year) for person in in_scope if on_roster(person, year)
            )
            members.update(
                (row["member_id"], row["year"])
                for row in await select_by_keys(
                    session, t.cards, ["member_id"], [(p["person_id"],) for p in in_scope]
                )
                if row["year"] == year
            )
    if touched.branch_cards:
        rows = await select_by_keys(
            session, t.cards, ["branch_id"], [(b,) for b in touched.branch_cards]
        )
        members.update((row["member_id"], row["year"]) for row in rows)
        people = await select_by_keys(
            session, t.people, ["branch_id"], [(b,) for b in touched.branch_cards]
        )
        members |= await roster_keys(session, people)
    if touched.people:
        rows = await select_by_keys(
            session, t.cards, ["member_id"], [(person,) for person in touched.people]
        )
        members.update((row["member_id"], row["year"]) for row in rows)
        people = await select_by_keys(
            session, t.people, ["person_id"], [(person,) for person in touched.people]
        )
        members |= await roster_keys(session, people)
    if touched.years:
        rows = await select_by_keys(session, t.cards, ["year"], [(y,) for y in touched.years])
        members.update((row["member_id"], row["year"]) for row in rows)
    if touched.activity:
        members |= await _new_roster_cards(session, touched.activity)
    return members


def branch_at(person: Row, year: int) -> str:
    """The branch the person was in at the end of ``year`` (or is in now, for a year not
    over): a card belongs to it, so a transfer never moves a year that ended before it
    (DOMAIN.md section 5, "Transfers"; docs/annual-cycle.md)."""
    year_end = date(year, 12, 31).isoformat()
    for left_on, branch in person.get("moves") or ():
        if year_end < left_on:
            return str(branch)
    return str(person["branch_id"])


def branches_of(person: Row) -> set[str]:
    """Every branch the person has been in."""
    return {str(person["branch_id"]), *(str(branch) for _, branch in person.get("moves") or ())}


def on_roster(person: Row | None, year: int) -> bool:
    """A party member (full or probationary) on the roster during (part of) ``year``:
    registered before it ended, not departed before it began. A person registered before
    the registration date was kept (``registered_on`` None) counts as registered."""
    if person is None or person["membership"] == Membership.NON_MEMBER.value:
        return False
    registered = person["registered_on"]
    if registered is not None and registered > date(year, 12, 31):
        return False
    departed = person["departed_on"]
    return departed is None or departed >= date(year, 1, 1)


@dataclass
class ReviewYears:
    """The review years of branches (docs/scoring.md): a year is one for a branch once a
    review period of the year covering the branch was opened, or some member's area, pledge
    or tally of the year names the branch."""

    company: set[int] = field(default_factory=set)
    """Years of company-wide periods."""
    by_unit: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    by_branch: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    """Years of branch periods and of the activity (areas, pledges, tallies) naming a branch."""
    units: dict[str, str] = field(default_factory=dict)

    def period(self, year: int, level: str, unit: str | None, branch: str | None) -> None:
        if level == "company":
            self.company.add(year)
        elif level == "unit" and unit is not None:
            self.by_unit[unit].add(year)
        elif level == "branch" and branch is not None:
            self.by_branch[branch].add(year)

    def of(self, branch_id: str) -> set[int]:
        unit_id = self.units.get(branch_id)
        years = self.company | self.by_branch.get(branch_id, set())
        if unit_id is not None:
            years |= self.by_unit.get(unit_id, set())
        return years

    def keys(self, people: Iterable[Row]) -> set[MemberYear]:
        """The roster cards of ``people``: each review year of their branch they were on
        the roster for."""
        found: set[MemberYear] = set()
        by_branch: dict[str, set[int]] = {}
        for person in people:
            for branch in branches_of(person):
                if branch not in by_branch:
                    by_branch[branch] = self.of(branch)
                found.update(
                    (person["person_id"], year)
                    for year in by_branch[branch]
                    if on_roster(person, year) and branch_at(person, year) == branch
                )
        return found


async def review_years(session: AsyncSession, branch_ids: Iterable[str] | None) -> ReviewYears:
    """The review years of ``branch_ids`` (None: of every branch, for a rebuild), read with a
    few grouped queries per chunk of branches."""
    found = ReviewYears()
    p = t.periods.c
    fact_tables = (t.areas, t.pledges, t.tallies)
    if branch_ids is None:
        found.units = {
            row.branch_id: row.unit_id
            for row in await session.execute(select(t.branches.c.branch_id, t.branches.c.unit_id))
        }
        every = await session.execute(
            select(p.year, p.scope_level, p.unit_id, p.branch_id).distinct()
        )
        for row in every:
            found.period(row[0], row[1], row[2], row[3])
        for table in fact_tables:
            rows = await session.execute(select(table.c.branch_id, table.c.year).distinct())
            for branch, year in rows:
                found.by_branch[branch].add(year)
        return found
    ids = sorted(set(branch_ids))
    if not ids:
        return found
    found.units = {
        row["branch_id"]: row["unit_id"]
        for row in await select_by_keys(session, t.branches, ["branch_id"], [(b,) for b in ids])
    }
    for part in chunks(ids):
        unit_ids = sorted({found.units[b] for b in part if b in found.units})
        scoped = await session.execute(
            select(p.year, p.scope_level, p.unit_id, p.branch_id)
            .distinct()
            .where(
                or_(
                    p.scope_level == "company",
                    and_(p.scope_level == "unit", p.unit_id.in_(unit_ids)),
                    and_(p.scope_level == "branch", p.branch_id.in_(list(part))),
                )
            )
        )
        for row in scoped:
            found.period(row[0], row[1], row[2], row[3])
        for table in fact_tables:
            activity = await session.execute(
                select(table.c.branch_id, table.c.year)
                .distinct()
                .where(table.c.branch_id.in_(list(part)))
            )
            for branch, year in activity:
                found.by_branch[branch].add(year)
    return found


async def roster_keys(session: AsyncSession, people: Sequence[Row]) -> set[MemberYear]:
    """The roster cards of ``people`` (their rows): each review year of their branch for
    which they were on the roster."""
    if not people:
        return set()
    years = await review_years(session, {b for person in people for b in branches_of(person)})
    return years.keys(people)


async def _new_roster_cards(session: AsyncSession, activity: set[BranchYear]) -> set[MemberYear]:
    """A branch-year some member's activity names is a review year of the branch: the roster
    cards of its other members that do not exist yet (those that exist do not change)."""
    branch_keys = sorted({(branch,) for branch, _ in activity})
    people = await select_by_keys(session, t.people, ["branch_id"], branch_keys)
    # And those who left these branches: a year they spent there is theirs there too.
    left = await select_by_keys(session, t.past_members, ["branch_id"], branch_keys)
    known = {person["person_id"] for person in people}
    people += await select_by_keys(
        session,
        t.people,
        ["person_id"],
        sorted({(row["person_id"],) for row in left if row["person_id"] not in known}),
    )
    by_branch: dict[str, list[Row]] = defaultdict(list)
    for person in people:
        for branch in branches_of(person):
            by_branch[branch].append(person)
    wanted = {
        (person["person_id"], year)
        for branch, year in activity
        for person in by_branch.get(branch, ())
        if on_roster(person, year) and branch_at(person, year) == branch
    }
    if not wanted:
        return set()
    existing = {
        (row["member_id"], row["year"])
        for row in await select_by_keys(session, t.cards, ["member_id", "year"], wanted)
    }
    return wanted - existing


async def recompute(session: AsyncSession, touched: Touched) -> None:
    members = await cards_touched(session, touched)
    branches = set(touched.branches)
    if members:
        branches |= await recompute_cards(session, members)
    if branches:
        await recompute_branch_stats(session, branches)


async def policies_by_year(session: AsyncSession) -> dict[int, AdoptedPolicy]:
    rows = await session.execute(select(t.policies))
    return adopted_policies(row._mapping for row in rows)


def adopted_policies(rows: Iterable[Any]) -> dict[int, AdoptedPolicy]:
    return {
        row["year"]: AdoptedPolicy(
            policy_id=row["policy_id"], policy=ScoringPolicy.model_validate(row["policy"])
        )
        for row in rows
    }


@dataclass
class CardInputs:
    """Everything the cards of some (member, year) keys are computed from: read from the fact
    tables by the live path (:func:`recompute_cards`), taken from memory by a rebuild's fold
    (services/scoring/projections/fold.py). Both end in :func:`card_rows`."""

    people: dict[str, Row]
    areas: dict[MemberYear, Row]
    pledges: dict[MemberYear, list[Row]]
    tallies: dict[MemberYear, list[Tally]]
    opened: dict[int, list[Row]]
    units: dict[str, str]
    """The unit of each branch."""
    policies: dict[int, AdoptedPolicy]
    exemptions: dict[MemberYear, Row] = field(default_factory=dict)


def card_rows(keys: Iterable[MemberYear], inputs: CardInputs) -> list[dict[str, Any]]:
    """The card rows of ``keys`` (sorted), a pure function of the inputs."""
    rows = []
    for member, year in sorted(keys):
        person = inputs.people.get(member)
        rows.append(
            card_row(
                member,
                year,
                adopted=inputs.policies.get(year, DEFAULT_ADOPTED_POLICY),
                person=person,
                area=inputs.areas.get((member, year)),
                pledges=sorted(
                    inputs.pledges.get((member, year), ()), key=lambda p: p["pledge_id"]
                ),
                tallies=sorted(
                    inputs.tallies.get((member, year), ()), key=lambda one: one.period_id
                ),
                open_periods=_covering(
                    inputs.opened.get(year, ()),
                    person,
                    inputs.units.get(person["branch_id"]) if person else None,
                ),
                exemption=inputs.exemptions.get((member, year)),
            )
        )
    return rows


async def recompute_cards(session: AsyncSession, members: set[MemberYear]) -> set[BranchYear]:
    """Writes the cards of ``members``; answers the (branch, year) statistics they move."""
    keys = sorted(members)
    ids = sorted({member for member, _ in keys})
    people = {
        row["person_id"]: row
        for row in await select_by_keys(session, t.people, ["person_id"], [(i,) for i in ids])
    }
    areas = {
        (row["person_id"], row["year"]): row
        for row in await select_by_keys(session, t.areas, ["person_id", "year"], keys)
    }
    pledges: dict[MemberYear, list[Row]] = defaultdict(list)
    for row in await select_by_keys(session, t.pledges, ["member_id"], [(i,) for i in ids]):
        pledges[(row["member_id"], row["year"])].append(row)
    units = {
        row["branch_id"]: row["unit_id"]
        for row in await select_by_keys(
            session,
            t.branches,
            ["branch_id"],
            [(p["branch_id"],) for p in people.values()],
        )
    }
    inputs = CardInputs(
        people=people,
        areas=areas,
        pledges=pledges,
        tallies=await _tallies(session, keys),
        opened=await _open_periods(session, {year for _, year in keys}),
        units=units,
        policies=await policies_by_year(session),
        exemptions={
            (row["member_id"], row["year"]): row
            for row in await select_by_keys(session, t.exemptions, ["member_id", "year"], keys)
        },
    )
    # A key the facts name (area, pledges, tallies, exemption) has a card; else only a roster
    # card of a review year does (a transfer or departure may end one: its row goes).
    named = {key for key in keys if card_named(key, inputs)}
    rostered = await roster_keys(session, list(people.values())) if named != set(keys) else set()
    kept = sorted(named | (set(keys) & rostered))
    gone = sorted(set(keys) - set(kept))
    old = await select_by_keys(session, t.cards, ["member_id", "year"], keys)
    moved: set[BranchYear] = {(row["branch_id"], row["year"]) for row in old if row["branch_id"]}
    await delete_by_keys(session, t.cards, ["member_id", "year"], gone)
    rows = card_rows(kept, inputs)
    moved.update((row["branch_id"], row["year"]) for row in rows if row["branch_id"])
    for part in chunks(rows):
        await upsert(session, t.cards, list(part), ["member_id", "year"])
    return moved


def card_named(key: MemberYear, inputs: CardInputs) -> bool:
    """Some fact names the member and year: an area, a pledge, a tally or an exemption."""
    return (
        key in inputs.areas
        or bool(inputs.pledges.get(key))
        or bool(inputs.tallies.get(key))
        or key in inputs.exemptions
    )


class Tally(NamedTuple):
    """What a card needs of one closed period's tally of the member."""

    kind: str
    period: str
    status: str
    ballots: int
    result: str | None
    paired_ballots: int | None
    all_staff_ballots: int | None
    satisfied: int | None
    branch_id: str
    period_id: str = ""


async def _tallies(
    session: AsyncSession, keys: Sequence[MemberYear]
) -> dict[MemberYear, list[Tally]]:
    c = t.tallies.c
    found: dict[MemberYear, list[Tally]] = defaultdict(list)
    for part in chunks(list(keys)):
        rows = await session.execute(
            select(
                c.member_id,
                c.year,
                c.kind,
                c.period,
                c.status,
                c.ballots,
                c.result,
                c.paired_ballots,
                c.all_staff_ballots,
                c.satisfied,
                c.branch_id,
                c.period_id,
            )
            .where(loose_key_filter(t.tallies, ["member_id", "year"], part))
            .order_by(c.member_id, c.year, c.period_id)
        )
        wanted = set(part)
        for member, year, *values in rows:
            if (member, year) in wanted:
                found[(member, year)].append(Tally(*values))
    return found


async def _open_periods(session: AsyncSession, years: set[int]) -> dict[int, list[Row]]:
    found: dict[int, list[Row]] = defaultdict(list)
    rows = await session.execute(
        select(t.periods).where(t.periods.c.year.in_(sorted(years)), t.periods.c.closed.is_(False))
    )
    for row in rows.mappings():
        found[row["year"]].append(dict(row))
    return found


def _covers(period: Row, branch_id: str, unit_id: str | None) -> bool:
    match period["scope_level"]:
        case "company":
            return True
        case "unit":
            return unit_id is not None and period["unit_id"] == unit_id
        case _:
            return bool(period["branch_id"] == branch_id)


def _covering(periods: Iterable[Row], person: Row | None, unit_id: str | None) -> list[Row]:
    """The open periods that review ``person`` (by the branch the roster has them in)."""
    if person is None or person["departed_on"] is not None:
        return []
    if person["membership"] == Membership.NON_MEMBER.value:
        return []
    return [p for p in periods if _covers(p, person["branch_id"], unit_id)]


async def _people_in_scope(session: AsyncSession, period: Row) -> list[Row]:
    """The party members the roster has in the period's scope (departed ones too: whether
    they were on the roster during the period's year is ``on_roster``'s to say)."""
    p, b = t.people.c, t.branches.c
    stmt = (
        select(t.people)
        .select_from(t.people.join(t.branches, b.branch_id == p.branch_id))
        .where(p.membership != Membership.NON_MEMBER.value)
    )
    if period["scope_level"] == "unit":
        stmt = stmt.where(b.unit_id == period["unit_id"])
    elif period["scope_level"] == "branch":
        stmt = stmt.where(p.branch_id == period["branch_id"])
    return [dict(row) for row in (await session.execute(stmt)).mappings()]


_PERIODS = {period.value: period for period in Period}


def period_results(
    tallies: Iterable[Tally], open_periods: Iterable[Row]
) -> dict[ReviewKind, list[PeriodResult]]:
    """Each review's period results: the closed periods as tallied, the open ones as open
    (sealed: no figure, not even a count). A tally whose period does not fit its review
    cannot come from the reviews service and is left out rather than failing."""
    found: dict[ReviewKind, dict[Period, PeriodResult]] = defaultdict(dict)
    # A member can be tallied twice for one review period (transferred between branches
    # whose periods both ran): the tally with the most ballots counts, the later period id
    # on a tie, so the card never depends on the order the tallies were read in.
    for tally in sorted(tallies, key=lambda one: (one.ballots, one.period_id)):
        kind, period = ReviewKind(tally.kind), _PERIODS[tally.period]
        if period not in REVIEW_PERIODS[kind]:
            continue
        found[kind][period] = PeriodResult.model_construct(
            period=period,
            ballots=tally.ballots,
            status=PeriodStatus(tally.status),
            result=None if tally.result is None else Decimal(tally.result),
            paired_ballots=tally.paired_ballots,
            all_staff_ballots=tally.all_staff_ballots,
        )
    for row in open_periods:
        kind, period = ReviewKind(row["kind"]), _PERIODS[row["period"]]
        found[kind].setdefault(
            period,
            PeriodResult.model_construct(
                period=period,
                ballots=None,
                status=PeriodStatus.OPEN,
                result=None,
                paired_ballots=None,
                all_staff_ballots=None,
            ),
        )
    return {kind: list(by_period.values()) for kind, by_period in found.items()}


def card_row(
    member: str,
    year: int,
    *,
    adopted: AdoptedPolicy,
    person: Row | None,
    area: Row | None,
    pledges: list[Row],
    tallies: list[Tally],
    open_periods: Sequence[Row] = (),
    exemption: Row | None = None,
) -> dict[str, Any]:
    card = card_from_periods(period_results(tallies, open_periods), adopted)
    exempt = exemption if exemption is not None and not exemption["revoked"] else None
    if exempt is not None:
        # 免于评议: the card shows what was recorded, but no composite, band or missing review.
        card = card.model_copy(update={"composite": None, "band": None, "missing": ()})
    mass = [
        tally for tally in tallies if tally.kind == ReviewKind.MASS and tally.satisfied is not None
    ]
    branch = _home_branch(person, year, pledges, tallies, area)
    live = [p for p in pledges if p["status"] != PledgeStatus.WITHDRAWN]
    return {
        "member_id": member,
        "year": year,
        "branch_id": branch,
        "area": area["area"] if area else None,
        "policy_id": card.policy_id,
        "peer": _text(card.peer.annual),
        "mass": _text(card.mass.annual),
        "branch_review": _text(card.branch.annual),
        "composite": _text(card.composite),
        "band": card.band.band.value if card.band else None,
        "missing": [review.value for review in card.missing],
        "exempt": exempt["reason"] if exempt is not None else None,
        "exempt_text": exempt["reason_text"] if exempt is not None else None,
        "on_roster": on_roster(person, year),
        "pledges_total": len(live),
        "pledges_completed": sum(1 for p in live if p["status"] == PledgeStatus.ACCEPTED),
        "mass_satisfied": sum(tally.satisfied or 0 for tally in mass),
        "mass_total": sum(tally.ballots for tally in mass),
        "result": canonical_json(card.model_dump(mode="json")).decode("utf-8"),
    }


def _home_branch(
    person: Row | None, year: int, pledges: list[Row], tallies: list[Tally], area: Row | None
) -> str | None:
    """The branch the roster had the member in at the end of ``year``; before the roster is
    seen, the branch the facts name."""
    if person is not None:
        return branch_at(person, year)
    if pledges:
        return str(min(row["branch_id"] for row in pledges))
    if tallies:
        return str(min(row.branch_id for row in tallies))
    if area is not None and area["branch_id"]:
        return str(area["branch_id"])
    return None


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def recompute_branch_stats(session: AsyncSession, branches: set[BranchYear]) -> None:
    keys = sorted(branches)
    stats: dict[BranchYear, dict[str, int]] = {key: dict.fromkeys(t.STAT_COUNTS, 0) for key in keys}
    for part in chunks(keys):
        for query in _stat_queries(part):
            for row in (await session.execute(query)).mappings():
                values = dict(row)
                key = (values.pop("branch_id"), values.pop("year"))
                stats[key].update({name: int(value or 0) for name, value in values.items()})
    empty = [key for key, counts in stats.items() if not any(counts.values())]
    await delete_by_keys(session, t.branch_stats, ["branch_id", "year"], empty)
    rows = [
        {"branch_id": branch, "year": year, **counts}
        for (branch, year), counts in sorted(stats.items())
        if any(counts.values())
    ]
    for part in chunks(rows):
        await upsert(session, t.branch_stats, list(part), ["branch_id", "year"])


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0)).cast(Integer)


def _stat_queries(keys: Sequence[BranchYear]) -> list[Any]:
    c, p, n = t.cards.c, t.pledges.c, t.needs.c
    bands = {f"band_{band.value}": _count_if(c.band == band.value) for band in Band}
    return [
        select(
            c.branch_id,
            c.year,
            _count_if(c.on_roster.is_(True)).label("members"),
            func.count().label("cards"),
            _count_if(c.exempt.is_not(None)).label("exempt"),
            # An area is counted where its card is kept: a member who chose it and then
            # moved counts in the branch that keeps the year's card, as every other figure.
            _count_if(c.area.is_not(None)).label("areas"),
            # Exempt members are counted apart: in no rate, band or "without composite".
            func.sum(case((c.exempt.is_(None), c.mass_satisfied), else_=0)).label("mass_satisfied"),
            func.sum(case((c.exempt.is_(None), c.mass_total), else_=0)).label("mass_total"),
            _count_if(and_(c.composite.is_(None), c.exempt.is_(None))).label("without_composite"),
            *(expr.label(name) for name, expr in bands.items()),
        )
        .where(key_filter(t.cards, ["branch_id", "year"], keys))
        .group_by(c.branch_id, c.year),
        select(
            p.branch_id,
            p.year,
            _count_if(p.agreement_signed_on.is_not(None)).label("pairings"),
            _count_if(p.status.in_(sorted(SIGNED))).label("pledges_signed"),
            _count_if(p.status == PledgeStatus.ACCEPTED).label("pledges_completed"),
        )
        .where(key_filter(t.pledges, ["branch_id", "year"], keys))
        .group_by(p.branch_id, p.year),
        select(
            n.branch_id,
            n.year,
            func.count().label("needs_submitted"),
            _count_if(n.solved_by.is_not(None)).label("needs_solved"),
        )
        .where(key_filter(t.needs, ["branch_id", "year"], keys))
        .group_by(n.branch_id, n.year),
    ]
