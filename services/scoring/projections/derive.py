"""Derived rows: a member's card and a branch's statistics, recomputed from the fact tables
for what a batch touched. Being functions of the facts alone, they come out the same however
the log was split into batches, live or in a rebuild."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import (
    DEFAULT_ADOPTED_POLICY,
    REVIEW_PERIODS,
    AdoptedPolicy,
    MemberScores,
    compute_card,
    satisfaction_tally,
)
from services.scoring.projections.facts import Touched
from services.scoring.projections.pledge_states import PledgeStatus
from services.scoring.projections.rows import (
    Row,
    chunks,
    delete_by_keys,
    key_filter,
    select_by_keys,
)
from shared.contracts.encoding import canonical_json
from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import Band, Period, ScoringPolicy
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
    }
)
"""A pledge is signed (定诺) once the committee approved it; every later state keeps it so."""

_PARTS = {
    BallotRole.PEER.value: "peer",
    BallotRole.PAIRED.value: "mass_paired",
    BallotRole.ALL_STAFF.value: "mass_all_staff",
    BallotRole.BRANCH.value: "branch",
}
_ROLE_KIND = {role.value: role.kind for role in BallotRole}


async def cards_touched(session: AsyncSession, touched: Touched) -> set[MemberYear]:
    """The cards to recompute: the members' own, and every existing card of a person whose
    roster entry changed or of a year whose policy changed."""
    members = set(touched.members)
    if touched.people:
        rows = await select_by_keys(
            session, t.cards, ["member_id"], [(person,) for person in touched.people]
        )
        members.update((row["member_id"], row["year"]) for row in rows)
    if touched.years:
        rows = await select_by_keys(session, t.cards, ["year"], [(y,) for y in touched.years])
        members.update((row["member_id"], row["year"]) for row in rows)
    return members


async def recompute(session: AsyncSession, touched: Touched) -> None:
    members = await cards_touched(session, touched)
    branches = set(touched.branches)
    if members:
        branches |= await recompute_cards(session, members)
    if branches:
        await recompute_branch_stats(session, branches)


async def policies_by_year(session: AsyncSession) -> dict[int, AdoptedPolicy]:
    rows = await session.execute(select(t.policies))
    return {
        row.year: AdoptedPolicy(
            policy_id=row.policy_id, policy=ScoringPolicy.model_validate(row.policy)
        )
        for row in rows
    }


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
    ballots = await _ballots(session, keys)
    old = await select_by_keys(session, t.cards, ["member_id", "year"], keys)
    policies = await policies_by_year(session)

    moved: set[BranchYear] = {(row["branch_id"], row["year"]) for row in old if row["branch_id"]}
    rows = []
    for member, year in keys:
        adopted = policies.get(year, DEFAULT_ADOPTED_POLICY)
        row = card_row(
            member,
            year,
            adopted=adopted,
            person=people.get(member),
            area=areas.get((member, year)),
            pledges=sorted(pledges[(member, year)], key=lambda p: p["pledge_id"]),
            ballots=ballots[(member, year)],
        )
        rows.append(row)
        if row["branch_id"]:
            moved.add((row["branch_id"], year))
    for part in chunks(rows):
        await upsert(session, t.cards, list(part), ["member_id", "year"])
    return moved


class BallotScore(NamedTuple):
    """What a card needs of one score on a counted ballot."""

    role: str
    period: str
    score: str
    branch_id: str


async def _ballots(
    session: AsyncSession, keys: Sequence[MemberYear]
) -> dict[MemberYear, list[BallotScore]]:
    """The counted scores of ``keys``, as plain tuples (a year's worth of ballots is most of
    the rows a card reads)."""
    c = t.ballot_scores.c
    found: dict[MemberYear, list[BallotScore]] = defaultdict(list)
    for part in chunks(list(keys)):
        rows = await session.execute(
            select(c.member_id, c.year, c.role, c.period, c.score, c.branch_id).where(
                key_filter(t.ballot_scores, ["member_id", "year"], part)
            )
        )
        for member, year, role, period, score, branch in rows:
            found[(member, year)].append(BallotScore(role, period, score, branch))
    return found


_PERIODS = {period.value: period for period in Period}


def member_scores(ballots: Iterable[BallotScore]) -> MemberScores:
    """A member's final scores per review part and period; a score whose period does not fit
    its review cannot come from the reviews service and is left out rather than failing.

    Built without re-validation: every score here was validated when its ballot event was
    decoded and is stored as its canonical two-place text."""
    parts: dict[str, dict[Period, list[Decimal]]] = {name: {} for name in _PARTS.values()}
    for row in ballots:
        period = _PERIODS[row.period]
        if period not in REVIEW_PERIODS[_ROLE_KIND[row.role]]:
            continue
        parts[_PARTS[row.role]].setdefault(period, []).append(Decimal(row.score))
    final = {
        name: {period: tuple(sorted(scores)) for period, scores in by_period.items()}
        for name, by_period in parts.items()
    }
    return MemberScores.model_construct(
        peer=final["peer"],
        mass_paired=final["mass_paired"],
        mass_all_staff=final["mass_all_staff"],
        branch=final["branch"],
    )


def card_row(
    member: str,
    year: int,
    *,
    adopted: AdoptedPolicy,
    person: Row | None,
    area: Row | None,
    pledges: list[Row],
    ballots: list[BallotScore],
) -> dict[str, Any]:
    scores = member_scores(ballots)
    card = compute_card(scores, adopted)
    tally = satisfaction_tally(scores.mass_scores(), adopted.policy)
    branch = _home_branch(person, pledges, ballots, area)
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
        "pledges_total": len(live),
        "pledges_completed": sum(1 for p in live if p["status"] == PledgeStatus.ACCEPTED),
        "mass_satisfied": tally.satisfied,
        "mass_total": tally.total,
        "result": canonical_json(card.model_dump(mode="json")).decode("utf-8"),
    }


def _home_branch(
    person: Row | None, pledges: list[Row], ballots: list[BallotScore], area: Row | None
) -> str | None:
    """The roster's branch; before the roster is seen, the branch the facts name."""
    if person is not None:
        return str(person["branch_id"])
    if pledges:
        return str(pledges[0]["branch_id"])
    if ballots:
        return str(min(row.branch_id for row in ballots))
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
    c, a, p, n = t.cards.c, t.areas.c, t.pledges.c, t.needs.c
    bands = {f"band_{band.value}": _count_if(c.band == band.value) for band in Band}
    return [
        select(
            c.branch_id,
            c.year,
            func.count().label("members"),
            func.sum(c.mass_satisfied).label("mass_satisfied"),
            func.sum(c.mass_total).label("mass_total"),
            _count_if(c.composite.is_(None)).label("without_composite"),
            *(expr.label(name) for name, expr in bands.items()),
        )
        .where(key_filter(t.cards, ["branch_id", "year"], keys))
        .group_by(c.branch_id, c.year),
        select(a.branch_id, a.year, func.count().label("areas"))
        .where(key_filter(t.areas, ["branch_id", "year"], keys))
        .group_by(a.branch_id, a.year),
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
