"""The review period aggregate, stream ``review-period-{period_id}``.

Life: opened (for a review, a quarter or half-year, a year and a scope, with the window of
days ballots are accepted on and optionally a deadline) -> window adjusted (with a reason,
any number of times) -> closed, by its organizer or by the scheduler once the deadline has
passed. The window and the years that may be opened are ``window``'s.
A closed period is final: it never reopens, and no other period may be opened for an
overlapping scope in the same review, period and year, open or closed. Otherwise a reviewer
could rate the same member twice for one quarter, or an unwelcome result be re-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from services.reviews.commands import AdjustPeriodWindow, CloseReviewPeriod, OpenReviewPeriod
from services.reviews.domain.base import shown, unexpected, utc
from services.reviews.domain.window import (
    Window,
    deadline_refusal,
    default_window,
    window_refusal,
    year_refusal,
)
from shared.contracts.events import Event
from shared.contracts.reviews import (
    PERIOD_LABELS,
    REVIEW_KIND_LABELS,
    ClosingReason,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewPeriodWindowAdjusted,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import Period, ReviewKind
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

PERIOD_CLOSED = "评议期已结束，不能再投票或修改"


def period_stream(period_id: str) -> str:
    return f"review-period-{period_id}"


@dataclass(frozen=True, slots=True)
class Authority:
    """What the acting person may organize, from their token and the roster: the
    organization department any scope, a unit committee member their own unit's scope, a
    branch committee member their own branch."""

    organization_department: bool = False
    committee_of_branch: str | None = None
    committee_of_unit: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewPeriodState:
    period_id: str
    kind: ReviewKind
    period: Period
    year: int
    scope: ReviewScope
    deadline: datetime | None
    closed: bool = False
    closing_reason: ClosingReason | None = None
    # None (both) for a period opened before windows were recorded: its default window.
    opens_on: date | None = None
    closes_on: date | None = None

    @property
    def title(self) -> str:
        """How users name the period, e.g. "2024年第一季度党员互评"."""
        return f"{self.year}年{PERIOD_LABELS[self.period]}{REVIEW_KIND_LABELS[self.kind]}"

    @property
    def window(self) -> Window:
        if self.opens_on is None or self.closes_on is None:
            return default_window(self.period, self.year)
        return Window(self.opens_on, self.closes_on)

    def outside_window(self, now: datetime) -> InvalidInput | None:
        """The refusal of a ballot at ``now`` outside the window, naming its days."""
        window = self.window
        if window.contains(now):
            return None
        when = "尚未开始" if utc(now) < window.starts_at else "已过"
        return InvalidInput(f"本评议期投票时间为{window.label}，{when}，现在不能投票或修改选票")

    def accepts_ballots(self, now: datetime) -> bool:
        """Whether a ballot may be cast or amended at ``now``. The deadline counts even
        before the scheduler has recorded the closing."""
        return not self.closed and (self.deadline is None or utc(now) < self.deadline)


def evolve_period(state: ReviewPeriodState | None, event: Event) -> ReviewPeriodState:
    match event:
        case ReviewPeriodOpened() if state is None:
            return ReviewPeriodState(
                period_id=event.period_id,
                kind=event.kind,
                period=event.period,
                year=event.year,
                scope=event.scope,
                deadline=event.deadline,
                opens_on=event.opens_on,
                closes_on=event.closes_on,
            )
        case ReviewPeriodWindowAdjusted() if state is not None and not state.closed:
            return replace(state, opens_on=event.opens_on, closes_on=event.closes_on)
        case ReviewPeriodClosed() if state is not None and not state.closed:
            return replace(state, closed=True, closing_reason=event.reason)
    raise unexpected(state, event)


def scope_covers(scope: ReviewScope, *, unit_id: str, branch_id: str) -> bool:
    """Whether the branch ``branch_id`` of unit ``unit_id`` is in ``scope``."""
    match scope.level:
        case ScopeLevel.COMPANY:
            return True
        case ScopeLevel.UNIT:
            return scope.unit_id == unit_id
        case ScopeLevel.BRANCH:
            return scope.branch_id == branch_id


def scopes_overlap(one: ReviewScope, other: ReviewScope) -> bool:
    if ScopeLevel.COMPANY in (one.level, other.level):
        return True
    if ScopeLevel.BRANCH in (one.level, other.level) and one.level is other.level:
        return one.branch_id == other.branch_id
    # A unit and a unit, or a unit and a branch: a branch scope names its unit.
    return one.unit_id == other.unit_id


def _scope_id(scope: ReviewScope) -> str | None:
    return scope.unit_id if scope.level is ScopeLevel.UNIT else scope.branch_id


def scope_label(scope: ReviewScope) -> str:
    match scope.level:
        case ScopeLevel.COMPANY:
            return "全公司"
        case ScopeLevel.UNIT:
            return f"二级党委“{scope.unit_id}”"
        case ScopeLevel.BRANCH:
            return f"党支部“{scope.branch_id}”"


def decide_open_period(
    state: ReviewPeriodState | None,
    command: OpenReviewPeriod,
    *,
    authority: Authority,
    scope: ReviewScope | None,
    same_review_periods: Sequence[ReviewPeriodState],
    now: datetime,
) -> list[Event]:
    """``scope`` is the command's scope as the roster knows it (a branch with its unit), or
    ``None`` when the roster has no such unit or branch. ``same_review_periods`` are the other
    periods, open or closed, of the same review, period and year in any scope; the decision
    picks out those that overlap."""
    now = utc(now)
    if state is not None:
        if state.closed:
            raise Conflict(f"评议期“{state.period_id}”已结束，评议期结束后不能重新开启")
        raise Conflict(f"评议期编号“{command.period_id}”已被使用")
    if scope is None:
        raise NotFound(f"{command.scope_level.label}“{command.scope_id}”不存在")
    if (scope.level, _scope_id(scope)) != (command.scope_level, command.scope_id):
        raise ValueError("the scope passed in is not the one the command names")
    _require_organizer(authority, scope, "开启")
    if (refusal := year_refusal(command.year, now)) is not None:
        raise refusal
    window = default_window(command.period, command.year)
    if command.opens_on is not None and command.closes_on is not None:
        window = Window(command.opens_on, command.closes_on)
    if (refusal := window_refusal(window, command.period, command.year)) is not None:
        raise refusal
    if command.deadline is not None and command.deadline <= now:
        raise Conflict(f"截止时间{shown(command.deadline)}已过，请选择以后的时间")
    if command.deadline is not None and (refusal := deadline_refusal(command.deadline, window)):
        raise refusal
    for other in same_review_periods:
        same_slot = (other.kind, other.period, other.year) == (
            command.kind,
            command.period,
            command.year,
        )
        if (
            same_slot
            and other.period_id != command.period_id
            and scopes_overlap(other.scope, scope)
        ):
            status = "已结束" if other.closed else "正在进行"
            raise Conflict(
                f"{scope_label(other.scope)}的{other.title}（评议期“{other.period_id}”）"
                f"{status}，与本次评议范围重叠，同一党员同一期只能评议一次"
            )
    return [
        ReviewPeriodOpened(
            period_id=command.period_id,
            kind=command.kind,
            period=command.period,
            year=command.year,
            scope=scope,
            deadline=command.deadline,
            opens_on=window.opens_on,
            closes_on=window.closes_on,
        )
    ]


def decide_adjust_window(
    state: ReviewPeriodState | None, command: AdjustPeriodWindow, *, authority: Authority
) -> list[Event]:
    """Move the days ballots are accepted on, for a reason. Ballots already cast stay as
    they are; the same window again changes nothing. A closed period's window is history."""
    period = existing_period(state, command.period_id)
    _require_organizer(authority, period.scope, "调整")
    if period.closed:
        raise Conflict(f"{period.title}已结束，不能再调整投票时间")
    window = Window(command.opens_on, command.closes_on)
    if (refusal := window_refusal(window, period.period, period.year)) is not None:
        raise refusal
    if period.deadline is not None and (refusal := deadline_refusal(period.deadline, window)):
        raise refusal
    if window == period.window:
        return []
    return [
        ReviewPeriodWindowAdjusted(
            period_id=period.period_id,
            opens_on=window.opens_on,
            closes_on=window.closes_on,
            reason=command.reason,
        )
    ]


