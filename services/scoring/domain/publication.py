"""Publication of a branch's results, objections and finalization: an aggregate per branch
and year, stream ``branch-results-{branch}-{year}``.

Life: published (a notice window opens) -> objections raised while it is open, one open
objection per member, each decided by the committee (confirm, or adjust) -> finalized once the
window has closed and nothing is undecided. Republishing before finalization is allowed when
no objection is open (e.g. after ballots were corrected): it replaces the results, discards
earlier adjustments with them, and opens a new window.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone

from services.scoring.commands import (
    DecideObjection,
    FinalizeYearResults,
    MemberComposite,
    PublishBranchResults,
    RaiseObjection,
)
from services.scoring.domain.bands import band_of
from services.scoring.domain.card import CardResult
from services.scoring.domain.policy import AdoptedPolicy
from shared.contracts.scoring import (
    BandThresholds,
    BranchResultsPublished,
    FinalMemberResult,
    MemberResult,
    ObjectionOutcome,
    ResultObjectionDecided,
    ResultObjectionRaised,
    YearResultsFinalized,
)
from shared.errors import Conflict, DomainError, Forbidden, NotFound

# Users read times in messages in Beijing time; events keep UTC.
_BEIJING = timezone(timedelta(hours=8))


def branch_results_stream(branch_id: str, year: int) -> str:
    return f"branch-results-{branch_id}-{year}"


@dataclass(frozen=True)
class Objection:
    objection_id: str
    member_id: str
    reason: str
    outcome: ObjectionOutcome | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True)
class BranchResults:
    branch_id: str
    year: int
    policy_id: str
    bands: BandThresholds
    notice_starts_at: datetime
    notice_ends_at: datetime
    results: Mapping[str, MemberResult]
    adjusted: frozenset[str] = frozenset()
    objections: Mapping[str, Objection] = field(default_factory=dict)
    finalized: bool = False

    def open_objections(self) -> tuple[Objection, ...]:
        return tuple(o for o in self.objections.values() if o.is_open)


BranchResultsEvent = (
    BranchResultsPublished | ResultObjectionRaised | ResultObjectionDecided | YearResultsFinalized
)


def member_composite(member_id: str, card: CardResult) -> MemberComposite:
    """What a member's card contributes to a publication."""
    return MemberComposite(member_id=member_id, composite=card.composite, missing=card.missing)


def publish_results(
    state: BranchResults | None,
    command: PublishBranchResults,
    *,
    policy: AdoptedPolicy,
    now: datetime,
) -> BranchResultsPublished:
    """``policy`` is the policy in force for the year (see ``policy_in_force``)."""
    now = _utc(now)
    if state is not None:
        _same_stream(state, command.branch_id, command.year)
        if state.finalized:
            raise Conflict(f"{command.year}年度评议结果已经定稿，不能重新公示")
        if pending := state.open_objections():
            raise Conflict(f"尚有 {len(pending)} 项异议未作出决定，请先处理后再重新公示")
    if command.policy_id != policy.policy_id:
        raise Conflict(
            f"这些结果按评分办法“{command.policy_id}”计算，而本年度现行的是"
            f"“{policy.policy_id}”，请重新计算后再公示"
        )
    bands = policy.policy.bands
    results = tuple(
        MemberResult(
            member_id=item.member_id,
            composite=item.composite,
            band=None if item.composite is None else band_of(item.composite, bands),
            missing=item.missing,
        )
        # Sorted so the event's bytes do not depend on the order the caller listed members.
        for item in sorted(command.results, key=lambda item: item.member_id)
    )
    return BranchResultsPublished(
        branch_id=command.branch_id,
        year=command.year,
        policy_id=policy.policy_id,
        bands=bands,
        notice_starts_at=now,
        notice_ends_at=now + timedelta(days=policy.policy.notice_days),
        results=results,
    )


def objection_refusal(
    state: BranchResults | None, *, branch_id: str, year: int, member_id: str, now: datetime
) -> DomainError | None:
    """Why ``member_id`` may not object to their result of the branch-year now; ``None`` if
    they may (the card offers the form exactly then)."""
    now = _utc(now)
    try:
        published = _published(state, branch_id, year)
    except Conflict as refused:
        return refused
    if published.finalized:
        return Conflict(f"{year}年度评议结果已经定稿，不能再提出异议")
    if now >= published.notice_ends_at:
        return Conflict(f"公示期已于{_shown(published.notice_ends_at)}结束，不能再提出异议")
    if now < published.notice_starts_at:
        return Conflict(f"公示期自{_shown(published.notice_starts_at)}开始，届时方可提出异议")
    if member_id not in published.results:
        return NotFound("本次公示的结果中没有您的评议结果")
    if any(o.member_id == member_id for o in published.open_objections()):
        return Conflict("您已有一项异议正在处理，请等待支委会作出决定")
    return None


