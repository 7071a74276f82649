"""Queries over the projection tables: cards, branch results, statistics, board contents."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import (
    BAND_LABELS,
    PERIOD_LABELS,
    PERIOD_STATUS_LABELS,
    REVIEW_LABELS,
    CardResult,
    ReviewResult,
)
from services.scoring.projections.pledge_states import made_public
from services.scoring.projections.views import (
    PLEDGE_STATUS_LABELS,
    PUBLIC_PLEDGE_STATUSES,
    CardView,
    LedgerView,
    MemberResultView,
    PeriodView,
    PledgeView,
    ReviewView,
    exemption_label,
    missing_labels,
)
from shared.contracts.pledges import LedgerAssessment, Membership, ResponsibilityArea
from shared.contracts.scoring import Band, Period, ReviewKind


def area_label(code: str | None) -> str | None:
    return None if code is None else ResponsibilityArea(code).label


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def card_results_of_branch(
    session: AsyncSession, branch_id: str, year: int
) -> list[tuple[str, CardResult]]:
    """The party members' computed cards of a branch and year, by member id; exempt members
    (免于评议) are not reviewed, so they have no result to publish."""
    rows = await session.execute(
        select(t.cards.c.member_id, t.cards.c.result)
        .select_from(t.cards.outerjoin(t.people, t.people.c.person_id == t.cards.c.member_id))
        .where(
            t.cards.c.branch_id == branch_id,
            t.cards.c.year == year,
            t.cards.c.exempt.is_(None),
            func.coalesce(t.people.c.membership, "") != Membership.NON_MEMBER.value,
        )
        .order_by(t.cards.c.member_id)
    )
    return [(member, CardResult.model_validate_json(result)) for member, result in rows]


async def names_of(session: AsyncSession, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(t.people.c.person_id, t.people.c.name).where(t.people.c.person_id.in_(sorted(ids)))
    )
    return {person: name for person, name in rows}


async def branch_info(session: AsyncSession, branch_id: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(t.branches.c.name, t.branches.c.unit_id, t.units.c.name.label("unit_name"))
            .select_from(t.branches.outerjoin(t.units, t.units.c.unit_id == t.branches.c.unit_id))
            .where(t.branches.c.branch_id == branch_id)
        )
    ).first()
    return None if row is None else dict(row._mapping)


def _pledge_view(row: Any, names: dict[str, str], ledger: list[LedgerView]) -> PledgeView:
    return PledgeView(
        pledge_id=row.pledge_id,
        member_id=row.member_id,
        member_name=names.get(row.member_id),
        item=row.item,
        content=row.content,
        quantity=row.quantity,
        quality_standard=row.quality_standard,
        due_date=row.due_date,
        area=row.area,
        area_label=ResponsibilityArea(row.area).label,
        status=row.status,
        status_label=PLEDGE_STATUS_LABELS.get(row.status, row.status),
        paired=row.agreement_signed_on is not None,
        published_on=row.published_on,
        accepted_on=row.accepted_on,
        ledger=ledger,
    )


async def _ledger(
    session: AsyncSession, pledge_ids: list[str], month: str | None = None
) -> dict[str, list[LedgerView]]:
    found: dict[str, list[LedgerView]] = defaultdict(list)
    if not pledge_ids:
        return found
    query = select(t.ledger).where(t.ledger.c.pledge_id.in_(pledge_ids))
    if month is not None:
        query = query.where(t.ledger.c.month == month)
    for row in await session.execute(query.order_by(t.ledger.c.pledge_id, t.ledger.c.month)):
        found[row.pledge_id].append(
            LedgerView(
                month=row.month,
                assessment=row.assessment,
                assessment_label=LedgerAssessment(row.assessment).label,
                note=row.note,
            )
        )
    return found


async def _pledges(
    session: AsyncSession, *conditions: Any, month: str | None = None, only_logged: bool = False
) -> list[PledgeView]:
    rows = (
        await session.execute(
            select(t.pledges)
            .where(*conditions)
            .order_by(t.pledges.c.member_id, t.pledges.c.declared_at, t.pledges.c.pledge_id)
        )
    ).all()
    ledger = await _ledger(session, [row.pledge_id for row in rows], month)
    names = await names_of(session, {row.member_id for row in rows})
    return [
        _pledge_view(row, names, ledger.get(row.pledge_id, []))
        for row in rows
        if not only_logged or ledger.get(row.pledge_id)
    ]


async def published_pledges(session: AsyncSession, branch_id: str, year: int) -> list[PledgeView]:
    return await _pledges(
        session,
        t.pledges.c.branch_id == branch_id,
        t.pledges.c.year == year,
        made_public(t.pledges, PUBLIC_PLEDGE_STATUSES),
    )


async def ledger_of_month(session: AsyncSession, branch_id: str, month: str) -> list[PledgeView]:
    """The branch's pledges assessed in ``month`` ("2024-05"), each with that entry only."""
    return await _pledges(
        session,
        t.pledges.c.branch_id == branch_id,
        t.pledges.c.year == int(month[:4]),
        month=month,
        only_logged=True,
    )


