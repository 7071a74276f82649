"""Queries over the query tables. Each one reads; none decides. Which pledges a reader sees
is ``access``'s rule, applied by every query here that shows one."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from services.pledges.domain import PledgeStatus
from services.pledges.domain.tracking import ledger_closes_on
from services.pledges.projections.access import (
    made_public,
    may_read_branch_pledges,
    readable_pledges,
    reads_review_notes,
)
from services.pledges.projections.views import (
    LedgerRow,
    LedgerView,
    MemberAreaView,
    NeedPledge,
    NeedRef,
    NeedView,
    OverduePledge,
    PledgeView,
    PublicPledgeView,
)
from shared.auth import Principal, Role
from shared.contracts.pledges import LedgerAssessment, ResponsibilityArea
from shared.errors import Forbidden, NotFound

_PAIRED = t.people.alias("paired")
_PLEDGE_COLUMNS = (
    *t.pledges.c,
    t.people.c.name.label("member_name"),
    _PAIRED.c.name.label("paired_employee_name"),
)
_OTHER_BRANCH = "只能查看本支部的记录"


def may_read_roster(reader: Principal, branch_id: str) -> bool:
    """A branch's roster is for its staff; the organization department and operators (who
    keep the roster) read every branch's."""
    return reader.branch_id == branch_id or not reader.roles.isdisjoint(
        {Role.ORG_ADMIN, Role.OPERATOR}
    )


def _require_roster_reader(reader: Principal, branch_id: str) -> None:
    if not may_read_roster(reader, branch_id):
        raise Forbidden(_OTHER_BRANCH)


def _require_pledges_reader(reader: Principal, branch_id: str) -> None:
    """A branch's pledge lists are closed to other branches' staff (what they may see is on
    the public board); within them, each row is still filtered by ``readable_pledges``."""
    if not may_read_branch_pledges(reader, branch_id):
        raise Forbidden(_OTHER_BRANCH)


def _pledges_with_names() -> Any:
    return select(*_PLEDGE_COLUMNS).select_from(
        t.pledges.outerjoin(t.people, t.people.c.person_id == t.pledges.c.member_id).outerjoin(
            _PAIRED, _PAIRED.c.person_id == t.pledges.c.paired_employee_id
        )
    )


async def _needs_of(session: AsyncSession, rows: Sequence[RowMapping]) -> dict[str, NeedRef]:
    """The needs the pledges answer, with the problem the employee raised, by id."""
    wanted = sorted({need for row in rows for need in row["need_ids"] or ()})
    if not wanted:
        return {}
    found = await session.execute(
        select(t.needs.c.need_id, t.needs.c.problem).where(t.needs.c.need_id.in_(wanted))
    )
    return {need_id: NeedRef(need_id=need_id, problem=problem) for need_id, problem in found}


def _readable_pledges_with_names(reader: Principal) -> Any:
    return _pledges_with_names().where(readable_pledges(reader))


def _pledge_view(
    row: RowMapping, reader: Principal, needs: dict[str, NeedRef] | None = None
) -> PledgeView:
    status = PledgeStatus(row["status"])
    values = {k: v for k, v in row.items() if k in PledgeView.model_fields}
    if not reads_review_notes(reader, member_id=row["member_id"], branch_id=row["branch_id"]):
        values.update(revision_reasons=None, return_reasons=None)
    known = needs or {}
    return PledgeView(
        **values,
        status_label=status.label,
        area_label=ResponsibilityArea(row["area"]).label,
        needs=[known[n] for n in row["need_ids"] or () if n in known],
    )


async def pledge(session: AsyncSession, pledge_id: str, *, reader: Principal) -> PledgeView:
    """One pledge; one the reader may not read is answered like an unknown one."""
    query = _readable_pledges_with_names(reader).where(t.pledges.c.pledge_id == pledge_id)
    row = (await session.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"承诺“{pledge_id}”不存在")
    return _pledge_view(row, reader, await _needs_of(session, [row]))


