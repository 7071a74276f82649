"""A member's responsibility area for one year (the MemberYear aggregate).

The area may change until the member's first pledge of the year is approved. Rather than
have the caller assert "no pledge approved yet" from a read model (which lags and races with
an approval in flight), the approval is recorded here as its own fact: the handler that
appends ``PledgeApproved`` feeds it to ``decide_lock_area`` and appends the result to this
stream in the same transaction. An area change racing with an approval then fails on the
stream version instead of slipping through.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.pledges.commands import ChooseArea
from services.pledges.domain.base import unexpected
from services.pledges.domain.roster import PersonState
from shared.contracts.events import Event
from shared.contracts.pledges import (
    PledgeApproved,
    PledgeCarriedIn,
    ResponsibilityArea,
    ResponsibilityAreaChanged,
    ResponsibilityAreaChosen,
    ResponsibilityAreaLocked,
)
from shared.errors import Conflict, InvalidInput, NotFound


def member_year_stream(person_id: str, year: int) -> str:
    return f"member-year-{person_id}-{year}"


@dataclass(frozen=True, slots=True)
class MemberYearState:
    person_id: str
    year: int
    area: ResponsibilityArea
    locked_by: str | None = None
    """The first approved pledge of the year, once there is one."""

    @property
    def is_locked(self) -> bool:
        return self.locked_by is not None


def evolve_member_year(state: MemberYearState | None, event: Event) -> MemberYearState:
    match event:
        case ResponsibilityAreaChosen() if state is None:
            return MemberYearState(person_id=event.person_id, year=event.year, area=event.area)
        case ResponsibilityAreaChanged() if state is not None:
            return replace(state, area=event.area)
        case ResponsibilityAreaLocked() if state is not None:
            return replace(state, locked_by=event.pledge_id)
    raise unexpected(state, event)


def decide_choose_area(
    state: MemberYearState | None, command: ChooseArea, *, member: PersonState | None
) -> list[Event]:
    """Choosing the area already chosen decides nothing."""
    if member is None:
        raise NotFound(f"党员“{command.person_id}”不存在")
    if not member.is_active:
        raise Conflict(f"{member.name}已离开，不能再选择责任区")
    if not member.is_party_member:
        raise InvalidInput(f"{member.name}不是党员，不需要选择党员责任区")
    if state is None:
        return [
            ResponsibilityAreaChosen(
                person_id=command.person_id, year=command.year, area=command.area
            )
        ]
    if state.area is command.area:
        return []
    if state.is_locked:
        raise Conflict(f"{command.year}年度已有承诺通过定诺，责任区“{state.area.label}”不能再更改")
    return [
        ResponsibilityAreaChanged(
            person_id=command.person_id,
            year=command.year,
            previous_area=state.area,
            area=command.area,
        )
    ]


def decide_lock_area(
    state: MemberYearState | None, approved: PledgeApproved | PledgeCarriedIn
) -> list[Event]:
    """Only the first approval locks; later approvals decide nothing. A pledge carried in
    from the year before is approved in this year from its start, and locks as well."""
    if state is None:
        raise Conflict(f"党员{approved.year}年度尚未选择责任区")
    if state.is_locked:
        return []
    return [
        ResponsibilityAreaLocked(
            person_id=state.person_id, year=state.year, pledge_id=approved.pledge_id
        )
    ]
