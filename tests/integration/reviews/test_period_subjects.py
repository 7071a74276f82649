"""Who a period reviews (DOMAIN.md section 5): a member who moves while a period is open is
rated for it by the branch they belonged to when it opened, and tallied there; a member
exempted from the year is rated by nobody. Reviewers take part where they are now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from services.reviews import persistence as t
from shared.contracts.pledges import (
    ExemptionReason,
    MemberExempted,
    MemberExemptionRevoked,
    PersonTransferred,
)
from tests.integration.reviews.conftest import (
    ADMIN,
    BRANCH,
    NOW,
    OTHER_BRANCH,
    UNIT,
    YEAR,
    Reviews,
    token_of,
)

pytestmark = pytest.mark.integration


def transfer(person: str, from_branch: str, to_branch: str) -> tuple[str, PersonTransferred]:
    return (
        f"person-{person}",
        PersonTransferred(person_id=person, from_branch_id=from_branch, to_branch_id=to_branch),
    )


async def members(reviews: Reviews, who: str, period_id: str, role: str = "peer") -> list[str]:
    view = await reviews.ok("GET", f"/periods/{period_id}/ballot-members/{role}", token_of(who))
    return sorted(m["member_id"] for m in view["members"])


async def moves(reviews: Reviews) -> set[tuple[str, str, str]]:
    async with reviews.runtime.db.reading() as session:
        rows = await session.execute(select(t.period_moves))
        return {(r.period_id, r.person_id, r.branch_id) for r in rows}


async def test_a_member_who_moves_while_a_period_is_open_is_reviewed_by_the_old_branch(
    reviews: Reviews,
):
    before = await reviews.open("peer", "Q1", scope_level="unit", scope_id=UNIT)
    in_branch = await reviews.open("branch", "H1")
    # 陈静 moves to 采油二队 a day after both periods opened.
    await reviews.feed([transfer("rv-m3", BRANCH, OTHER_BRANCH)], at=NOW + timedelta(days=1))
    assert await moves(reviews) == {(before, "rv-m3", BRANCH), (in_branch, "rv-m3", BRANCH)}

    # The old branch still rates her in the unit-wide Q1; the new one does not, and says why.
    assert "rv-m3" in await members(reviews, "rv-m2", before)
    assert (await reviews.cast(token_of("rv-m2"), before, "peer", {"rv-m3": 90})).status_code == 200
    assert "rv-m3" not in await members(reviews, "rv-x1", before)
    refused = await reviews.cast(token_of("rv-x1"), before, "peer", {"rv-m3": 88})
    assert refused.status_code == 422
    assert "陈静是本评议期开始后转入你所在党支部的" in refused.json()["message"]
    # She reviews where she is now: her new branch's members, not the old one's.
    assert await members(reviews, "rv-m3", before) == ["rv-sec2", "rv-x1"]
    mine = await reviews.cast(token_of("rv-m3"), before, "peer", {"rv-x1": 85})
    assert mine.status_code == 200
    stale = await reviews.cast(token_of("rv-m3"), before, "peer", {"rv-m2": 85})
    assert stale.status_code == 422

    # A period that opens after the move reviews her in the new branch.
    after = await reviews.open("mass", "H1", scope_level="unit", scope_id=UNIT)
    assert "rv-m3" not in await members(reviews, "rv-e2", after, "all_staff")
    assert "rv-m3" in await members(reviews, "rv-x1", after, "all_staff")
    cast = await reviews.cast(token_of("rv-x1"), after, "all_staff", {"rv-m3": 80})
    assert cast.status_code == 200

    # Closing tallies her in the branch that reviewed her: the old one for Q1, the new for Q2.
    for period_id in (before, after):
        await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    async with reviews.runtime.db.reading() as session:
        rows = await session.execute(
            select(t.tallies.c.period_id, t.tallies.c.branch_id).where(
                t.tallies.c.member_id == "rv-m3"
            )
        )
        assert dict(rows.all()) == {before: BRANCH, after: OTHER_BRANCH}


async def test_only_the_first_move_in_a_period_counts_and_moves_outside_periods_record_nothing(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1", scope_level="unit", scope_id=UNIT)
    # Moved before the period opened: reviewed where she is.
    await reviews.feed([transfer("rv-m2", BRANCH, OTHER_BRANCH)], at=NOW - timedelta(days=1))
    # Moved there and back while it is open, in two batches: the branch at the opening holds.
    await reviews.feed([transfer("rv-m3", BRANCH, OTHER_BRANCH)], at=NOW + timedelta(days=1))
    await reviews.feed([transfer("rv-m3", OTHER_BRANCH, BRANCH)], at=NOW + timedelta(days=2))
    assert await moves(reviews) == {(period_id, "rv-m3", BRANCH)}
    assert "rv-m2" in await members(reviews, "rv-x1", period_id)
    assert "rv-m3" in await members(reviews, "rv-m1", period_id)
    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    # Closed: a later move records nothing for it.
    await reviews.feed([transfer("rv-m1", BRANCH, OTHER_BRANCH)], at=NOW + timedelta(days=3))
    assert await moves(reviews) == {(period_id, "rv-m3", BRANCH)}


async def test_nobody_rates_a_member_exempted_from_the_year_until_it_is_revoked(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1")
    exempted = MemberExempted(
        member_id="rv-m1",
        branch_id=BRANCH,
        year=YEAR,
        reason=ExemptionReason.RETIRED,
        reason_text=None,
        evidence="退休审批表",
    )
    await reviews.feed([("person-rv-m1", exempted)])
    assert "rv-m1" not in await members(reviews, "rv-m2", period_id)
    refused = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90, "rv-m3": 80})
    assert refused.status_code == 422
    assert "李秀英本年度已免于评议" in refused.json()["message"]
    # Another year's exemption changes nothing here; a revocation makes her rated again.
    revoked = MemberExemptionRevoked(member_id="rv-m1", branch_id=BRANCH, year=YEAR, reason="误登")
    await reviews.feed([("person-rv-m1", revoked)])
    assert "rv-m1" in await members(reviews, "rv-m2", period_id)
    accepted = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    assert accepted.status_code == 200
