"""Routes for step 1 (the branch's plan, the employees' needs) and the members' areas."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from services.pledges import commands as c
from services.pledges import handlers
from services.pledges.api.deps import HandlerDeps, IdempotencyHeader, command, idempotency, new_id
from services.pledges.api.schemas import (
    AdoptPlanBody,
    ChooseAreaBody,
    ClassifyNeedBody,
    SubmitNeedBody,
)
from services.pledges.handlers import CommandResult

router = APIRouter()
YearPath = Annotated[int, Path(ge=2000, le=2100, description="年度")]


@router.put(
    "/branches/{branch_id}/plans/{year}", tags=["plans and needs"], summary="通过年度活动方案"
)
async def adopt_plan(
    branch_id: str, year: YearPath, body: AdoptPlanBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.AdoptPlan, branch_id=branch_id, year=year, **body.model_dump())
    return await handlers.adopt_plan(cmd, **deps)


@router.post(
    "/needs",
    status_code=status.HTTP_201_CREATED,
    tags=["plans and needs"],
    summary="员工提交需求",
)
async def submit_need(
    body: SubmitNeedBody, deps: HandlerDeps, idempotency_key: IdempotencyHeader = None
) -> CommandResult:
    values = body.model_dump(exclude={"need_id"})
    cmd = command(c.SubmitNeed, need_id=body.need_id or new_id("need"), **values)
    return await handlers.submit_need(cmd, idempotency=idempotency(idempotency_key, body), **deps)


@router.post(
    "/needs/{need_id}/classification", tags=["plans and needs"], summary="支委会对需求分类"
)
async def classify_need(need_id: str, body: ClassifyNeedBody, deps: HandlerDeps) -> CommandResult:
    cmd = command(c.ClassifyNeed, need_id=need_id, **body.model_dump())
    return await handlers.classify_need(cmd, **deps)


@router.put("/members/{person_id}/areas/{year}", tags=["areas"], summary="党员选择年度责任区")
async def choose_area(
    person_id: str, year: YearPath, body: ChooseAreaBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.ChooseArea, person_id=person_id, year=year, **body.model_dump())
    return await handlers.choose_area(cmd, **deps)