async def member_area(
    session: AsyncSession, person_id: str, year: int, *, reader: Principal
) -> MemberAreaView:
    """The member's area of ``year``: for the people of their branch (and 组织部)."""
    branch = await session.scalar(
        select(t.people.c.branch_id).where(t.people.c.person_id == person_id)
    )
    if branch is None:
        raise NotFound(f"人员“{person_id}”不存在")
    if reader.person_id != person_id:
        _require_roster_reader(reader, branch)
    row = (
        (
            await session.execute(
                select(t.member_areas).where(
                    t.member_areas.c.person_id == person_id, t.member_areas.c.year == year
                )
            )
        )
        .mappings()
        .first()
    )
    area = row["area"] if row else None
    return MemberAreaView(
        person_id=person_id,
        year=year,
        area=area,
        area_label=ResponsibilityArea(area).label if area else None,
        locked=bool(row and row["locked_by"]),
    )


async def member_pledges(
    session: AsyncSession, person_id: str, *, reader: Principal, year: int | None = None
) -> list[PledgeView]:
    """A person's pledges that the reader may read (in any branch: a transferred member's
    past pledges stay with the branch they were made in)."""
    known = await session.scalar(
        select(t.people.c.person_id).where(t.people.c.person_id == person_id)
    )
    if known is None:
        raise NotFound(f"人员“{person_id}”不存在")
    query = _readable_pledges_with_names(reader).where(t.pledges.c.member_id == person_id)
    if year is not None:
        query = query.where(t.pledges.c.year == year)
    rows = (await session.execute(query.order_by(t.pledges.c.declared_at))).mappings().all()
    needs = await _needs_of(session, rows)
    return [_pledge_view(row, reader, needs) for row in rows]


async def _require_branch(session: AsyncSession, branch_id: str) -> None:
    found = await session.scalar(
        select(t.branches.c.branch_id).where(t.branches.c.branch_id == branch_id)
    )
    if found is None:
        raise NotFound(f"党支部“{branch_id}”不存在")


async def published_pledges(
    session: AsyncSession, branch_id: str, *, year: int | None = None
) -> list[PublicPledgeView]:
    await _require_branch(session, branch_id)
    query = _pledges_with_names().where(t.pledges.c.branch_id == branch_id, made_public())
    if year is not None:
        query = query.where(t.pledges.c.year == year)
    rows = await session.execute(query.order_by(t.pledges.c.published_on, t.pledges.c.pledge_id))
    return [
        PublicPledgeView(
            pledge_id=row["pledge_id"],
            member_name=row["member_name"],
            year=row["year"],
            area_label=ResponsibilityArea(row["area"]).label,
            item=row["item"],
            content=row["content"],
            quantity=row["quantity"],
            quality_standard=row["quality_standard"],
            due_date=row["due_date"],
            status_label=PledgeStatus(row["status"]).label,
            published_on=row["published_on"],
            channels=row["channels"] or [],
        )
        for row in rows.mappings()
    ]


async def branch_ledger(
    session: AsyncSession, branch_id: str, month: str, *, reader: Principal
) -> LedgerView:
    """Every pledge of the branch public by the end of ``month`` and tracked in it: the
    ledger lists it whether or not its entry for the month has been recorded yet."""
    await _require_branch(session, branch_id)
    _require_pledges_reader(reader, branch_id)
    year, number = int(month[:4]), int(month[5:7])
    month_end = date(year, number, calendar.monthrange(year, number)[1])
    entry = t.ledger.alias("entry")
    query = (
        select(
            *_PLEDGE_COLUMNS,
            entry.c.assessment,
            entry.c.note,
            entry.c.correction_reason,
            entry.c.late_reason,
        )
        .select_from(
            t.pledges.outerjoin(t.people, t.people.c.person_id == t.pledges.c.member_id)
            .outerjoin(_PAIRED, _PAIRED.c.person_id == t.pledges.c.paired_employee_id)
            .outerjoin(
                entry, and_(entry.c.pledge_id == t.pledges.c.pledge_id, entry.c.month == month)
            )
        )
        .where(
            readable_pledges(reader),
            t.pledges.c.branch_id == branch_id,
            t.pledges.c.year == year,
            made_public(),
            t.pledges.c.published_on <= month_end,
            # An accepted pledge leaves the ledger after the month it was accepted in.
            or_(
                t.pledges.c.accepted_on.is_(None),
                t.pledges.c.accepted_on >= month_end.replace(day=1),
            ),
        )
        .order_by(t.people.c.name, t.pledges.c.pledge_id)
    )
    rows = [
        LedgerRow(
            pledge_id=row["pledge_id"],
            member_id=row["member_id"],
            member_name=row["member_name"],
            item=row["item"],
            status=row["status"],
            due_date=row["due_date"],
            assessment=row["assessment"],
            assessment_label=(
                LedgerAssessment(row["assessment"]).label if row["assessment"] else None
            ),
            note=row["note"],
            correction_reason=row["correction_reason"],
            late_reason=row["late_reason"],
        )
        for row in (await session.execute(query)).mappings()
    ]
    return LedgerView(
        branch_id=branch_id,
        month=month,
        rows=rows,
        closes_on=ledger_closes_on(month),
        not_recorded=sum(1 for row in rows if row.assessment is None),
    )


