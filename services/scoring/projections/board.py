"""What the public board (公开栏) shows, and nothing more: the pledges made public, the month's
ledger of those pledges, and each member's published composite and band.

The board is read without sign-in, so it has narrow views of its own instead of reusing the
card's or the committee's: a field added to those cannot reach the board by accident. Review
and period figures, ballot counts, which review is missing, objections and adjustments stay
off it (DOMAIN.md section 3, "Secrecy of the review"); the card with all of that is
``GET /members/{id}/cards/{year}``, for the member, their committee and 组织部.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.domain import BranchResults
from services.scoring.projections.pledge_states import made_public
from services.scoring.projections.queries import names_of
from services.scoring.projections.views import PLEDGE_STATUS_LABELS, publication_view
from shared.contracts.pledges import LedgerAssessment, ResponsibilityArea

PUBLIC_STATUSES = ("published", "acceptance_requested", "returned", "accepted")
"""Made public (第五步) and still standing. ``returned`` is 验收退回: an acceptance sent back
after publication, so the pledge is public and still tracked. Declared, sent back for
revision (退回修改), approved or signed but not yet published, and withdrawn pledges are not
public. A published pledge carried over into the next year stays on its year's board
(``made_public``)."""


class BoardView(BaseModel):
    model_config = ConfigDict(frozen=True)


class BoardBranch(BoardView):
    branch_id: str
    name: str
    unit_name: str | None


class BoardLedgerEntry(BoardView):
    month: str
    assessment: str
    assessment_label: str
    note: str | None


class BoardPledge(BoardView):
    pledge_id: str
    member_id: str
    member_name: str | None
    area: str
    area_label: str
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    status: str
    status_label: str
    paired: bool
    published_on: date | None
    accepted_on: date | None
    ledger: list[BoardLedgerEntry] = []


class BoardResult(BoardView):
    """A member's published result: the composite and its band, nothing it was made of."""

    member_id: str
    name: str | None
    composite: Decimal | None
    band: str | None
    band_label: str | None


class BoardPublication(BoardView):
    year: int
    policy_id: str
    notice_starts_at: datetime
    notice_ends_at: datetime
    finalized: bool
    results: list[BoardResult]


async def board_branch(session: AsyncSession, branch_id: str) -> BoardBranch | None:
    row = (
        await session.execute(
            select(t.branches.c.name, t.units.c.name.label("unit_name"))
            .select_from(t.branches.outerjoin(t.units, t.units.c.unit_id == t.branches.c.unit_id))
            .where(t.branches.c.branch_id == branch_id)
        )
    ).first()
    if row is None:
        return None
    return BoardBranch(branch_id=branch_id, name=row.name, unit_name=row.unit_name)


def _public(branch_id: str, year: int) -> tuple[Any, ...]:
    return (
        t.pledges.c.branch_id == branch_id,
        t.pledges.c.year == year,
        made_public(t.pledges, PUBLIC_STATUSES),
    )


def _entry(row: Any) -> BoardLedgerEntry:
    return BoardLedgerEntry(
        month=row.month,
        assessment=row.assessment,
        assessment_label=LedgerAssessment(row.assessment).label,
        note=row.note,
    )


async def _board_pledges(
    session: AsyncSession, rows: Sequence[Any], ledger: dict[str, list[BoardLedgerEntry]]
) -> list[BoardPledge]:
    names = await names_of(session, {row.member_id for row in rows})
    return [
        BoardPledge(
            pledge_id=row.pledge_id,
            member_id=row.member_id,
            member_name=names.get(row.member_id),
            area=row.area,
            area_label=ResponsibilityArea(row.area).label,
            item=row.item,
            content=row.content,
            quantity=row.quantity,
            quality_standard=row.quality_standard,
            due_date=row.due_date,
            status=row.status,
            status_label=PLEDGE_STATUS_LABELS.get(row.status, row.status),
            paired=row.agreement_signed_on is not None,
            published_on=row.published_on,
            accepted_on=row.accepted_on,
            ledger=ledger.get(row.pledge_id, []),
        )
        for row in rows
    ]


_ORDER = (t.pledges.c.member_id, t.pledges.c.declared_at, t.pledges.c.pledge_id)


async def public_pledges(session: AsyncSession, branch_id: str, year: int) -> list[BoardPledge]:
    """The branch's public pledges of the year, each with its whole ledger so far."""
    rows = (
        await session.execute(select(t.pledges).where(*_public(branch_id, year)).order_by(*_ORDER))
    ).all()
    ledger: dict[str, list[BoardLedgerEntry]] = defaultdict(list)
    if rows:
        entries = await session.execute(
            select(t.ledger)
            .where(t.ledger.c.pledge_id.in_([row.pledge_id for row in rows]))
            .order_by(t.ledger.c.pledge_id, t.ledger.c.month)
        )
        for entry in entries:
            ledger[entry.pledge_id].append(_entry(entry))
    return await _board_pledges(session, rows, ledger)


async def public_ledger(session: AsyncSession, branch_id: str, month: str) -> list[BoardPledge]:
    """The public pledges assessed in ``month`` ("2024-05"), each with that entry only."""
    rows = (
        await session.execute(
            select(t.pledges, t.ledger.c.month, t.ledger.c.assessment, t.ledger.c.note)
            .join(t.ledger, t.ledger.c.pledge_id == t.pledges.c.pledge_id)
            .where(*_public(branch_id, int(month[:4])), t.ledger.c.month == month)
            .order_by(*_ORDER)
        )
    ).all()
    return await _board_pledges(session, rows, {row.pledge_id: [_entry(row)] for row in rows})


async def public_results(session: AsyncSession, state: BranchResults) -> BoardPublication:
    """The branch's publication as the board shows it: composite and band per member, and
    nothing else of the publication (no missing reviews, adjustments or objections)."""
    full = publication_view(state, await names_of(session, set(state.results)))
    return BoardPublication(
        year=full.year,
        policy_id=full.policy_id,
        notice_starts_at=full.notice_starts_at,
        notice_ends_at=full.notice_ends_at,
        finalized=full.finalized,
        results=[
            BoardResult(
                member_id=result.member_id,
                name=result.name,
                composite=result.composite,
                band=result.band,
                band_label=result.band_label,
            )
            for result in full.results
        ],
    )