def decide_close_period(
    state: ReviewPeriodState | None, command: CloseReviewPeriod, *, authority: Authority
) -> list[Event]:
    """Closing a closed period changes nothing, so a repeated request is harmless."""
    period = existing_period(state, command.period_id)
    _require_organizer(authority, period.scope, "结束")
    if period.closed:
        return []
    return [
        ReviewPeriodClosed(period_id=period.period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER)
    ]


def decide_close_due(state: ReviewPeriodState | None, now: datetime) -> list[Event]:
    """For the scheduler: close the period once its deadline has passed, else nothing."""
    if state is None or state.closed or state.deadline is None or utc(now) < state.deadline:
        return []
    return [ReviewPeriodClosed(period_id=state.period_id, reason=ClosingReason.DEADLINE_PASSED)]


def existing_period(state: ReviewPeriodState | None, period_id: str) -> ReviewPeriodState:
    if state is None:
        raise NotFound(f"评议期“{period_id}”不存在")
    return state


def _require_organizer(authority: Authority, scope: ReviewScope, action: str) -> None:
    if authority.organization_department:
        return
    if authority.committee_of_unit is not None and (
        scope.level is ScopeLevel.UNIT and scope.unit_id == authority.committee_of_unit
    ):
        return
    if authority.committee_of_branch is not None and (
        scope.level is ScopeLevel.BRANCH and scope.branch_id == authority.committee_of_branch
    ):
        return
    if authority.committee_of_unit is not None:
        raise Forbidden(
            f"二级党委只能{action}本单位（二级党委“{authority.committee_of_unit}”）范围的评议期，"
            f"{scope_label(scope)}的评议期由{_organizer_of(scope)}{action}"
        )
    if authority.committee_of_branch is None:
        raise Forbidden(f"只有党支部委员会、二级党委或组织部才能{action}评议期")
    raise Forbidden(
        f"党支部委员会只能{action}本支部的评议期，"
        f"{scope_label(scope)}的评议期由{_organizer_of(scope)}{action}"
    )


def _organizer_of(scope: ReviewScope) -> str:
    match scope.level:
        case ScopeLevel.COMPANY:
            return "组织部"
        case ScopeLevel.UNIT:
            return "该二级党委或组织部"
        case ScopeLevel.BRANCH:
            return "本支部的支委会或组织部"
