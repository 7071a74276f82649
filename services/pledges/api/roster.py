"""Roster routes: units, branches, people, committee appointments and the CSV import."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from services.pledges import commands as c
from services.pledges import handlers
from services.pledges.api.deps import HandlerDeps, command
from services.pledges.api.schemas import (
    AppointmentBody,
    DepartureBody,
    ExemptionBody,
    RegisterBranchBody,
    RegisterPersonBody,
    RegisterUnitBody,
    RevocationBody,
    TransferBody,
)
from services.pledges.handlers import CommandResult
from services.pledges.handlers.roster_import import ImportReport, import_roster
from shared.errors import InvalidInput

router = APIRouter(prefix="/roster", tags=["roster"])
PersonId = Annotated[str, Path(description="人员编号")]

_CSV_EXAMPLE = (
    "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position\n"
    "u-07,采油厂党委,b-101,采油一队党支部,p-0001,王建国,member,队长,secretary\n"
    "u-07,采油厂党委,b-101,采油一队党支部,p-0105,赵磊,employee,采油工,\n"
)


@router.post("/units", summary="登记二级党委（幂等）")
async def register_unit(body: RegisterUnitBody, deps: HandlerDeps) -> CommandResult:
    return await handlers.register_unit(command(c.RegisterUnit, **body.model_dump()), **deps)


@router.post("/branches", summary="登记党支部（幂等）")
async def register_branch(body: RegisterBranchBody, deps: HandlerDeps) -> CommandResult:
    return await handlers.register_branch(command(c.RegisterBranch, **body.model_dump()), **deps)


@router.post("/people", summary="登记人员（幂等；支部变化即调动）")
async def register_person(body: RegisterPersonBody, deps: HandlerDeps) -> CommandResult:
    return await handlers.register_person(command(c.RegisterPerson, **body.model_dump()), **deps)


@router.post("/people/{person_id}/transfer", summary="人员调动")
async def transfer_person(
    person_id: PersonId, body: TransferBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.TransferPerson, person_id=person_id, **body.model_dump())
    return await handlers.transfer_person(cmd, **deps)


@router.post("/people/{person_id}/departure", summary="登记人员离开")
async def record_departure(
    person_id: PersonId, body: DepartureBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.RecordDeparture, person_id=person_id, **body.model_dump())
    return await handlers.record_departure(cmd, **deps)


@router.post(
    "/people/{person_id}/exemptions",
    summary="登记免评（支委会、二级党委或组织部）",
    description=(
        "Exempts a party member from a year's review (last, this or next year): reason "
        "`retired` 退休, `long_term_illness` 长期病休, `mobile_member` 流动党员 or `other` 其他 "
        "(with `reason_text`), and an evidence note → `MemberExempted`. 404 not on the roster, "
        "409 already exempt or departed before the year, 422 a year outside the window."
    ),
)
async def exempt_member(
    person_id: PersonId, body: ExemptionBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.ExemptMember, member_id=person_id, **body.model_dump())
    return await handlers.exempt_member(cmd, **deps)


@router.post(
    "/people/{person_id}/exemptions/{year}/revocation",
    summary="撤销免评",
    description="Revokes the member's exemption for the year, with a reason → "
    "`MemberExemptionRevoked`; 404 when there is none.",
)
async def revoke_exemption(
    person_id: PersonId,
    year: Annotated[int, Path(description="年度")],
    body: RevocationBody,
    deps: HandlerDeps,
) -> CommandResult:
    cmd = command(c.RevokeExemption, member_id=person_id, year=year, **body.model_dump())
    return await handlers.revoke_exemption(cmd, **deps)


@router.put("/people/{person_id}/committee", summary="任命支部委员")
async def appoint_committee_member(
    person_id: PersonId, body: AppointmentBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.AppointCommitteeMember, person_id=person_id, **body.model_dump())
    return await handlers.appoint_committee_member(cmd, **deps)


@router.delete("/people/{person_id}/committee", summary="免去支部委员")
async def remove_committee_member(person_id: PersonId, deps: HandlerDeps) -> CommandResult:
    cmd = command(c.RemoveCommitteeMember, person_id=person_id)
    return await handlers.remove_committee_member(cmd, **deps)


@router.post(
    "/import",
    summary="导入花名册（CSV，UTF-8）",
    description=(
        "Checks every line first. Any bad line: 422 with `lines` (line, field, reason) and "
        "nothing applied. Otherwise the whole file is applied in one transaction; importing "
        "the same file again records no event."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        }
    },
    responses={422: {"description": "bad lines, with a per-line report; nothing applied"}},
)
async def import_roster_file(request: Request, deps: HandlerDeps) -> ImportReport:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("花名册须为UTF-8编码的CSV文件") from None
    return await import_roster(text, **deps)
