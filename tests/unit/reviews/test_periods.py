"""Review periods: who opens and closes them, which may coexist, the deadline, and that a
closed period stays closed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from services.reviews.commands import AdjustPeriodWindow, CloseReviewPeriod
from services.reviews.domain import (
    Authority,
    ReviewPeriodState,
    Window,
    decide_adjust_window,
    decide_close_due,
    decide_close_period,
    decide_open_period,
    default_window,
    evolve_period,
    fold,
    period_stream,
    scopes_overlap,
)
from shared.contracts import REGISTRY
from shared.contracts.events import Event
from shared.contracts.reviews import (
    ClosingReason,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewPeriodWindowAdjusted,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import Period, ReviewKind
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.unit.reviews.examples import (
    BRANCH_SCOPE,
    COMMITTEE,
    COMPANY_SCOPE,
    DEADLINE,
    NOW,
    ORG_DEPARTMENT,
    OTHER_BRANCH,
    PEER_Q1,
    UNIT,
    UNIT_SCOPE,
    open_command,
    opened,
)

pytestmark = pytest.mark.unit

OTHER_BRANCH_SCOPE = ReviewScope(level=ScopeLevel.BRANCH, unit_id=UNIT, branch_id=OTHER_BRANCH)
OTHER_UNIT_SCOPE = ReviewScope(level=ScopeLevel.UNIT, unit_id="U-CY", branch_id=None)
BRANCH_OF_OTHER_UNIT = ReviewScope(level=ScopeLevel.BRANCH, unit_id="U-CY", branch_id="B-CY")


def closed(period: ReviewPeriodState = PEER_Q1) -> ReviewPeriodState:
    return evolve_period(
        period,
        ReviewPeriodClosed(period_id=period.period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER),
    )


def test_the_period_stream_is_named_by_its_id() -> None:
    assert period_stream("RP-2024-peer-Q1") == "review-period-RP-2024-peer-Q1"


def test_opening_a_period_records_review_period_year_scope_and_deadline() -> None:
    events = decide_open_period(
        None,
        open_command(),
        authority=COMMITTEE,
        scope=BRANCH_SCOPE,
        same_review_periods=(),
        now=NOW,
    )
    assert events == [
        ReviewPeriodOpened(
            period_id="RP-2024-peer-Q1",
            kind=ReviewKind.PEER,
            period=Period.Q1,
            year=2024,
            scope=BRANCH_SCOPE,
            deadline=DEADLINE,
            opens_on=date(2024, 1, 1),
            closes_on=date(2024, 3, 31),
        )
    ]
    state = fold(evolve_period, events)
    assert state is not None
    assert state.title == "2024年第一季度党员互评"
    assert not state.closed


def test_a_period_may_be_opened_without_a_deadline() -> None:
    assert opened(deadline=None).deadline is None


def test_the_organization_department_opens_any_scope() -> None:
    for scope in (COMPANY_SCOPE, UNIT_SCOPE, BRANCH_SCOPE):
        assert opened(scope=scope).scope == scope


def test_a_branch_committee_opens_its_own_branch_only() -> None:
    with pytest.raises(Forbidden, match="党支部委员会只能开启本支部的评议期，党支部“B-CS”"):
        decide_open_period(
            None,
            open_command(scope=OTHER_BRANCH_SCOPE),
            authority=COMMITTEE,
            scope=OTHER_BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_a_branch_committee_cannot_open_a_unit_wide_period() -> None:
    with pytest.raises(Forbidden, match="二级党委“U-GY”的评议期由该二级党委或组织部开启"):
        decide_open_period(
            None,
            open_command(scope=UNIT_SCOPE),
            authority=COMMITTEE,
            scope=UNIT_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_someone_who_is_neither_committee_nor_department_cannot_open_a_period() -> None:
    with pytest.raises(Forbidden, match="只有党支部委员会、二级党委或组织部才能开启评议期"):
        decide_open_period(
            None,
            open_command(),
            authority=Authority(),
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_a_period_for_an_unknown_branch_cannot_be_opened() -> None:
    with pytest.raises(NotFound, match="党支部“B-JB”不存在"):
        decide_open_period(
            None,
            open_command(),
            authority=ORG_DEPARTMENT,
            scope=None,
            same_review_periods=(),
            now=NOW,
        )


def test_a_deadline_in_the_past_is_refused() -> None:
    with pytest.raises(Conflict, match=r"截止时间2024-03-20 10:00（北京时间）已过"):
        decide_open_period(
            None,
            open_command(deadline=NOW),
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_a_period_id_cannot_be_used_twice() -> None:
    with pytest.raises(Conflict, match="评议期编号“RP-2024-peer-Q1”已被使用"):
        decide_open_period(
            PEER_Q1,
            open_command(),
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_a_closed_period_cannot_be_reopened() -> None:
    with pytest.raises(Conflict, match="评议期结束后不能重新开启"):
        decide_open_period(
            closed(),
            open_command(),
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def open_beside(existing: ReviewPeriodState, scope: ReviewScope) -> list[object]:
    return list(
        decide_open_period(
            None,
            open_command(period_id="RP-NEW", scope=scope),
            authority=ORG_DEPARTMENT,
            scope=scope,
            same_review_periods=(existing,),
            now=NOW,
        )
    )


def test_only_one_open_period_per_review_period_year_and_scope() -> None:
    with pytest.raises(
        Conflict,
        match=r"党支部“B-JB”的2024年第一季度党员互评（评议期“RP-2024-peer-Q1”）正在进行",
    ):
        open_beside(PEER_Q1, BRANCH_SCOPE)


def test_a_closed_period_blocks_a_second_one_for_the_same_slot() -> None:
    with pytest.raises(Conflict, match="已结束，与本次评议范围重叠，同一党员同一期只能评议一次"):
        open_beside(closed(), BRANCH_SCOPE)


@pytest.mark.parametrize("scope", [COMPANY_SCOPE, UNIT_SCOPE])
def test_a_wider_scope_overlapping_an_existing_period_is_refused(scope: ReviewScope) -> None:
    with pytest.raises(Conflict, match="与本次评议范围重叠"):
        open_beside(PEER_Q1, scope)


def test_a_branch_inside_an_open_unit_wide_period_cannot_get_its_own() -> None:
    with pytest.raises(Conflict, match="二级党委“U-GY”的2024年第一季度党员互评"):
        open_beside(opened(scope=UNIT_SCOPE), BRANCH_SCOPE)


def test_periods_of_disjoint_scopes_coexist() -> None:
    assert open_beside(PEER_Q1, OTHER_BRANCH_SCOPE)
    assert open_beside(opened(scope=UNIT_SCOPE), BRANCH_OF_OTHER_UNIT)
    assert open_beside(opened(scope=UNIT_SCOPE), OTHER_UNIT_SCOPE)


def test_other_quarters_reviews_and_years_do_not_conflict() -> None:
    for existing in (
        opened(ReviewKind.PEER, Period.Q2, deadline=None),
        opened(ReviewKind.MASS, Period.H1),
        replace(PEER_Q1, year=2023),
    ):
        assert open_beside(existing, BRANCH_SCOPE)


def test_scope_overlap_is_symmetric() -> None:
    scopes = [COMPANY_SCOPE, UNIT_SCOPE, OTHER_UNIT_SCOPE, BRANCH_SCOPE, OTHER_BRANCH_SCOPE]
    for one in scopes:
        for other in scopes:
            assert scopes_overlap(one, other) == scopes_overlap(other, one)


# Closing


def test_the_organizer_closes_a_period() -> None:
    events = decide_close_period(
        PEER_Q1, CloseReviewPeriod(period_id=PEER_Q1.period_id), authority=COMMITTEE
    )
    assert events == [
        ReviewPeriodClosed(period_id=PEER_Q1.period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER)
    ]
    state = fold(evolve_period, [_opened_event(), *events])
    assert state is not None and state.closed


def _opened_event() -> ReviewPeriodOpened:
    return ReviewPeriodOpened(
        period_id=PEER_Q1.period_id,
        kind=PEER_Q1.kind,
        period=PEER_Q1.period,
        year=PEER_Q1.year,
        scope=PEER_Q1.scope,
        deadline=PEER_Q1.deadline,
    )


def test_closing_a_closed_period_changes_nothing() -> None:
    command = CloseReviewPeriod(period_id=PEER_Q1.period_id)
    assert decide_close_period(closed(), command, authority=COMMITTEE) == []


def test_only_the_organizers_may_close_a_period() -> None:
    command = CloseReviewPeriod(period_id=PEER_Q1.period_id)
    with pytest.raises(Forbidden, match="只有党支部委员会、二级党委或组织部才能结束评议期"):
        decide_close_period(PEER_Q1, command, authority=Authority())
    with pytest.raises(Forbidden, match="党支部委员会只能结束本支部的评议期"):
        decide_close_period(PEER_Q1, command, authority=Authority(committee_of_branch=OTHER_BRANCH))


def test_closing_an_unknown_period_is_not_found() -> None:
    with pytest.raises(NotFound, match="评议期“RP-X”不存在"):
        decide_close_period(None, CloseReviewPeriod(period_id="RP-X"), authority=ORG_DEPARTMENT)


def test_a_closed_period_cannot_be_closed_again_in_the_log() -> None:
    with pytest.raises(TypeError):
        evolve_period(
            closed(),
            ReviewPeriodClosed(period_id=PEER_Q1.period_id, reason=ClosingReason.DEADLINE_PASSED),
        )


# Deadline


def test_the_scheduler_closes_a_period_once_its_deadline_has_passed() -> None:
    assert decide_close_due(PEER_Q1, DEADLINE) == [
        ReviewPeriodClosed(period_id=PEER_Q1.period_id, reason=ClosingReason.DEADLINE_PASSED)
    ]
    assert decide_close_due(PEER_Q1, DEADLINE + timedelta(days=3))


def test_the_scheduler_leaves_a_period_before_its_deadline() -> None:
    assert decide_close_due(PEER_Q1, DEADLINE - timedelta(seconds=1)) == []


def test_the_scheduler_leaves_periods_without_deadline_or_already_closed() -> None:
    later = DEADLINE + timedelta(days=30)
    assert decide_close_due(opened(deadline=None), later) == []
    assert decide_close_due(closed(), later) == []
    assert decide_close_due(None, later) == []


def test_the_deadline_ends_voting_even_before_the_scheduler_runs() -> None:
    assert PEER_Q1.accepts_ballots(DEADLINE - timedelta(seconds=1))
    assert not PEER_Q1.accepts_ballots(DEADLINE)
    assert not closed().accepts_ballots(NOW)


# The window of days ballots are accepted on, and the years that may be opened.

UNIT_COMMITTEE = Authority(committee_of_unit=UNIT)


@pytest.mark.parametrize(
    ("kind", "period", "opens_on", "closes_on"),
    [
        (ReviewKind.PEER, Period.Q1, date(2024, 1, 1), date(2024, 3, 31)),
        (ReviewKind.PEER, Period.Q2, date(2024, 4, 1), date(2024, 6, 30)),
        (ReviewKind.PEER, Period.Q3, date(2024, 7, 1), date(2024, 9, 30)),
        (ReviewKind.PEER, Period.Q4, date(2024, 10, 1), date(2024, 12, 31)),
        (ReviewKind.MASS, Period.H1, date(2024, 1, 1), date(2024, 6, 30)),
        (ReviewKind.MASS, Period.H2, date(2024, 7, 1), date(2024, 12, 31)),
        (ReviewKind.BRANCH, Period.H2, date(2024, 7, 1), date(2024, 12, 31)),
    ],
)
def test_the_default_window_is_the_periods_quarter_or_half_year(
    kind: ReviewKind, period: Period, opens_on: date, closes_on: date
) -> None:
    state = opened(kind, period, deadline=None)
    assert (state.window.opens_on, state.window.closes_on) == (opens_on, closes_on)
    assert default_window(None, 2024) == Window(date(2024, 1, 1), date(2024, 12, 31))


def test_an_event_without_a_window_reads_as_the_default_window() -> None:
    # As stored before windows existed: no opens_on, no closes_on.
    data = {
        "period_id": "RP-old",
        "kind": "mass",
        "period": "H2",
        "year": 2023,
        "scope": {"level": "branch", "unit_id": UNIT, "branch_id": "B-JB"},
        "deadline": None,
    }
    state = evolve_period(None, REGISTRY.decode("ReviewPeriodOpened", 1, data))
    assert (state.opens_on, state.closes_on) == (None, None)
    assert state.window == Window(date(2023, 7, 1), date(2023, 12, 31))
    assert state.window.label == "2023年7月1日至2023年12月31日"


def test_an_explicit_window_is_recorded() -> None:
    command = open_command(deadline=None).model_copy(
        update={"opens_on": date(2024, 3, 20), "closes_on": date(2024, 4, 10)}
    )
    (event,) = decide_open_period(
        None,
        command,
        authority=ORG_DEPARTMENT,
        scope=BRANCH_SCOPE,
        same_review_periods=(),
        now=NOW,
    )
    assert isinstance(event, ReviewPeriodOpened)
    assert (event.opens_on, event.closes_on) == (date(2024, 3, 20), date(2024, 4, 10))


@pytest.mark.parametrize(
    ("opens_on", "closes_on", "message"),
    [
        (date(2023, 12, 1), date(2024, 3, 31), "投票时间不能早于评议期本身开始的2024年1月1日"),
        (date(2024, 1, 1), date(2026, 1, 1), "投票时间最晚到次年年底（2025年12月31日）"),
    ],
)
def test_a_window_out_of_bounds_is_refused(opens_on: date, closes_on: date, message: str) -> None:
    command = open_command(deadline=None).model_copy(
        update={"opens_on": opens_on, "closes_on": closes_on}
    )
    with pytest.raises(InvalidInput, match=message):
        decide_open_period(
            None,
            command,
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def test_a_deadline_beyond_the_window_is_refused() -> None:
    with pytest.raises(InvalidInput, match="截止时间晚于投票时间（2024年1月1日至2024年3月31日）"):
        decide_open_period(
            None,
            open_command(deadline=DEADLINE + timedelta(seconds=1)),
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_last_this_and_next_year_may_be_opened(year: int) -> None:
    command = open_command(deadline=None).model_copy(update={"year": year})
    assert decide_open_period(
        None,
        command,
        authority=ORG_DEPARTMENT,
        scope=BRANCH_SCOPE,
        same_review_periods=(),
        now=NOW,
    )


@pytest.mark.parametrize("year", [2000, 2022, 2026, 2100])
def test_a_year_far_from_today_is_refused(year: int) -> None:
    command = open_command(deadline=None).model_copy(update={"year": year})
    with pytest.raises(InvalidInput, match=f"只能开启去年、今年或明年的评议期.*不能开启{year}年"):
        decide_open_period(
            None,
            command,
            authority=ORG_DEPARTMENT,
            scope=BRANCH_SCOPE,
            same_review_periods=(),
            now=NOW,
        )


def adjust(
    period: ReviewPeriodState = PEER_Q1,
    opens_on: date = date(2024, 3, 1),
    closes_on: date = date(2024, 3, 31),
    *,
    reason: str = "季度末集中评议",
    authority: Authority = ORG_DEPARTMENT,
) -> list[Event]:
    command = AdjustPeriodWindow(
        period_id=period.period_id, opens_on=opens_on, closes_on=closes_on, reason=reason
    )
    return decide_adjust_window(period, command, authority=authority)


def test_the_organizer_adjusts_the_window_with_a_reason() -> None:
    period = replace(PEER_Q1, deadline=None)
    events = adjust(period, date(2024, 3, 1), date(2024, 4, 10), authority=COMMITTEE)
    assert events == [
        ReviewPeriodWindowAdjusted(
            period_id=period.period_id,
            opens_on=date(2024, 3, 1),
            closes_on=date(2024, 4, 10),
            reason="季度末集中评议",
        )
    ]
    after = fold(evolve_period, [*_opened_events(period), *events])
    assert after is not None
    assert after.window.label == "2024年3月1日至2024年4月10日"
    assert adjust(after, date(2024, 3, 1), date(2024, 4, 10)) == []


def _opened_events(period: ReviewPeriodState) -> list[Event]:
    return [
        ReviewPeriodOpened(
            period_id=period.period_id,
            kind=period.kind,
            period=period.period,
            year=period.year,
            scope=period.scope,
            deadline=period.deadline,
        )
    ]


def test_an_adjustment_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="请填写调整原因"):
        adjust(reason="  ")


def test_an_adjustment_keeps_the_deadline_inside_the_window() -> None:
    with pytest.raises(InvalidInput, match="截止时间晚于投票时间"):
        adjust(PEER_Q1, date(2024, 1, 1), date(2024, 3, 25))


def test_a_closed_periods_window_is_not_adjusted() -> None:
    with pytest.raises(Conflict, match="已结束，不能再调整投票时间"):
        adjust(closed())


def test_only_the_organizers_adjust_the_window() -> None:
    with pytest.raises(Forbidden, match="党支部委员会只能调整本支部的评议期"):
        adjust(authority=Authority(committee_of_branch=OTHER_BRANCH))


def test_a_unit_committee_organizes_its_own_units_scope() -> None:
    state = fold(
        evolve_period,
        decide_open_period(
            None,
            open_command(scope=UNIT_SCOPE),
            authority=UNIT_COMMITTEE,
            scope=UNIT_SCOPE,
            same_review_periods=(),
            now=NOW,
        ),
    )
    assert state is not None
    assert adjust(replace(state, deadline=None), authority=UNIT_COMMITTEE)
    assert decide_close_period(
        state, CloseReviewPeriod(period_id=state.period_id), authority=UNIT_COMMITTEE
    )


@pytest.mark.parametrize("scope", [OTHER_UNIT_SCOPE, COMPANY_SCOPE, BRANCH_SCOPE])
def test_a_unit_committee_does_not_organize_other_scopes(scope: ReviewScope) -> None:
    with pytest.raises(Forbidden, match="二级党委只能开启本单位（二级党委“U-GY”）范围的评议期"):
        decide_open_period(
            None,
            open_command(scope=scope),
            authority=UNIT_COMMITTEE,
            scope=scope,
            same_review_periods=(),
            now=NOW,
        )
