"""What the service learns from other topics: the roster (later pledges events change
eligibility, a batch folds in order) and the review policy adopted in scoring."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from services.reviews.projections import queries
from services.scoring.domain.policy import DEFAULT_POLICY as SCORING_DEFAULT
from shared.contracts.pledges import (
    CarriedAgreement,
    CommitteeMemberRemoved,
    Membership,
    PersonDeparted,
    PersonRegistered,
    PersonTransferred,
    PersonUpdated,
    PledgeCarriedIn,
    PledgeCarriedOver,
    PledgeWithdrawn,
    PublicationChannel,
    QuarterlyWork,
    ResponsibilityArea,
)
from shared.contracts.scoring import BallotMinimums, ScoringPolicyAdopted
from tests.integration.reviews.conftest import ADMIN, BRANCH, OTHER_BRANCH, Reviews, token_of

pytestmark = pytest.mark.integration


async def test_transfers_committee_changes_and_withdrawn_pledges_change_eligibility(
    reviews: Reviews,
):
    peer = await reviews.open("peer", "Q1")
    mass = await reviews.open("mass", "H1")
    branch = await reviews.open("branch", "H1")
    await reviews.feed(
        [
            (
                "person-rv-m3",
                PersonTransferred(
                    person_id="rv-m3", from_branch_id=BRANCH, to_branch_id=OTHER_BRANCH
                ),
            ),
            ("person-rv-sec", CommitteeMemberRemoved(person_id="rv-sec", branch_id=BRANCH)),
            ("pledge-rv-1", PledgeWithdrawn(pledge_id="rv-1", reason="岗位调整")),
        ]
    )

    # 陈静 reviews where she is now: no longer in the old branch's period. (She is still
    # rated there: test_period_subjects.)
    moved = await reviews.cast(token_of("rv-m3"), peer, "peer", {"rv-m2": 90})
    assert moved.status_code == 403
    assert "你所在的党支部不在" in moved.json()["message"]
    seatless = await reviews.cast(token_of("rv-sec"), branch, "branch", {"rv-m1": 90}, "好")
    assert seatless.status_code == 403
    assert "只有党支部委员会成员才能进行党支部评议" in seatless.json()["message"]
    unpaired = await reviews.cast(token_of("rv-e1"), mass, "paired", {"rv-m1": 90})
    assert unpaired.status_code == 403
    assert "你没有与党员签订结对协议" in unpaired.json()["message"]


async def test_a_batch_is_folded_in_order_and_changes_to_unknown_people_are_ignored(
    reviews: Reviews,
):
    stream = "person-rv-new"
    await reviews.feed(
        [
            (
                "person-rv-ghost",
                PersonUpdated(
                    person_id="rv-ghost", name="无名", membership=Membership.NON_MEMBER, post=None
                ),
            ),
            (
                stream,
                PersonRegistered(
                    person_id="rv-new",
                    name="新人",
                    branch_id=BRANCH,
                    membership=Membership.PROBATIONARY_MEMBER,
                    post=None,
                ),
            ),
            (
                stream,
                PersonUpdated(
                    person_id="rv-new",
                    name="新人甲",
                    membership=Membership.FULL_MEMBER,
                    post=None,
                ),
            ),
            (
                stream,
                PersonTransferred(
                    person_id="rv-new", from_branch_id=BRANCH, to_branch_id=OTHER_BRANCH
                ),
            ),
            (
                stream,
                PersonDeparted(
                    person_id="rv-new",
                    branch_id=OTHER_BRANCH,
                    departed_on=date(2024, 3, 1),
                    reason=None,
                ),
            ),
        ]
    )

    async with reviews.runtime.db.reading() as session:
        found = await queries.roster_entries(session, ["rv-new", "rv-ghost"])
    assert list(found) == ["rv-new"]
    entry = found["rv-new"]
    assert (entry.name, entry.membership, entry.branch_id, entry.departed) == (
        "新人甲",
        Membership.FULL_MEMBER,
        OTHER_BRANCH,
        True,
    )
    assert entry.unit_id == "rv-u1"


async def test_the_adopted_scoring_policy_sets_who_votes_and_how_many_ballots_show(
    reviews: Reviews,
):
    peer = await reviews.open("peer", "Q1")
    refused = await reviews.cast(token_of("rv-pm"), peer, "peer", {"rv-m1": 90})
    assert refused.status_code == 403

    policy = SCORING_DEFAULT.model_copy(
        update={
            "probationary_members_vote": True,
            "min_ballots": BallotMinimums(peer=1, mass=3, branch=1),
        }
    )
    await reviews.feed(
        [
            (
                "scoring-policy-2024",
                ScoringPolicyAdopted(year=2024, policy_id="rv-policy", policy=policy),
            )
        ]
    )

    cast = await reviews.cast(token_of("rv-pm"), peer, "peer", {"rv-m1": 90})
    assert cast.status_code == 200, cast.text
    await reviews.cast(token_of("rv-m2"), peer, "peer", {"rv-m1": 80})
    await reviews.ok("POST", f"/periods/{peer}/close", ADMIN)
    results = await reviews.ok("GET", "/members/rv-m1/results?year=2024", token_of("rv-m1"))
    [shown] = [p for p in results["periods"] if p["period_id"] == peer]
    # The policy's minimum of 1 does not lower the floor of an anonymous group: 2 peer
    # ballots show nothing but their count, whatever the policy says.
    assert (shown["min_ballots"], shown["ballots"], shown["status_label"], shown["average"]) == (
        3,
        2,
        "票数不足",
        None,
    )


async def test_a_pledge_carried_into_the_next_year_keeps_its_pairing_there(reviews: Reviews):
    """Carry-over (结转): the pledge of the year continues in the next with its signed
    agreement, so 赵磊 reviews 李秀英 as her paired employee in the next year as well; the
    year's own pairing stays."""
    await reviews.feed(
        [
            (
                "pledge-rv-1",
                PledgeCarriedOver(
                    pledge_id="rv-1",
                    to_pledge_id="rv-1-2025",
                    to_year=2025,
                    due_date=date(2025, 6, 30),
                    reason="冬季停工，顺延",
                ),
            ),
            (
                "pledge-rv-1-2025",
                PledgeCarriedIn(
                    pledge_id="rv-1-2025",
                    from_pledge_id="rv-1",
                    member_id="rv-m1",
                    branch_id=BRANCH,
                    year=2025,
                    area=ResponsibilityArea.SAFETY,
                    item="夜班巡检照明改造",
                    content="为巡检路线加装照明",
                    quantity="12处",
                    quality_standard="通过安全验收",
                    due_date=date(2025, 6, 30),
                    paired_employee_id="rv-e1",
                    agreement=CarriedAgreement(
                        employee_id="rv-e1",
                        signed_on=date(2024, 3, 10),
                        problem="夜班巡检照明不足",
                        quarterly_work=QuarterlyWork(q1="勘察路线"),
                        final_goal="夜班巡检全程有照明",
                    ),
                    channels=(PublicationChannel.NOTICE_BOARD,),
                    published_on=date(2024, 3, 12),
                ),
            ),
        ]
    )
    async with reviews.runtime.db.reading() as session:
        for year in (2024, 2025):
            found = await queries.pairings(session, year=year, employee_ids=["rv-e1"])
            assert found == {"rv-e1": frozenset({"rv-m1"})}, year

    # In the next year, the paired employee casts the paired part of the mass review.
    reviews.now[0] = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
    period_id = f"rp-mass-H1-{uuid.uuid4().hex[:6]}"
    body = {
        "period_id": period_id,
        "kind": "mass",
        "period": "H1",
        "year": 2025,
        "scope_level": "branch",
        "scope_id": BRANCH,
        "deadline": None,
    }
    await reviews.ok("POST", "/periods", ADMIN, body)
    cast = await reviews.cast(token_of("rv-e1"), period_id, "paired", {"rv-m1": 95})
    assert cast.status_code in (200, 201), cast.text
