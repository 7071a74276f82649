"""The roster: units, branches and people (party members and employees).

Registration is an upsert that compares with the state: registering what is already known
decides no event, so importing the same roster file twice changes nothing, and a changed
line becomes the precise facts (renamed, updated, transferred) rather than a new registration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from services.pledges.commands import (
    AppointCommitteeMember,
    ExemptMember,
    RecordDeparture,
    RegisterBranch,
    RegisterPerson,
    RegisterUnit,
    RemoveCommitteeMember,
    RevokeExemption,
    TransferPerson,
)
from services.pledges.domain.base import unexpected
from shared.contracts.events import Event
from shared.contracts.pledges import (
    BranchRegistered,
    BranchRenamed,
    CommitteeMemberAppointed,
    CommitteeMemberRemoved,
    CommitteePosition,
    MemberExempted,
    MemberExemptionRevoked,
    Membership,
    PersonDeparted,
    PersonRegistered,
    PersonTransferred,
    PersonUpdated,
    UnitRegistered,
    UnitRenamed,
)
from shared.errors import Conflict, InvalidInput, NotFound


def unit_stream(unit_id: str) -> str:
    return f"unit-{unit_id}"


def branch_stream(branch_id: str) -> str:
    return f"branch-{branch_id}"


def person_stream(person_id: str) -> str:
    return f"person-{person_id}"


@dataclass(frozen=True, slots=True)
class UnitState:
    unit_id: str
    name: str


@dataclass(frozen=True, slots=True)
class BranchState:
    branch_id: str
    unit_id: str
    name: str


@dataclass(frozen=True, slots=True)
class PersonState:
    person_id: str
    name: str
    branch_id: str
    membership: Membership
    post: str | None
    committee_position: CommitteePosition | None = None
    departed_on: date | None = None
    exempt_years: frozenset[int] = frozenset()
    """The years the member is exempt from the review (免于评议)."""

    @property
    def is_party_member(self) -> bool:
        return self.membership.is_party_member

    @property
    def is_active(self) -> bool:
        return self.departed_on is None


def evolve_unit(state: UnitState | None, event: Event) -> UnitState:
    match event:
        case UnitRegistered() if state is None:
            return UnitState(unit_id=event.unit_id, name=event.name)
        case UnitRenamed() if state is not None:
            return replace(state, name=event.name)
    raise unexpected(state, event)


def evolve_branch(state: BranchState | None, event: Event) -> BranchState:
    match event:
        case BranchRegistered() if state is None:
            return BranchState(branch_id=event.branch_id, unit_id=event.unit_id, name=event.name)
        case BranchRenamed() if state is not None:
            return replace(state, name=event.name)
    raise unexpected(state, event)


def evolve_person(state: PersonState | None, event: Event) -> PersonState:
    match event:
        case PersonRegistered() if state is None:
            return PersonState(
                person_id=event.person_id,
                name=event.name,
                branch_id=event.branch_id,
                membership=event.membership,
                post=event.post,
            )
        case PersonUpdated() if state is not None:
            return replace(state, name=event.name, membership=event.membership, post=event.post)
        case PersonTransferred() if state is not None:
            return replace(state, branch_id=event.to_branch_id)
        case PersonDeparted() if state is not None:
            return replace(state, departed_on=event.departed_on)
        case CommitteeMemberAppointed() if state is not None:
            return replace(state, committee_position=event.position)
        case CommitteeMemberRemoved() if state is not None:
            return replace(state, committee_position=None)
        case MemberExempted() if state is not None:
            return replace(state, exempt_years=state.exempt_years | {event.year})
        case MemberExemptionRevoked() if state is not None:
            return replace(state, exempt_years=state.exempt_years - {event.year})
    raise unexpected(state, event)


def decide_register_unit(state: UnitState | None, command: RegisterUnit) -> list[Event]:
    if state is None:
        return [UnitRegistered(unit_id=command.unit_id, name=command.name)]
    if state.name == command.name:
        return []
    return [UnitRenamed(unit_id=command.unit_id, name=command.name)]


def decide_register_branch(
    state: BranchState | None, command: RegisterBranch, *, unit: UnitState | None
) -> list[Event]:
    """``unit`` is the unit the command names, as loaded by the caller."""
    if unit is None:
        raise NotFound(f"二级党委“{command.unit_id}”不存在，请先登记二级党委")
    if state is None:
        return [
            BranchRegistered(
                branch_id=command.branch_id, unit_id=command.unit_id, name=command.name
            )
        ]
    if state.unit_id != command.unit_id:
        raise Conflict(
            f"党支部“{state.name}”已登记在二级党委“{state.unit_id}”下，不能改挂到其他二级党委"
        )
    if state.name == command.name:
        return []
    return [BranchRenamed(branch_id=command.branch_id, name=command.name)]


def decide_register_person(
    state: PersonState | None, command: RegisterPerson, *, branch: BranchState | None
) -> list[Event]:
    """``branch`` is the branch the command names. A changed branch is a transfer."""
    if branch is None:
        raise NotFound(f"党支部“{command.branch_id}”不存在，请先登记党支部")
    if state is None:
        return [
            PersonRegistered(
                person_id=command.person_id,
                name=command.name,
                branch_id=command.branch_id,
                membership=command.membership,
                post=command.post,
            )
        ]
    _require_active(state)
    changed = (state.name, state.membership, state.post) != (
        command.name,
        command.membership,
        command.post,
    )
    moved = state.branch_id != command.branch_id
    events: list[Event] = []
    if state.committee_position is not None and (
        moved or command.membership is not Membership.FULL_MEMBER
    ):
        events.append(_leave_committee(state))
    if changed:
        events.append(
            PersonUpdated(
                person_id=state.person_id,
                name=command.name,
                membership=command.membership,
                post=command.post,
            )
        )
    if moved:
        events.append(
            PersonTransferred(
                person_id=state.person_id,
                from_branch_id=state.branch_id,
                to_branch_id=command.branch_id,
            )
        )
    return events


def decide_transfer_person(
    state: PersonState | None, command: TransferPerson, *, to_branch: BranchState | None
) -> list[Event]:
    """A committee member leaves the old branch's committee on the way out."""
    person = _existing(state, command.person_id)
    _require_active(person)
    if to_branch is None:
        raise NotFound(f"党支部“{command.to_branch_id}”不存在，请先登记党支部")
    if person.branch_id == command.to_branch_id:
        raise Conflict(f"{person.name}已在该党支部，无需调动")
    events: list[Event] = []
    if person.committee_position is not None:
        events.append(_leave_committee(person))
    events.append(
        PersonTransferred(
            person_id=person.person_id,
            from_branch_id=person.branch_id,
            to_branch_id=command.to_branch_id,
        )
    )
    return events