def raise_objection(
    state: BranchResults | None, command: RaiseObjection, *, now: datetime
) -> ResultObjectionRaised:
    if command.raised_by != command.member_id:
        raise Forbidden("只能对本人的评议结果提出异议")
    refusal = objection_refusal(
        state, branch_id=command.branch_id, year=command.year, member_id=command.member_id, now=now
    )
    if refusal is not None:
        raise refusal
    assert state is not None
    if command.objection_id in state.objections:
        raise Conflict(f"异议编号“{command.objection_id}”已经存在")
    return ResultObjectionRaised(
        branch_id=command.branch_id,
        year=command.year,
        objection_id=command.objection_id,
        member_id=command.member_id,
        reason=command.reason,
    )


def decide_objection(
    state: BranchResults | None, command: DecideObjection, *, decided_by: str
) -> ResultObjectionDecided:
    """``decided_by`` is the person deciding: never the member the objection is about (no
    one judges their own case; another committee member or the unit committee decides)."""
    published = _published(state, command.branch_id, command.year)
    objection = published.objections.get(command.objection_id)
    if objection is None:
        raise NotFound(f"没有编号为“{command.objection_id}”的异议")
    if objection.member_id == decided_by:
        raise Forbidden(
            "这项异议针对的是您本人的评议结果，您不能自己裁决；"
            "请由另一名支委会成员或所属二级党委作出决定"
        )
    if published.finalized:
        raise Conflict(f"{command.year}年度评议结果已经定稿，不能再处理异议")
    if not objection.is_open:
        raise Conflict("该异议已经作出决定，不能重复处理")
    result = published.results[objection.member_id]
    if command.outcome is ObjectionOutcome.ADJUSTED and command.composite is not None:
        result = MemberResult(
            member_id=objection.member_id,
            composite=command.composite,
            band=band_of(command.composite, published.bands),
            missing=(),
        )
    return ResultObjectionDecided(
        branch_id=command.branch_id,
        year=command.year,
        objection_id=command.objection_id,
        outcome=command.outcome,
        reason=command.reason,
        result=result,
    )


def finalize_results(
    state: BranchResults | None, command: FinalizeYearResults, *, now: datetime
) -> YearResultsFinalized:
    now = _utc(now)
    published = _published(state, command.branch_id, command.year)
    if published.finalized:
        raise Conflict(f"{command.year}年度评议结果已经定稿")
    if now < published.notice_ends_at:
        raise Conflict(f"公示期至{_shown(published.notice_ends_at)}结束，结束后方可定稿")
    if pending := published.open_objections():
        raise Conflict(f"尚有 {len(pending)} 项异议未作出决定，不能定稿")
    return YearResultsFinalized(
        branch_id=command.branch_id,
        year=command.year,
        policy_id=published.policy_id,
        results=tuple(
            FinalMemberResult(
                **result.model_dump(), adjusted=result.member_id in published.adjusted
            )
            for result in sorted(published.results.values(), key=lambda r: r.member_id)
        ),
    )


def evolve_branch_results(state: BranchResults | None, event: BranchResultsEvent) -> BranchResults:
    if isinstance(event, BranchResultsPublished):
        if state is not None:
            _same_stream(state, event.branch_id, event.year)
        return BranchResults(
            branch_id=event.branch_id,
            year=event.year,
            policy_id=event.policy_id,
            bands=event.bands,
            notice_starts_at=event.notice_starts_at,
            notice_ends_at=event.notice_ends_at,
            results={result.member_id: result for result in event.results},
            # Decided objections stay as history; adjustments went with the old results.
            objections=state.objections if state is not None else {},
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before any BranchResultsPublished")
    _same_stream(state, event.branch_id, event.year)
    if isinstance(event, ResultObjectionRaised):
        objection = Objection(
            objection_id=event.objection_id, member_id=event.member_id, reason=event.reason
        )
        return replace(state, objections={**state.objections, event.objection_id: objection})
    if isinstance(event, ResultObjectionDecided):
        decided = replace(state.objections[event.objection_id], outcome=event.outcome)
        adjusted = state.adjusted
        if event.outcome is ObjectionOutcome.ADJUSTED:
            adjusted = adjusted | {event.result.member_id}
        return replace(
            state,
            results={**state.results, event.result.member_id: event.result},
            objections={**state.objections, event.objection_id: decided},
            adjusted=adjusted,
        )
    return replace(state, finalized=True)


def replay_branch_results(events: Iterable[BranchResultsEvent]) -> BranchResults | None:
    state: BranchResults | None = None
    for event in events:
        state = evolve_branch_results(state, event)
    return state


def _published(state: BranchResults | None, branch_id: str, year: int) -> BranchResults:
    if state is None:
        raise Conflict(f"本支部{year}年度评议结果尚未公示")
    _same_stream(state, branch_id, year)
    return state


def _same_stream(state: BranchResults, branch_id: str, year: int) -> None:
    # A mismatch means the caller loaded the wrong stream: a bug, not a user error.
    if (state.branch_id, state.year) != (branch_id, year):
        raise ValueError(f"stream of {state.branch_id}/{state.year} given {branch_id}/{year}")


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now.astimezone(UTC)


def _shown(moment: datetime) -> str:
    return f"{moment.astimezone(_BEIJING):%Y-%m-%d %H:%M}（北京时间）"
