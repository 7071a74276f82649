from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.scoring.commands import (
    DecideObjection,
    FinalizeYearResults,
    MemberComposite,
    PublishBranchResults,
    RaiseObjection,
)
from services.scoring.domain import (
    DEFAULT_ADOPTED_POLICY,
    AdoptedPolicy,
    BranchResults,
    BranchResultsEvent,
    branch_results_stream,
    compute_card,
    decide_objection,
    finalize_results,
    member_composite,
    publish_results,
    raise_objection,
    replay_branch_results,
)
from shared.contracts import REGISTRY, canonical_json
from shared.contracts.scoring import (
    Band,
    BranchResultsPublished,
    FinalMemberResult,
    MemberResult,
    ObjectionOutcome,
    ResultObjectionDecided,
    ResultObjectionRaised,
    ReviewKind,
    YearResultsFinalized,
)
from shared.errors import Conflict, Forbidden, NotFound

from .helpers import full_year, policy_with

SECRETARY = "sec-1"
"""The committee member who decides objections in these examples."""

pytestmark = pytest.mark.unit

BRANCH = "branch-7"
YEAR = 2025
PUBLISHED_AT = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
DURING = PUBLISHED_AT + timedelta(days=3)
WINDOW_END = PUBLISHED_AT + timedelta(days=7)
AFTER = WINDOW_END + timedelta(hours=1)


def publish_command(policy_id: str = "default") -> PublishBranchResults:
    return PublishBranchResults(
        branch_id=BRANCH,
        year=YEAR,
        policy_id=policy_id,
        results=(
            MemberComposite(member_id="m3", composite=Decimal("96")),
            MemberComposite(member_id="m1", composite=Decimal("84.65")),
            MemberComposite(member_id="m2", composite=None, missing=(ReviewKind.BRANCH,)),
        ),
    )


def objection(
    objection_id: str = "o1", member_id: str = "m1", raised_by: str | None = None
) -> RaiseObjection:
    return RaiseObjection(
        branch_id=BRANCH,
        year=YEAR,
        objection_id=objection_id,
        member_id=member_id,
        raised_by=raised_by or member_id,
        reason="第二季度互评票数统计有误",
    )


def confirm(objection_id: str = "o1") -> DecideObjection:
    return DecideObjection(
        branch_id=BRANCH,
        year=YEAR,
        objection_id=objection_id,
        outcome=ObjectionOutcome.CONFIRMED,
        reason="经复核，计票无误",
    )


def adjust(objection_id: str = "o1", composite: str = "85.10") -> DecideObjection:
    return DecideObjection(
        branch_id=BRANCH,
        year=YEAR,
        objection_id=objection_id,
        outcome=ObjectionOutcome.ADJUSTED,
        reason="补录一张漏计的互评票",
        composite=Decimal(composite),
    )


FINALIZE = FinalizeYearResults(branch_id=BRANCH, year=YEAR)


def published() -> list[BranchResultsEvent]:
    return [
        publish_results(None, publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=PUBLISHED_AT)
    ]


def with_event(
    events: Sequence[BranchResultsEvent], event: BranchResultsEvent
) -> list[BranchResultsEvent]:
    return [*events, event]


def state(events: Sequence[BranchResultsEvent]) -> BranchResults:
    result = replay_branch_results(events)
    assert result is not None
    return result


def objected(*, decided: DecideObjection | None = None) -> list[BranchResultsEvent]:
    events = published()
    events = with_event(events, raise_objection(state(events), objection(), now=DURING))
    if decided is not None:
        events = with_event(events, decide_objection(state(events), decided, decided_by=SECRETARY))
    return events


# Publication


def test_publishing_bands_each_member_and_opens_a_seven_day_window() -> None:
    (event,) = published()

    assert isinstance(event, BranchResultsPublished)
    assert event.notice_starts_at == PUBLISHED_AT
    assert event.notice_ends_at == WINDOW_END
    assert event.policy_id == "default"
    assert event.results == (
        MemberResult(member_id="m1", composite=Decimal("84.65"), band=Band.CRITICISM, missing=()),
        MemberResult(member_id="m2", composite=None, band=None, missing=(ReviewKind.BRANCH,)),
        MemberResult(member_id="m3", composite=Decimal("96"), band=Band.GOOD_STANDING, missing=()),
    )