async def branch_needs(
    session: AsyncSession, branch_id: str, *, year: int, reader: Principal
) -> list[NeedView]:
    await _require_branch(session, branch_id)
    _require_pledges_reader(reader, branch_id)
    need_rows = (
        (
            await session.execute(
                select(t.needs)
                .where(t.needs.c.branch_id == branch_id, t.needs.c.year == year)
                .order_by(t.needs.c.submitted_at, t.needs.c.need_id)
            )
        )
        .mappings()
        .all()
    )
    links = await session.execute(
        select(
            t.need_pledges.c.need_id,
            t.pledges.c.pledge_id,
            t.pledges.c.member_id,
            t.pledges.c.item,
            t.pledges.c.status,
        )
        .select_from(
            t.need_pledges.join(t.pledges, t.pledges.c.pledge_id == t.need_pledges.c.pledge_id)
        )
        .where(
            t.need_pledges.c.need_id.in_([row["need_id"] for row in need_rows]),
            readable_pledges(reader),
        )
        .order_by(t.pledges.c.pledge_id)
    )
    answers: dict[str, list[NeedPledge]] = {}
    for link in links.mappings():
        answers.setdefault(link["need_id"], []).append(
            NeedPledge(
                pledge_id=link["pledge_id"],
                member_id=link["member_id"],
                item=link["item"],
                status=link["status"],
            )
        )
    return [
        NeedView(
            need_id=row["need_id"],
            branch_id=row["branch_id"],
            year=row["year"],
            employee_id=row["employee_id"],
            problem=row["problem"],
            suggested_area=row["suggested_area"],
            area=row["area"],
            area_label=ResponsibilityArea(row["area"]).label if row["area"] else None,
            solved=row["solved_by"] is not None,
            solved_by=row["solved_by"],
            solved_on=row["solved_on"],
            pledges=answers.get(row["need_id"], []),
        )
        for row in need_rows
    ]


async def overdue_pledges(
    session: AsyncSession, branch_id: str, *, on: date, reader: Principal
) -> list[OverduePledge]:
    """The same rule as ``domain.is_overdue``, as a query: public, past due, not accepted,
    and not applied for acceptance by the due date."""
    await _require_branch(session, branch_id)
    _require_pledges_reader(reader, branch_id)
    query = _readable_pledges_with_names(reader).where(
        t.pledges.c.branch_id == branch_id,
        t.pledges.c.due_date < on,
        or_(
            t.pledges.c.status.in_([PledgeStatus.PUBLISHED.value, PledgeStatus.RETURNED.value]),
            and_(
                t.pledges.c.status == PledgeStatus.ACCEPTANCE_REQUESTED.value,
                t.pledges.c.acceptance_requested_on > t.pledges.c.due_date,
            ),
        ),
    )
    rows = await session.execute(query.order_by(t.pledges.c.due_date, t.pledges.c.pledge_id))
    return [
        OverduePledge(pledge=view, days_overdue=(on - view.due_date).days)
        for view in (_pledge_view(row, reader) for row in rows.mappings())
    ]
