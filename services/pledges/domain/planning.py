"""Step 1 of the six: the branch's annual plan and the employees' needs.

A need learns about pledges from pledge facts, fed to it by the handler that appended them,
in the same transaction:

- a declared or revised pledge naming the need: ``decide_link_pledge``;
- a revised pledge no longer naming it, or a withdrawn pledge: ``decide_unlink_pledge``;
- ``PledgeAccepted`` (which carries the pledge's need ids): ``decide_mark_solved``.

All three are idempotent, so a redelivered fact changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from services.pledges.commands import AdoptPlan, ClassifyNeed, SubmitNeed
from services.pledges.domain.base import unexpected
from services.pledges.domain.roster import BranchState, PersonState
from shared.contracts.events import Event
from shared.contracts.pledges import (
    NeedClassified,
    NeedPledgeLinked,
    NeedPledgeUnlinked,
    NeedSolved,
    NeedSubmitted,
    PlanAdopted,
    PlanAmended,
    PledgeAccepted,
    ResponsibilityArea,
)
from shared.errors import Conflict, InvalidInput, NotFound


def plan_stream(branch_id: str, year: int) -> str:
    return f"plan-{branch_id}-{year}"


def need_stream(need_id: str) -> str:
    return f"need-{need_id}"


@dataclass(frozen=True, slots=True)
class PlanState:
    branch_id: str
    year: int
    title: str
    summary: str
    meeting_date: date


@dataclass(frozen=True, slots=True)
class NeedState:
    need_id: str
    branch_id: str
    year: int
    employee_id: str
    problem: str
    suggested_area: ResponsibilityArea | None
    area: ResponsibilityArea | None = None
    pledge_ids: tuple[str, ...] = ()
    solved_by: str | None = None
    solved_on: date | None = None

    @property
    def is_solved(self) -> bool:
        return self.solved_by is not None


def evolve_plan(state: PlanState | None, event: Event) -> PlanState:
    match event:
        case PlanAdopted() if state is None:
            return PlanState(
                branch_id=event.branch_id,
                year=event.year,
                title=event.title,
                summary=event.summary,
                meeting_date=event.meeting_date,
            )
        case PlanAmended() if state is not None:
            return replace(
                state, title=event.title, summary=event.summary, meeting_date=event.meeting_date
            )
    raise unexpected(state, event)


def evolve_need(state: NeedState | None, event: Event) -> NeedState:
    match event:
        case NeedSubmitted() if state is None:
            return NeedState(
                need_id=event.need_id,
                branch_id=event.branch_id,
                year=event.year,
                employee_id=event.employee_id,
                problem=event.problem,
                suggested_area=event.suggested_area,
            )
        case NeedClassified() if state is not None:
            return replace(state, area=event.area)
        case NeedPledgeLinked() if state is not None:
            return replace(state, pledge_ids=(*state.pledge_ids, event.pledge_id))
        case NeedPledgeUnlinked() if state is not None:
            kept = tuple(p for p in state.pledge_ids if p != event.pledge_id)
            return replace(state, pledge_ids=kept)
        case NeedSolved() if state is not None:
            return replace(state, solved_by=event.pledge_id, solved_on=event.solved_on)
    raise unexpected(state, event)


def decide_adopt_plan(
    state: PlanState | None, command: AdoptPlan, *, branch: BranchState | None
) -> list[Event]:
    """Adopting the same plan again decides nothing; a different one amends it."""
    if branch is None:
        raise NotFound(f"党支部“{command.branch_id}”不存在")
    adopted = PlanAdopted(
        branch_id=command.branch_id,
        year=command.year,
        title=command.title,
        summary=command.summary,
        meeting_date=command.meeting_date,
    )
    if state is None:
        return [adopted]
    if (state.title, state.summary, state.meeting_date) == (
        command.title,
        command.summary,
        command.meeting_date,
    ):
        return []
    return [PlanAmended(**adopted.model_dump())]


def decide_submit_need(
    state: NeedState | None,
    command: SubmitNeed,
    *,
    employee: PersonState | None,
    plan: PlanState | None,
) -> list[Event]:
    """``plan`` is the branch's plan for the command's year; needs are gathered under it."""
    if state is not None:
        raise Conflict(f"需求编号“{command.need_id}”已存在")
    if plan is None:
        raise Conflict(f"本支部{command.year}年度活动方案尚未通过，暂不能提交需求")
    if employee is None:
        raise NotFound(f"员工“{command.employee_id}”不存在")
    if not employee.is_active:
        raise Conflict(f"{employee.name}已离开，不能再提交需求")
    if employee.branch_id != command.branch_id:
        raise InvalidInput(f"{employee.name}不属于本党支部，只能提交本支部员工的需求")
    return [
        NeedSubmitted(
            need_id=command.need_id,
            branch_id=command.branch_id,
            year=command.year,
            employee_id=command.employee_id,
            problem=command.problem,
            suggested_area=command.suggested_area,
        )
    ]


def decide_classify_need(state: NeedState | None, command: ClassifyNeed) -> list[Event]:
    need = _existing(state, command.need_id)
    if need.is_solved:
        raise Conflict("需求已解决，不能重新分类")
    if need.area is command.area:
        return []
    return [NeedClassified(need_id=need.need_id, area=command.area)]


def decide_link_pledge(state: NeedState | None, pledge_id: str) -> list[Event]:
    need = _existing(state, None)
    if pledge_id in need.pledge_ids:
        return []
    if need.is_solved:
        raise Conflict("该需求已解决，不能再对应新的承诺")
    return [NeedPledgeLinked(need_id=need.need_id, pledge_id=pledge_id)]


def decide_unlink_pledge(state: NeedState | None, pledge_id: str) -> list[Event]:
    need = _existing(state, None)
    if pledge_id not in need.pledge_ids:
        return []
    return [NeedPledgeUnlinked(need_id=need.need_id, pledge_id=pledge_id)]


def decide_mark_solved(state: NeedState | None, accepted: PledgeAccepted) -> list[Event]:
    """The first accepted pledge solves the need; later ones are answers to a solved need."""
    need = _existing(state, None)
    if need.is_solved:
        return []
    if accepted.pledge_id not in need.pledge_ids:
        raise Conflict(f"承诺“{accepted.pledge_id}”未对应该需求，不能据此认定需求已解决")
    return [
        NeedSolved(
            need_id=need.need_id, pledge_id=accepted.pledge_id, solved_on=accepted.accepted_on
        )
    ]


def _existing(state: NeedState | None, need_id: str | None) -> NeedState:
    if state is None:
        raise NotFound("需求不存在" if need_id is None else f"需求“{need_id}”不存在")
    return state