def test_the_notice_window_is_policy() -> None:
    three_days = AdoptedPolicy(policy_id="short", policy=policy_with(notice_days=3))

    event = publish_results(None, publish_command("short"), policy=three_days, now=PUBLISHED_AT)

    assert event.notice_ends_at == PUBLISHED_AT + timedelta(days=3)


def test_the_window_is_computed_in_utc_from_any_zone() -> None:
    beijing = PUBLISHED_AT.astimezone(timezone(timedelta(hours=8)))

    event = publish_results(None, publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=beijing)

    assert event.notice_starts_at.tzinfo is UTC
    assert event.notice_ends_at == WINDOW_END


def test_a_naive_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        publish_results(
            None, publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=datetime(2026, 1, 10)
        )


def test_results_computed_under_another_policy_are_not_published() -> None:
    with pytest.raises(Conflict, match="现行的是“default”"):
        publish_results(None, publish_command("p-old"), policy=DEFAULT_ADOPTED_POLICY, now=DURING)


def test_a_card_becomes_a_publishable_composite() -> None:
    card = compute_card(full_year(80), DEFAULT_ADOPTED_POLICY)

    assert member_composite("m9", card) == MemberComposite(
        member_id="m9", composite=Decimal("80"), missing=()
    )


def test_the_stream_is_per_branch_and_year() -> None:
    assert branch_results_stream(BRANCH, YEAR) == "branch-results-branch-7-2025"


# Objections


def test_a_member_objects_to_their_own_result_during_the_window() -> None:
    event = raise_objection(state(published()), objection(), now=DURING)

    after = state(with_event(published(), event))
    assert (event.objection_id, event.member_id) == ("o1", "m1")
    assert [o.objection_id for o in after.open_objections()] == ["o1"]


def test_an_objection_is_accepted_until_just_before_the_window_ends() -> None:
    last_moment = WINDOW_END - timedelta(microseconds=1)

    assert raise_objection(state(published()), objection(), now=last_moment).member_id == "m1"


def test_an_objection_when_the_window_has_ended_is_refused() -> None:
    with pytest.raises(Conflict, match="公示期已于2026-01-17 10:00（北京时间）结束"):
        raise_objection(state(published()), objection(), now=WINDOW_END)


def test_an_objection_before_publication_is_refused() -> None:
    with pytest.raises(Conflict, match="尚未公示"):
        raise_objection(None, objection(), now=DURING)


def test_a_member_cannot_object_to_someone_elses_result() -> None:
    with pytest.raises(Forbidden, match="本人"):
        raise_objection(state(published()), objection(raised_by="m3"), now=DURING)


def test_a_member_without_a_published_result_cannot_object() -> None:
    with pytest.raises(NotFound, match="没有您的评议结果"):
        raise_objection(state(published()), objection(member_id="m404"), now=DURING)


def test_a_member_without_a_composite_may_object() -> None:
    event = raise_objection(state(published()), objection(member_id="m2"), now=DURING)

    assert event.member_id == "m2"


def test_only_one_open_objection_per_member() -> None:
    with pytest.raises(Conflict, match="已有一项异议正在处理"):
        raise_objection(state(objected()), objection("o2"), now=DURING)


def test_a_member_may_object_again_once_the_first_is_decided() -> None:
    events = objected(decided=confirm())

    event = raise_objection(state(events), objection("o2"), now=DURING)

    assert event.objection_id == "o2"


def test_an_objection_id_is_used_once() -> None:
    with pytest.raises(Conflict, match="异议编号“o1”已经存在"):
        raise_objection(state(objected()), objection("o1", member_id="m3"), now=DURING)


def test_an_objection_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="理由不能为空"):
        RaiseObjection(
            branch_id=BRANCH,
            year=YEAR,
            objection_id="o1",
            member_id="m1",
            raised_by="m1",
            reason="   ",
        )


