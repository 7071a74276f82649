"""Directory queries the web portal needs: the branches (public), a branch's people and a
branch's pledges (internal, as ``access`` allows). They read the same query tables as
``queries``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from services.pledges.projections.queries import (
    _pledge_view,
    _readable_pledges_with_names,
    _require_branch,
    _require_pledges_reader,
    _require_roster_reader,
)
from services.pledges.projections.views import BranchEntry, PersonEntry, PledgeView
from shared.auth import Principal, Role
from shared.contracts.pledges import CommitteePosition, Membership
from shared.errors import Forbidden


async def branches(session: AsyncSession) -> list[BranchEntry]:
    query = (
        select(
            t.branches.c.branch_id,
            t.branches.c.name,
            t.branches.c.unit_id,
            t.units.c.name.label("unit_name"),
        )
        .select_from(t.branches.outerjoin(t.units, t.units.c.unit_id == t.branches.c.unit_id))
        .order_by(t.branches.c.unit_id, t.branches.c.branch_id)
    )
    return [BranchEntry(**row) for row in (await session.execute(query)).mappings()]


async def people(
    session: AsyncSession, *, reader: Principal, branch_id: str | None
) -> list[PersonEntry]:
    """Everyone on the roster of a branch (or of every branch, for the organization
    department and operators), departed people included and marked."""
    if branch_id is None:
        if reader.roles.isdisjoint({Role.ORG_ADMIN, Role.OPERATOR}):
            raise Forbidden("只能查看本支部的花名册")
    else:
        await _require_branch(session, branch_id)
        _require_roster_reader(reader, branch_id)
    query = select(
        t.people.c.person_id,
        t.people.c.name,
        t.people.c.branch_id,
        t.people.c.membership,
        t.people.c.post,
        t.people.c.committee_position,
        t.people.c.departed_on,
        t.branches.c.unit_id,
    ).select_from(t.people.outerjoin(t.branches, t.branches.c.branch_id == t.people.c.branch_id))
    if branch_id is not None:
        query = query.where(t.people.c.branch_id == branch_id)
    rows = await session.execute(query.order_by(t.people.c.branch_id, t.people.c.person_id))
    result = []
    for row in rows.mappings():
        membership = Membership(row["membership"])
        position = row["committee_position"]
        result.append(
            PersonEntry(
                **row,
                membership_label=membership.label,
                is_party_member=membership.is_party_member,
                committee_label=CommitteePosition(position).label if position else None,
            )
        )
    return result


async def branch_pledges(
    session: AsyncSession, branch_id: str, *, reader: Principal, year: int | None
) -> list[PledgeView]:
    """The branch's pledges the reader may read: all of them for its committee and the
    organization department; the published ones and their own for its other staff."""
    await _require_branch(session, branch_id)
    _require_pledges_reader(reader, branch_id)
    query = _readable_pledges_with_names(reader).where(t.pledges.c.branch_id == branch_id)
    if year is not None:
        query = query.where(t.pledges.c.year == year)
    rows = await session.execute(query.order_by(t.pledges.c.declared_at))
    return [_pledge_view(row, reader) for row in rows.mappings()]