def decide_record_departure(state: PersonState | None, command: RecordDeparture) -> list[Event]:
    person = _existing(state, command.person_id)
    _require_active(person)
    events: list[Event] = []
    if person.committee_position is not None:
        events.append(_leave_committee(person))
    events.append(
        PersonDeparted(
            person_id=person.person_id,
            branch_id=person.branch_id,
            departed_on=command.departed_on,
            reason=command.reason,
        )
    )
    return events


def decide_appoint_committee_member(
    state: PersonState | None, command: AppointCommitteeMember
) -> list[Event]:
    """Appointing someone to the position they hold decides nothing (the import repeats it)."""
    person = _existing(state, command.person_id)
    _require_active(person)
    if person.membership is not Membership.FULL_MEMBER:
        # Probationary members have no right to be elected (Party Constitution, art. 7).
        raise Conflict(f"{person.name}是{person.membership.label}，只有正式党员才能担任支部委员")
    if person.committee_position is command.position:
        return []
    return [
        CommitteeMemberAppointed(
            person_id=person.person_id, branch_id=person.branch_id, position=command.position
        )
    ]


def decide_remove_committee_member(
    state: PersonState | None, command: RemoveCommitteeMember
) -> list[Event]:
    person = _existing(state, command.person_id)
    if person.committee_position is None:
        raise Conflict(f"{person.name}不是支部委员")
    return [_leave_committee(person)]


def _leave_committee(person: PersonState) -> CommitteeMemberRemoved:
    return CommitteeMemberRemoved(person_id=person.person_id, branch_id=person.branch_id)


def _existing(state: PersonState | None, person_id: str) -> PersonState:
    if state is None:
        raise NotFound(f"人员“{person_id}”不存在")
    return state


def _require_active(person: PersonState) -> None:
    if person.departed_on is not None:
        raise Conflict(f"{person.name}已于{person.departed_on.isoformat()}离开，不能再办理此事项")


def decide_exempt_member(
    state: PersonState | None, command: ExemptMember, *, today: date
) -> list[Event]:
    """Exempt a party member on the roster from a year's review (DOMAIN.md section 5): the
    year is last year, this year or next year (Beijing time), the member was on the roster
    during it, and is not exempt for it already."""
    person = _existing(state, command.member_id)
    _review_year(command.year, today)
    if not person.is_party_member:
        raise InvalidInput(f"{person.name}是{person.membership.label}，不参加党员评议，无需免评")
    if person.departed_on is not None and person.departed_on.year < command.year:
        raise Conflict(
            f"{person.name}已于{person.departed_on.isoformat()}离开，"
            f"{command.year}年不在花名册上，无需免评"
        )
    if command.year in person.exempt_years:
        raise Conflict(f"{person.name}{command.year}年度已登记免评，不能重复登记")
    return [
        MemberExempted(
            member_id=person.person_id,
            branch_id=person.branch_id,
            year=command.year,
            reason=command.reason,
            reason_text=command.reason_text,
            evidence=command.evidence,
        )
    ]


def decide_revoke_exemption(
    state: PersonState | None, command: RevokeExemption, *, today: date
) -> list[Event]:
    person = _existing(state, command.member_id)
    _review_year(command.year, today)
    if command.year not in person.exempt_years:
        raise NotFound(f"{person.name}{command.year}年度没有免评登记，无法撤销")
    return [
        MemberExemptionRevoked(
            member_id=person.person_id,
            branch_id=person.branch_id,
            year=command.year,
            reason=command.reason,
        )
    ]


def _review_year(year: int, today: date) -> None:
    """Exemptions are recorded for the years still being reviewed or planned."""
    if not today.year - 1 <= year <= today.year + 1:
        raise InvalidInput(
            f"只能为{today.year - 1}年、{today.year}年或{today.year + 1}年登记或撤销免评，"
            f"不能办理{year}年"
        )
