"""Roster handlers: units, branches, people and committee appointments.

The ``apply_*`` functions decide and append within a unit of work the caller holds, so the
CSV import runs a whole file through them in one transaction.
"""

from __future__ import annotations

from typing import Unpack

from sqlalchemy import select

from services.pledges import persistence as t
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
from services.pledges.domain import (
    BranchState,
    PersonState,
    branch_stream,
    decide_appoint_committee_member,
    decide_exempt_member,
    decide_pledge_on_transfer,
    decide_record_departure,
    decide_register_branch,
    decide_register_person,
    decide_register_unit,
    decide_remove_committee_member,
    decide_revoke_exemption,
    decide_transfer_person,
    evolve_branch,
    evolve_person,
    evolve_unit,
    person_stream,
    unit_stream,
)
from services.pledges.handlers.access import exemption_recorder, roster_manager
from services.pledges.handlers.base import CommandResult, UnitOfWork, unit_of_work
from services.pledges.handlers.pledge_steps import append_to_pledge, load_pledge
from shared.auth import Role, require_role
from shared.contracts import Event, Org
from shared.errors import NotFound
from shared.handlers import Dependencies, Loaded


async def apply_register_unit(uow: UnitOfWork, command: RegisterUnit, role: Role) -> CommandResult:
    unit = await uow.load(unit_stream(command.unit_id), evolve_unit)
    events = decide_register_unit(unit.state, command)
    await uow.append(
        unit, events, role=role, org=Org(unit=command.unit_id), partition_key=command.unit_id
    )
    return uow.result(command.unit_id, unit.stream)


async def apply_register_branch(
    uow: UnitOfWork, command: RegisterBranch, role: Role
) -> CommandResult:
    unit = await uow.load(unit_stream(command.unit_id), evolve_unit)
    branch = await uow.load(branch_stream(command.branch_id), evolve_branch)
    events = decide_register_branch(branch.state, command, unit=unit.state)
    await uow.append(
        branch,
        events,
        role=role,
        org=Org(unit=command.unit_id, branch=command.branch_id),
        partition_key=command.branch_id,
    )
    return uow.result(command.branch_id, branch.stream)


async def apply_register_person(
    uow: UnitOfWork, command: RegisterPerson, role: Role
) -> CommandResult:
    branch = await uow.load(branch_stream(command.branch_id), evolve_branch)
    person = await uow.load(person_stream(command.person_id), evolve_person)
    events = decide_register_person(person.state, command, branch=branch.state)
    await _append_person(uow, person, events, role, home=command.branch_id)
    return uow.result(command.person_id, person.stream)


async def apply_appoint_committee_member(
    uow: UnitOfWork, command: AppointCommitteeMember, role: Role
) -> CommandResult:
    person = await uow.load(person_stream(command.person_id), evolve_person)
    events = decide_appoint_committee_member(person.state, command)
    await _append_person(uow, person, events, role)
    return uow.result(command.person_id, person.stream)


async def _append_person(
    uow: UnitOfWork,
    person: Loaded[PersonState],
    events: list[Event],
    role: Role,
    *,
    home: str | None = None,
) -> None:
    branch_id = person.state.branch_id if person.state is not None else home
    assert branch_id is not None, "a new person's stream needs the branch they join"
    await uow.append(
        person,
        events,
        role=role,
        org=await uow.org_of_branch(branch_id),
        partition_key=branch_id,
    )


async def register_unit(command: RegisterUnit, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="登记二级党委")
        return await apply_register_unit(uow, command, role)


async def register_branch(command: RegisterBranch, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="登记党支部")
        return await apply_register_branch(uow, command, role)


async def register_person(command: RegisterPerson, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="登记人员")
        return await apply_register_person(uow, command, role)


async def appoint_committee_member(
    command: AppointCommitteeMember, **deps: Unpack[Dependencies]
) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="任命支部委员")
        return await apply_appoint_committee_member(uow, command, role)


async def remove_committee_member(
    command: RemoveCommitteeMember, **deps: Unpack[Dependencies]
) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="免去支部委员")
        person = await uow.load(person_stream(command.person_id), evolve_person)
        await _append_person(
            uow, person, decide_remove_committee_member(person.state, command), role
        )
        return uow.result(command.person_id, person.stream)


async def transfer_person(command: TransferPerson, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="办理人员调动")
        person = await uow.load(person_stream(command.person_id), evolve_person)
        to_branch = await uow.load(branch_stream(command.to_branch_id), evolve_branch)
        events = decide_transfer_person(person.state, command, to_branch=to_branch.state)
        await _append_person(uow, person, events, role)
        assert to_branch.state is not None, "the decision refuses an unknown branch"
        await _pledges_follow(uow, command.person_id, to_branch.state, role)
        return uow.result(command.person_id, person.stream)


async def _pledges_follow(uow: UnitOfWork, person_id: str, to: BranchState, role: Role) -> None:
    """In the transfer's transaction, each open pledge of the member is handed over to the
    new branch or withdrawn (``decide_pledge_on_transfer``), as recorded steps of the same
    actor: the old branch's committee is left with nothing it can no longer act on."""
    rows = await uow.session.scalars(
        select(t.pledges.c.pledge_id)
        .where(
            t.pledges.c.member_id == person_id,
            t.pledges.c.year >= uow.today.year,
            t.pledges.c.status.not_in(("accepted", "withdrawn", "carried_over")),
        )
        .order_by(t.pledges.c.pledge_id)
    )
    for pledge_id in list(rows):
        pledge, state = await load_pledge(uow, pledge_id)
        events = decide_pledge_on_transfer(
            state,
            to_branch_id=to.branch_id,
            to_branch_name=to.name,
            transfer_year=uow.today.year,
        )
        if events:
            await append_to_pledge(uow, pledge, events, role)


async def record_departure(command: RecordDeparture, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = roster_manager(uow.principal, action="登记人员离开")
        person = await uow.load(person_stream(command.person_id), evolve_person)
        await _append_person(uow, person, decide_record_departure(person.state, command), role)
        return uow.result(command.person_id, person.stream)


_EXEMPTION_ROLES = (Role.BRANCH_COMMITTEE, Role.UNIT_COMMITTEE, Role.ORG_ADMIN)


async def _exemption_subject(
    uow: UnitOfWork, member_id: str, *, action: str
) -> tuple[Loaded[PersonState], Role]:
    """The member's stream and the role the principal acts in. Someone who may record no
    exemption anywhere is refused before the roster is read (no probing who exists)."""
    require_role(uow.principal, *_EXEMPTION_ROLES, action=action)
    person = await uow.load(person_stream(member_id), evolve_person)
    if person.state is None:
        raise NotFound(f"人员“{member_id}”不在花名册上")
    org = await uow.org_of_branch(person.state.branch_id)
    role = exemption_recorder(uow.principal, person.state.branch_id, org.unit, action=action)
    return person, role


async def exempt_member(command: ExemptMember, **deps: Unpack[Dependencies]) -> CommandResult:
    """Exempt a party member from a year's review (免于评议), on the member's stream."""
    async with unit_of_work(**deps) as uow:
        person, role = await _exemption_subject(uow, command.member_id, action="登记免评")
        events = decide_exempt_member(person.state, command, today=uow.today)
        await _append_person(uow, person, events, role)
        return uow.result(command.member_id, person.stream)


async def revoke_exemption(command: RevokeExemption, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        person, role = await _exemption_subject(uow, command.member_id, action="撤销免评")
        events = decide_revoke_exemption(person.state, command, today=uow.today)
        await _append_person(uow, person, events, role)
        return uow.result(command.member_id, person.stream)