# Decisions


def test_confirming_keeps_the_published_result() -> None:
    event = decide_objection(state(objected()), confirm(), decided_by=SECRETARY)

    after = state(with_event(objected(), event))
    assert event.outcome is ObjectionOutcome.CONFIRMED
    assert event.result == state(published()).results["m1"]
    assert after.open_objections() == ()
    assert after.adjusted == frozenset()


def test_adjusting_sets_the_new_composite_and_recomputes_the_band() -> None:
    event = decide_objection(state(objected()), adjust(composite="85.10"), decided_by=SECRETARY)

    after = state(with_event(objected(), event))
    assert event.result == MemberResult(
        member_id="m1", composite=Decimal("85.10"), band=Band.NO_AWARDS, missing=()
    )
    assert event.reason == "补录一张漏计的互评票"
    assert after.results["m1"].band is Band.NO_AWARDS
    assert after.adjusted == frozenset({"m1"})


def test_adjusting_gives_a_composite_to_a_member_who_had_none() -> None:
    events = published()
    events = with_event(
        events, raise_objection(state(events), objection(member_id="m2"), now=DURING)
    )

    event = decide_objection(state(events), adjust(composite="59.99"), decided_by=SECRETARY)

    assert event.result.composite == Decimal("59.99")
    assert event.result.band is Band.UNQUALIFIED
    assert event.result.missing == ()


def test_an_adjustment_needs_a_reason_and_a_composite() -> None:
    with pytest.raises(ValueError, match="必须说明理由"):
        DecideObjection(
            branch_id=BRANCH,
            year=YEAR,
            objection_id="o1",
            outcome=ObjectionOutcome.ADJUSTED,
            composite=Decimal("90"),
        )
    with pytest.raises(ValueError, match="新的综合得分"):
        DecideObjection(
            branch_id=BRANCH,
            year=YEAR,
            objection_id="o1",
            outcome=ObjectionOutcome.ADJUSTED,
            reason="复核",
        )


def test_a_confirmation_carries_no_new_composite() -> None:
    with pytest.raises(ValueError, match="维持原结果"):
        DecideObjection(
            branch_id=BRANCH,
            year=YEAR,
            objection_id="o1",
            outcome=ObjectionOutcome.CONFIRMED,
            composite=Decimal("90"),
        )


def test_a_decision_after_the_window_is_allowed() -> None:
    assert decide_objection(state(objected()), confirm(), decided_by=SECRETARY).objection_id == "o1"


def test_a_decision_on_an_unknown_objection_is_refused() -> None:
    with pytest.raises(NotFound, match="没有编号为“o9”的异议"):
        decide_objection(state(objected()), confirm("o9"), decided_by=SECRETARY)


def test_an_objection_is_decided_once() -> None:
    with pytest.raises(Conflict, match="不能重复处理"):
        decide_objection(state(objected(decided=confirm())), adjust(), decided_by=SECRETARY)


def test_a_decision_before_publication_is_refused() -> None:
    with pytest.raises(Conflict, match="尚未公示"):
        decide_objection(None, confirm(), decided_by=SECRETARY)


# Finalization


def test_finalizing_after_the_window_carries_the_final_results() -> None:
    events = objected(decided=adjust(composite="85.10"))

    event = finalize_results(state(events), FINALIZE, now=WINDOW_END)

    assert event.policy_id == "default"
    assert event.results == (
        FinalMemberResult(
            member_id="m1",
            composite=Decimal("85.10"),
            band=Band.NO_AWARDS,
            missing=(),
            adjusted=True,
        ),
        FinalMemberResult(
            member_id="m2",
            composite=None,
            band=None,
            missing=(ReviewKind.BRANCH,),
            adjusted=False,
        ),
        FinalMemberResult(
            member_id="m3",
            composite=Decimal("96"),
            band=Band.GOOD_STANDING,
            missing=(),
            adjusted=False,
        ),
    )
    assert state(with_event(events, event)).finalized


