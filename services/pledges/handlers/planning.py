"""Step 1 (the branch's plan and the employees' needs) and the members' responsibility areas."""

from __future__ import annotations

from typing import Unpack

from services.pledges.commands import AdoptPlan, ChooseArea, ClassifyNeed, SubmitNeed
from services.pledges.domain import (
    branch_stream,
    decide_adopt_plan,
    decide_choose_area,
    decide_classify_need,
    decide_submit_need,
    evolve_branch,
    evolve_member_year,
    evolve_need,
    evolve_person,
    evolve_plan,
    member_year_stream,
    need_stream,
    person_stream,
    plan_stream,
)
from services.pledges.handlers.access import committee_of, employee_in_branch, member_for_self
from services.pledges.handlers.base import CommandResult, IdempotencyKey, unit_of_work
from shared.errors import NotFound
from shared.handlers import Dependencies


async def adopt_plan(command: AdoptPlan, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = committee_of(uow.principal, command.branch_id, action="通过本支部的年度活动方案")
        branch = await uow.load(branch_stream(command.branch_id), evolve_branch)
        plan = await uow.load(plan_stream(command.branch_id, command.year), evolve_plan)
        events = decide_adopt_plan(plan.state, command, branch=branch.state)
        await uow.append(
            plan,
            events,
            role=role,
            org=await uow.org_of_branch(command.branch_id),
            partition_key=command.branch_id,
            year=command.year,
        )
        return uow.result(f"{command.branch_id}/{command.year}", plan.stream)


async def submit_need(
    command: SubmitNeed,
    *,
    idempotency: IdempotencyKey | None = None,
    **deps: Unpack[Dependencies],
) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = employee_in_branch(
            uow.principal, command.employee_id, command.branch_id, action="提交本支部员工的需求"
        )
        if (replay := await uow.replayed(idempotency)) is not None:
            return replay
        need = await uow.load(need_stream(command.need_id), evolve_need)
        employee = await uow.load(person_stream(command.employee_id), evolve_person)
        plan = await uow.load(plan_stream(command.branch_id, command.year), evolve_plan)
        events = decide_submit_need(need.state, command, employee=employee.state, plan=plan.state)
        await uow.append(
            need,
            events,
            role=role,
            org=await uow.org_of_branch(command.branch_id),
            partition_key=command.branch_id,
            year=command.year,
        )
        result = uow.result(command.need_id, need.stream)
        await uow.remember(idempotency, result)
        return result


async def classify_need(command: ClassifyNeed, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        need = await uow.load(need_stream(command.need_id), evolve_need)
        if need.state is None:
            raise NotFound(f"需求“{command.need_id}”不存在")
        branch_id = need.state.branch_id
        role = committee_of(uow.principal, branch_id, action="对本支部的需求分类汇总")
        await uow.append(
            need,
            decide_classify_need(need.state, command),
            role=role,
            org=await uow.org_of_branch(branch_id),
            partition_key=branch_id,
            year=need.state.year,
        )
        return uow.result(command.need_id, need.stream)


async def choose_area(command: ChooseArea, **deps: Unpack[Dependencies]) -> CommandResult:
    async with unit_of_work(**deps) as uow:
        role = member_for_self(uow.principal, command.person_id, action="选择本人的党员责任区")
        member = await uow.load(person_stream(command.person_id), evolve_person)
        member_year = await uow.load(
            member_year_stream(command.person_id, command.year), evolve_member_year
        )
        events = decide_choose_area(member_year.state, command, member=member.state)
        if member.state is not None:
            await uow.append(
                member_year,
                events,
                role=role,
                org=await uow.org_of_branch(member.state.branch_id),
                partition_key=member.state.branch_id,
                year=command.year,
            )
        return uow.result(f"{command.person_id}/{command.year}", member_year.stream)
