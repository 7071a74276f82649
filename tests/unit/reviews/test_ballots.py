"""Ballots: who may rate whom in each review, amendments until the period closes, and the
refusals, each with the message the reviewer sees."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.reviews.commands import CastBallot, CloseReviewPeriod, ScoreMember
from services.reviews.domain import (
    RosterSnapshot,
    ballot_pseudonym,
    ballot_stream,
    decide_cast_ballot,
    decide_close_period,
    evolve_ballot,
    evolve_period,
    fold,
)
from shared.contracts.pledges import Membership
from shared.contracts.reviews import BallotAmended, BallotCast, BallotRole, BallotScore
from shared.contracts.scoring import Period
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.unit.reviews.examples import (
    BRANCH,
    CHEN,
    KEY,
    LI,
    LIU,
    MASS_H1,
    NOW,
    ORG_DEPARTMENT,
    OTHER_BRANCH,
    PEER_Q1,
    ROSTER,
    SUN,
    UNIT_SCOPE,
    WANG,
    WU,
    ZHAO,
    ZHOU,
    ballot,
    cast,
    cast_ballot,
    opened,
)

pytestmark = pytest.mark.unit

PEER = BallotRole.PEER
ALL_STAFF = BallotRole.ALL_STAFF
PAIRED = BallotRole.PAIRED
BRANCH_REVIEW = BallotRole.BRANCH


def scores(*pairs: tuple[str, str, str | None]) -> tuple[BallotScore, ...]:
    return tuple(
        BallotScore(member_id=member_id, score=Decimal(score), comment=comment)
        for member_id, score, comment in pairs
    )


# Peer review


def test_a_member_rates_the_other_members_of_their_branch() -> None:
    events = cast(ballot(WANG, PEER, {LIU: "92.5", CHEN: "88", ZHAO: "90"}))
    assert events == [
        BallotCast(
            period_id=PEER_Q1.period_id,
            period=Period.Q1,
            year=2024,
            branch_id=BRANCH,
            role=PEER,
            reviewer_pseudonym=ballot_pseudonym(KEY, PEER_Q1.period_id, WANG.person_id, PEER),
            scores=scores(
                (LIU.person_id, "92.50", None),
                (CHEN.person_id, "88.00", None),
                (ZHAO.person_id, "90.00", None),
            ),
        )
    ]


def test_the_ballot_stream_is_named_by_pseudonym_not_by_person() -> None:
    pseudonym = ballot_pseudonym(KEY, PEER_Q1.period_id, WANG.person_id, PEER)
    stream = ballot_stream(PEER_Q1.period_id, PEER, pseudonym)
    assert stream == f"review-ballot-{PEER_Q1.period_id}-peer-{pseudonym}"
    assert WANG.person_id not in stream


def test_a_reviewer_cannot_rate_themselves() -> None:
    with pytest.raises(InvalidInput, match=r"^不能评议自己$"):
        cast(ballot(WANG, PEER, {LIU: "90", WANG: "100"}))


def test_a_non_member_cannot_be_rated() -> None:
    with pytest.raises(InvalidInput, match="李娟不是党员，不在评议对象之内"):
        cast(ballot(WANG, PEER, {LI: "90"}))


def test_a_member_of_another_branch_cannot_be_rated() -> None:
    with pytest.raises(InvalidInput, match="周强不是你所在党支部的党员，只能评议本支部的党员"):
        cast(ballot(WANG, PEER, {ZHOU: "90"}))


def test_a_person_unknown_to_the_roster_cannot_be_rated() -> None:
    with pytest.raises(InvalidInput, match="花名册中没有编号为“P-9999”的人员"):
        cast(ballot(WANG, PEER, {"P-9999": "90"}))


def test_a_departed_member_cannot_be_rated() -> None:
    with pytest.raises(InvalidInput, match="吴刚已离开本单位，不再参加评议"):
        cast(ballot(WANG, PEER, {WU: "90"}))


def test_a_member_who_moved_while_the_period_was_open_is_rated_by_the_old_branch() -> None:
    # 周强 was in 刘洋's branch when Q1 opened and has moved to another since.
    assert cast(ballot(LIU, PEER, {ZHOU: "88"}), moves={ZHOU.person_id: BRANCH})
    # 陈明 came to 刘洋's branch after Q1 opened: his old branch rates him in it.
    newcomer = {CHEN.person_id: OTHER_BRANCH}
    with pytest.raises(InvalidInput, match="陈明是本评议期开始后转入你所在党支部的，本期由其原党"):
        cast(ballot(LIU, PEER, {CHEN: "88"}), moves=newcomer)
    # A move there and back within the period: the branch at the opening is the one he is in.
    assert cast(ballot(LIU, PEER, {CHEN: "88"}), moves={CHEN.person_id: BRANCH})


def test_a_member_exempted_from_the_year_cannot_be_rated() -> None:
    with pytest.raises(InvalidInput, match="陈明本年度已免于评议，不在评议对象之内"):
        cast(ballot(WANG, PEER, {LIU: "90", CHEN: "90"}), exempt=frozenset({CHEN.person_id}))
    assert cast(ballot(WANG, PEER, {LIU: "90"}), exempt=frozenset({CHEN.person_id}))


def test_a_departed_person_cannot_vote() -> None:
    with pytest.raises(Forbidden, match="吴刚已离开本单位，不能再参加评议"):
        cast(ballot(WU, PEER, {LIU: "90"}))


def test_a_person_unknown_to_the_roster_cannot_vote() -> None:
    with pytest.raises(Forbidden, match="花名册中没有你的信息"):
        cast(ballot(replace(WANG, person_id="P-9999"), PEER, {LIU: "90"}))


def test_a_non_member_cannot_vote_in_the_peer_review() -> None:
    with pytest.raises(Forbidden, match="党员互评由本支部党员参加，群众请参加群众评议"):
        cast(ballot(LI, PEER, {LIU: "90"}))


def test_a_probationary_member_does_not_vote_in_the_peer_review_by_default() -> None:
    with pytest.raises(Forbidden, match="按现行评议办法，预备党员不参加党员互评"):
        cast(ballot(ZHAO, PEER, {LIU: "90"}))


def test_a_probationary_member_votes_in_the_peer_review_when_the_policy_says_so() -> None:
    [event] = cast(ballot(ZHAO, PEER, {LIU: "90"}), probationary_members_vote=True)
    assert isinstance(event, BallotCast)


def test_a_reviewer_outside_the_periods_scope_cannot_vote() -> None:
    with pytest.raises(
        Forbidden,
        match=r"你所在的党支部不在2024年第一季度党员互评的评议范围（党支部“B-JB”）内",
    ):
        cast(ballot(ZHOU, PEER, {LIU: "90"}))


def test_in_a_unit_wide_period_each_branch_rates_its_own_members() -> None:
    unit_wide = opened(scope=UNIT_SCOPE)
    zhou_colleague = replace(CHEN, person_id="P-1102", name="钱进", branch_id=OTHER_BRANCH)
    command = CastBallot(
        period_id=unit_wide.period_id,
        reviewer_id=ZHOU.person_id,
        role=PEER,
        scores=(ScoreMember(member_id=zhou_colleague.person_id, score=Decimal(85)),),
    )
    pseudonym = ballot_pseudonym(KEY, unit_wide.period_id, ZHOU.person_id, PEER)
    [event] = decide_cast_ballot(
        None,
        command,
        period=unit_wide,
        roster=RosterSnapshot(reviewer=ZHOU, rated={zhou_colleague.person_id: zhou_colleague}),
        pseudonym=pseudonym,
        probationary_members_vote=False,
        now=NOW,
    )
    assert isinstance(event, BallotCast)
    assert event.branch_id == OTHER_BRANCH
    with pytest.raises(InvalidInput, match="刘洋不是你所在党支部的党员"):
        decide_cast_ballot(
            None,
            command.model_copy(
                update={"scores": (ScoreMember(member_id=LIU.person_id, score=Decimal(85)),)}
            ),
            period=unit_wide,
            roster=RosterSnapshot(reviewer=ZHOU, rated={LIU.person_id: LIU}),
            pseudonym=pseudonym,
            probationary_members_vote=False,
            now=NOW,
        )


# Mass review


def test_an_employee_rates_the_members_of_their_branch_as_all_staff() -> None:
    [event] = cast(ballot(LI, ALL_STAFF, {LIU: "95", CHEN: "80", WANG: "99"}))
    assert isinstance(event, BallotCast)
    assert event.role is ALL_STAFF
    assert [entry.member_id for entry in event.scores] == ["P-1001", "P-1002", "P-1003"]


def test_party_members_are_staff_too_and_rate_their_colleagues_as_all_staff() -> None:
    [event] = cast(ballot(WANG, ALL_STAFF, {LIU: "90"}))
    assert isinstance(event, BallotCast)


def test_the_paired_employee_rates_their_paired_member_as_paired() -> None:
    [event] = cast(ballot(LI, PAIRED, {LIU: "98"}))
    assert isinstance(event, BallotCast)
    assert event.role is PAIRED
    assert event.reviewer_pseudonym == ballot_pseudonym(
        KEY, MASS_H1.period_id, LI.person_id, PAIRED
    )


def test_the_paired_employee_rates_no_one_else_as_paired() -> None:
    with pytest.raises(
        Forbidden, match="你没有与陈明签订结对协议，以结对员工身份只能评议与你结对的党员"
    ):
        cast(ballot(LI, PAIRED, {LIU: "98", CHEN: "90"}))


def test_an_employee_without_a_pairing_cannot_rate_as_paired() -> None:
    with pytest.raises(Forbidden, match="你没有与党员签订结对协议，不能以结对员工身份评议"):
        cast(ballot(SUN, PAIRED, {LIU: "90"}))


def test_the_paired_and_the_all_staff_ballots_of_one_employee_are_separate() -> None:
    all_staff = cast_ballot(ballot(LI, ALL_STAFF, {LIU: "90", CHEN: "85"}))
    paired = cast_ballot(ballot(LI, PAIRED, {LIU: "97"}))
    assert all_staff.reviewer_pseudonym != paired.reviewer_pseudonym
    assert all_staff.score_of(LIU.person_id) != paired.score_of(LIU.person_id)


# Branch review


def test_a_committee_member_gives_the_branch_review_with_an_assessment() -> None:
    [event] = cast(ballot(WANG, BRANCH_REVIEW, {LIU: "91", CHEN: "86.5"}))
    assert isinstance(event, BallotCast)
    assert event.role is BRANCH_REVIEW
    assert all(entry.comment == "工作扎实，带头作用明显" for entry in event.scores)


def test_a_member_outside_the_committee_cannot_give_the_branch_review() -> None:
    with pytest.raises(Forbidden, match="只有党支部委员会成员才能进行党支部评议"):
        cast(ballot(LIU, BRANCH_REVIEW, {CHEN: "90"}))


def test_the_branch_review_needs_an_assessment_for_each_member() -> None:
    command = ballot(WANG, BRANCH_REVIEW, {LIU: "91"})
    bare = command.model_copy(
        update={"scores": (ScoreMember(member_id=LIU.person_id, score=Decimal(91)),)}
    )
    with pytest.raises(InvalidInput, match="党支部评议须为刘洋填写评价意见"):
        cast(bare)


def test_a_ballot_must_fit_the_periods_review() -> None:
    command = ballot(WANG, PEER, {LIU: "90"}).model_copy(update={"period_id": MASS_H1.period_id})
    with pytest.raises(
        InvalidInput,
        match="2024年上半年群众评议不能投“党员互评”票，请选择群众评议的评议身份",
    ):
        cast(command, period=MASS_H1)


# Amendments


def test_casting_again_amends_the_ballot_and_the_last_one_counts() -> None:
    cast_events = cast(ballot(WANG, PEER, {LIU: "80", CHEN: "85"}))
    first = fold(evolve_ballot, cast_events)
    assert first is not None
    events = cast(ballot(WANG, PEER, {LIU: "90", CHEN: "85"}), state=first)
    assert events == [
        BallotAmended(
            period_id=first.period_id,
            period=first.period,
            year=first.year,
            branch_id=first.branch_id,
            role=PEER,
            reviewer_pseudonym=first.reviewer_pseudonym,
            scores=scores((LIU.person_id, "90", None), (CHEN.person_id, "85", None)),
        )
    ]
    after = fold(evolve_ballot, [*cast_events, *events])
    assert after is not None
    assert after.amendments == 1
    score = after.score_of(LIU.person_id)
    assert score is not None and score.score == Decimal("90.00")


def test_an_amendment_replaces_the_whole_ballot() -> None:
    first = cast_ballot(ballot(WANG, PEER, {LIU: "80", CHEN: "85"}))
    after = cast_ballot(ballot(WANG, PEER, {LIU: "80"}), state=first)
    assert after.score_of(CHEN.person_id) is None


def test_casting_the_same_ballot_again_records_nothing() -> None:
    first = cast_ballot(ballot(WANG, PEER, {LIU: "80", CHEN: "85.5"}))
    # The same scores, listed in another order and spelled differently.
    assert cast(ballot(WANG, PEER, {CHEN: "85.50", LIU: "80.0"}), state=first) == []


def test_a_changed_comment_alone_is_an_amendment() -> None:
    first = cast_ballot(ballot(WANG, BRANCH_REVIEW, {LIU: "91"}))
    command = ballot(WANG, BRANCH_REVIEW, {LIU: "91"})
    revised = command.model_copy(
        update={
            "scores": (
                ScoreMember(member_id=LIU.person_id, score=Decimal(91), comment="帮扶成效显著"),
            )
        }
    )
    [event] = cast(revised, state=first)
    assert isinstance(event, BallotAmended)


def test_a_reviewer_who_moved_to_another_branch_cannot_amend_the_old_ballot() -> None:
    first = cast_ballot(ballot(WANG, PEER, {LIU: "80"}))
    moved = replace(WANG, branch_id=OTHER_BRANCH)
    with pytest.raises(Conflict, match="你已调到其他党支部，原支部的选票不能再修改"):
        cast(ballot(WANG, PEER, {ZHOU: "80"}), state=first, reviewer=moved)


# Closed periods


def test_no_ballot_is_cast_in_a_closed_period() -> None:
    [closing] = decide_close_period(
        PEER_Q1, CloseReviewPeriod(period_id=PEER_Q1.period_id), authority=ORG_DEPARTMENT
    )
    period = evolve_period(PEER_Q1, closing)
    with pytest.raises(Conflict, match=r"^评议期已结束，不能再投票或修改$"):
        cast(ballot(WANG, PEER, {LIU: "90"}), period=period)


def test_no_ballot_is_amended_in_a_closed_period() -> None:
    first = cast_ballot(ballot(WANG, PEER, {LIU: "80"}))
    period = replace(PEER_Q1, closed=True)
    with pytest.raises(Conflict, match="评议期已结束，不能再投票或修改"):
        cast(ballot(WANG, PEER, {LIU: "95"}), state=first, period=period)


def test_no_ballot_is_cast_after_the_deadline_even_before_the_period_is_closed() -> None:
    deadline = NOW + timedelta(days=3)
    period = replace(PEER_Q1, deadline=deadline)
    with pytest.raises(Conflict, match="评议期已结束，不能再投票或修改"):
        cast(ballot(WANG, PEER, {LIU: "90"}), period=period, now=deadline)
    assert cast(ballot(WANG, PEER, {LIU: "90"}), period=period, now=deadline - timedelta(minutes=1))


def test_no_ballot_is_cast_before_or_after_the_window_and_the_refusal_names_its_days() -> None:
    period = replace(PEER_Q1, deadline=None)
    before = datetime(2023, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 December in Beijing
    after = datetime(2024, 3, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 April in Beijing
    for moment, when in ((before, "尚未开始"), (after, "已过")):
        with pytest.raises(
            InvalidInput, match=f"本评议期投票时间为2024年1月1日至2024年3月31日，{when}"
        ):
            cast(ballot(WANG, PEER, {LIU: "90"}), period=period, now=moment)
    assert cast(ballot(WANG, PEER, {LIU: "90"}), period=period, now=before + timedelta(minutes=1))
    assert cast(ballot(WANG, PEER, {LIU: "90"}), period=period, now=after - timedelta(minutes=1))


def test_a_ballot_for_an_unknown_period_is_not_found() -> None:
    command = ballot(WANG, PEER, {LIU: "90"})
    with pytest.raises(NotFound, match=f"评议期“{PEER_Q1.period_id}”不存在"):
        decide_cast_ballot(
            None,
            command,
            period=None,
            roster=RosterSnapshot(reviewer=WANG, rated=ROSTER),
            pseudonym=ballot_pseudonym(KEY, PEER_Q1.period_id, WANG.person_id, PEER),
            probationary_members_vote=False,
            now=NOW,
        )


# Wiring guards


def test_the_domain_refuses_a_raw_id_where_a_pseudonym_belongs() -> None:
    with pytest.raises(ValueError, match="pseudonym"):
        decide_cast_ballot(
            None,
            ballot(WANG, PEER, {LIU: "90"}),
            period=PEER_Q1,
            roster=RosterSnapshot(reviewer=WANG, rated=ROSTER),
            pseudonym=WANG.person_id,
            probationary_members_vote=False,
            now=NOW,
        )


def test_the_domain_refuses_someone_elses_ballot_state() -> None:
    chens = cast_ballot(ballot(CHEN, PEER, {LIU: "70"}))
    with pytest.raises(ValueError, match="not this reviewer's ballot"):
        cast(ballot(WANG, PEER, {LIU: "90"}), state=chens)


def test_a_probationary_member_is_rated_in_the_peer_review() -> None:
    assert ZHAO.membership is Membership.PROBATIONARY_MEMBER
    [event] = cast(ballot(LIU, PEER, {ZHAO: "88"}))
    assert isinstance(event, BallotCast)