def test_finalizing_without_objections_needs_only_the_window_to_end() -> None:
    event = finalize_results(state(published()), FINALIZE, now=AFTER)

    assert [r.adjusted for r in event.results] == [False, False, False]


def test_finalizing_during_the_window_is_refused() -> None:
    with pytest.raises(Conflict, match="结束后方可定稿"):
        finalize_results(state(published()), FINALIZE, now=DURING)


def test_finalizing_with_an_undecided_objection_is_refused() -> None:
    with pytest.raises(Conflict, match="尚有 1 项异议未作出决定，不能定稿"):
        finalize_results(state(objected()), FINALIZE, now=AFTER)


def test_finalizing_before_publication_is_refused() -> None:
    with pytest.raises(Conflict, match="尚未公示"):
        finalize_results(None, FINALIZE, now=AFTER)


def finalized_events() -> list[BranchResultsEvent]:
    events = objected(decided=confirm())
    return with_event(events, finalize_results(state(events), FINALIZE, now=AFTER))


def test_finalizing_twice_is_refused() -> None:
    with pytest.raises(Conflict, match="已经定稿"):
        finalize_results(state(finalized_events()), FINALIZE, now=AFTER)


def test_republishing_after_finalization_is_refused() -> None:
    with pytest.raises(Conflict, match="已经定稿，不能重新公示"):
        publish_results(
            state(finalized_events()), publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=AFTER
        )


def test_objecting_after_finalization_is_refused() -> None:
    with pytest.raises(Conflict, match="已经定稿，不能再提出异议"):
        raise_objection(state(finalized_events()), objection("o2"), now=DURING)


def test_deciding_after_finalization_is_refused() -> None:
    with pytest.raises(Conflict, match="已经定稿，不能再处理异议"):
        decide_objection(state(finalized_events()), confirm(), decided_by=SECRETARY)


# Republication


def test_republishing_with_an_open_objection_is_refused() -> None:
    with pytest.raises(Conflict, match="尚有 1 项异议未作出决定"):
        publish_results(
            state(objected()), publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=DURING
        )


def test_republishing_replaces_the_results_and_opens_a_new_window() -> None:
    events = objected(decided=adjust())
    later = DURING + timedelta(days=1)

    event = publish_results(
        state(events), publish_command(), policy=DEFAULT_ADOPTED_POLICY, now=later
    )

    after = state(with_event(events, event))
    assert after.notice_ends_at == later + timedelta(days=7)
    assert after.results["m1"].composite == Decimal("84.65")
    assert after.adjusted == frozenset()
    assert list(after.objections) == ["o1"]
    with pytest.raises(Conflict, match="结束后方可定稿"):
        finalize_results(after, FINALIZE, now=AFTER)


# The log


def test_a_replay_from_the_encoded_log_gives_the_same_state_and_bytes() -> None:
    events = finalized_events()
    log = [
        (e.type_name, e.schema_version, canonical_json(e.model_dump(mode="json"))) for e in events
    ]

    decoded = [decode(name, version, raw) for name, version, raw in log]

    assert decoded == events
    assert [canonical_json(e.model_dump(mode="json")) for e in decoded] == [raw for *_, raw in log]
    assert replay_branch_results(decoded) == replay_branch_results(events)


def decode(name: str, version: int, raw: bytes) -> BranchResultsEvent:
    event = REGISTRY.decode(name, version, json.loads(raw))
    assert isinstance(
        event,
        BranchResultsPublished
        | ResultObjectionRaised
        | ResultObjectionDecided
        | YearResultsFinalized,
    )
    return event


def test_the_fold_refuses_a_stream_that_does_not_start_with_a_publication() -> None:
    events = objected()

    with pytest.raises(ValueError, match="before any BranchResultsPublished"):
        replay_branch_results(events[1:])


def test_no_one_decides_an_objection_about_their_own_result() -> None:
    events = objected()
    member = state(events).objections["o1"].member_id  # type: ignore[union-attr]
    with pytest.raises(Forbidden, match="不能自己裁决"):
        decide_objection(state(events), confirm(), decided_by=member)