def _review_view(review: ReviewResult) -> ReviewView:
    return ReviewView(
        review=review.review.value,
        label=REVIEW_LABELS[review.review],
        weight=review.weight,
        min_ballots=review.min_ballots,
        annual=review.annual,
        periods=[
            PeriodView(
                period=p.period.value,
                label=PERIOD_LABELS[p.period],
                ballots=p.ballots,
                status=p.status.value,
                status_label=PERIOD_STATUS_LABELS[p.status],
                result=p.result,
                paired_ballots=p.paired_ballots,
                all_staff_ballots=p.all_staff_ballots,
            )
            for p in review.periods
        ],
    )


async def card_view(session: AsyncSession, member_id: str, year: int) -> CardView | None:
    row = (
        await session.execute(
            select(t.cards).where(t.cards.c.member_id == member_id, t.cards.c.year == year)
        )
    ).first()
    if row is None:
        return None
    card = CardResult.model_validate_json(row.result)
    info = await branch_info(session, row.branch_id) if row.branch_id else None
    names = await names_of(session, {member_id})
    pledges = await _pledges(session, t.pledges.c.member_id == member_id, t.pledges.c.year == year)
    return CardView(
        member_id=member_id,
        name=names.get(member_id),
        year=year,
        branch_id=row.branch_id,
        branch_name=info["name"] if info else None,
        unit_id=info["unit_id"] if info else None,
        unit_name=info["unit_name"] if info else None,
        area=row.area,
        area_label=area_label(row.area),
        policy_id=card.policy_id,
        reviews=[_review_view(review) for review in card.reviews],
        composite=card.composite,
        band=card.band.band.value if card.band else None,
        band_label=card.band.label if card.band else None,
        consequences=list(card.band.consequence_labels) if card.band else [],
        missing=[review.value for review in card.missing],
        missing_labels=missing_labels(list(row.missing), row.area, row.exempt),
        pledges=pledges,
        exempt=row.exempt,
        exempt_label=exemption_label(row.exempt, row.exempt_text),
    )


async def branch_results(
    session: AsyncSession, branch_id: str, year: int
) -> list[MemberResultView]:
    rows = (
        await session.execute(
            select(t.cards)
            .where(t.cards.c.branch_id == branch_id, t.cards.c.year == year)
            .order_by(t.cards.c.member_id)
        )
    ).all()
    names = await names_of(session, {row.member_id for row in rows})
    return [
        MemberResultView(
            member_id=row.member_id,
            name=names.get(row.member_id),
            area_label=area_label(row.area),
            peer=_decimal(row.peer),
            mass=_decimal(row.mass),
            branch=_decimal(row.branch_review),
            composite=_decimal(row.composite),
            band=row.band,
            band_label=BAND_LABELS[Band(row.band)] if row.band else None,
            missing_labels=missing_labels(list(row.missing), row.area, row.exempt),
            pledges_total=row.pledges_total,
            pledges_completed=row.pledges_completed,
            policy_id=row.policy_id,
            exempt=row.exempt,
            exempt_label=exemption_label(row.exempt, row.exempt_text),
        )
        for row in rows
    ]


async def tallied_periods(session: AsyncSession, year: int) -> int:
    """How many of the year's review periods have closed with tallies scoring has read."""
    count = await session.scalar(
        select(func.count(func.distinct(t.tallies.c.period_id))).where(t.tallies.c.year == year)
    )
    return int(count or 0)


async def open_periods_of_branch(session: AsyncSession, branch_id: str, year: int) -> list[str]:
    """The titles of the year's review periods still open that review ``branch_id``."""
    unit_id = await session.scalar(
        select(t.branches.c.unit_id).where(t.branches.c.branch_id == branch_id)
    )
    p = t.periods.c
    rows = await session.execute(
        select(p.kind, p.period, p.scope_level, p.unit_id, p.branch_id)
        .where(p.year == year, p.closed.is_(False))
        .order_by(p.period, p.kind)
    )
    return [
        f"{year}年{PERIOD_LABELS[Period(period)]}{REVIEW_LABELS[ReviewKind(kind)]}"
        for kind, period, level, unit, branch in rows
        if level == "company"
        or (level == "unit" and unit is not None and unit == unit_id)
        or (level == "branch" and branch == branch_id)
    ]
