"""Property: for random ballots, amendments included, the card the projection stores from the
reviews service's tallies (through ``apply`` on a real database, in random batches) equals
the card computed directly from the ballots that count: scoring, which never sees a ballot,
loses nothing by reading tallies."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.scoring import persistence as t
from services.scoring.domain import DEFAULT_ADOPTED_POLICY, MemberScores, compute_card
from services.scoring.projections import apply
from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import HALF_YEARS, QUARTERS, Period
from shared.db import Database
from tests.integration.scoring.scenario import Planned, Scenario, as_stored, tallied

pytestmark = pytest.mark.integration

SLOTS = [(BallotRole.PEER, q) for q in QUARTERS] + [
    (role, h)
    for role in (BallotRole.ALL_STAFF, BallotRole.PAIRED, BallotRole.BRANCH)
    for h in HALF_YEARS
]
_PART = {
    BallotRole.PEER: "peer",
    BallotRole.ALL_STAFF: "mass_all_staff",
    BallotRole.PAIRED: "mass_paired",
    BallotRole.BRANCH: "branch",
}

scores = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
ballot = st.tuples(
    st.sampled_from(SLOTS),
    st.integers(min_value=0, max_value=4),  # reviewer
    st.none() | scores,  # None: this sheet leaves the member out
)


def direct(final: dict[tuple[BallotRole, Period, int], Decimal | None]) -> MemberScores:
    parts: dict[str, dict[Period, list[Decimal]]] = {name: {} for name in _PART.values()}
    for (role, period, _), score in sorted(final.items(), key=repr):
        if score is not None:
            parts[_PART[role]].setdefault(period, []).append(score)
    return MemberScores.model_validate(
        {name: {p: tuple(v) for p, v in by.items()} for name, by in parts.items()}
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ballots=st.lists(ballot, max_size=40), cut=st.integers(min_value=1, max_value=10))
async def test_projected_composite_equals_the_direct_computation(
    projection_db: Database,
    year: int,
    ballots: list[tuple[tuple[BallotRole, Period], int, Decimal | None]],
    cut: int,
) -> None:
    scenario = Scenario(uuid.uuid4().hex[:8], year)
    member, other = scenario.m(1), scenario.m(2)
    planned: list[Planned] = []
    final: dict[tuple[BallotRole, Period, int], Decimal | None] = {}
    for (role, period), reviewer, score in ballots:
        key = (role, period, reviewer)
        sheet = {other: 50} if score is None else {member: score, other: 50}
        planned.append(scenario.sheet(period, role, f"R{reviewer}", sheet, amended=key in final))
        final[key] = score
    events = as_stored(tallied(planned, members=[member, other]))
    for start in range(0, len(events), cut):
        async with projection_db.transaction() as session:
            await apply(session, events[start : start + cut])

    async with projection_db.reading() as session:
        row = (
            await session.execute(
                select(
                    t.cards.c.composite,
                    t.cards.c.missing,
                    t.cards.c.peer,
                    t.cards.c.mass,
                    t.cards.c.branch_review,
                ).where(t.cards.c.member_id == member, t.cards.c.year == year)
            )
        ).first()
    expected = compute_card(direct(final), DEFAULT_ADOPTED_POLICY)
    if not ballots:
        assert row is None  # no period was held: no card
        return
    assert row is not None

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    assert row.composite == text(expected.composite)
    assert row.missing == [review.value for review in expected.missing]
    assert (row.peer, row.mass, row.branch_review) == (
        text(expected.peer.annual),
        text(expected.mass.annual),
        text(expected.branch.annual),
    )
