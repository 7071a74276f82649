"""Routes of the six-step pledge lifecycle. Each translates the request into a command and
calls its handler; who may do it and whether it may happen now is decided there."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from services.pledges import commands as c
from services.pledges import handlers
from services.pledges.api.deps import HandlerDeps, IdempotencyHeader, command, idempotency, new_id
from services.pledges.api.schemas import (
    AcceptanceRequestBody,
    AcceptBody,
    CarryOverBody,
    DeclarePledgeBody,
    LedgerCorrectionBody,
    LedgerEntryBody,
    PledgeTermsBody,
    PublishBody,
    ReasonsBody,
    SignAgreementBody,
    WithdrawBody,
)
from services.pledges.handlers import CommandResult

router = APIRouter(prefix="/pledges", tags=["pledges"])
PledgeId = Annotated[str, Path(description="承诺编号")]
_REFUSALS: dict[int | str, dict[str, str]] = {
    403: {"description": "not allowed for this person (reason in `message`)"},
    404: {"description": "no such pledge"},
    409: {"description": "not allowed in the pledge's current state, or a concurrent change"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="第二步：党员申报承诺",
    responses=_REFUSALS,
)
async def declare_pledge(
    body: DeclarePledgeBody, deps: HandlerDeps, idempotency_key: IdempotencyHeader = None
) -> CommandResult:
    values = body.model_dump(exclude={"pledge_id"})
    cmd = command(c.DeclarePledge, pledge_id=body.pledge_id or new_id("pledge"), **values)
    return await handlers.declare_pledge(
        cmd, idempotency=idempotency(idempotency_key, body), **deps
    )


@router.post("/{pledge_id}/revision-request", summary="第三步：支委会退回修改", responses=_REFUSALS)
async def request_revision(
    pledge_id: PledgeId, body: ReasonsBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.RequestRevision, pledge_id=pledge_id, **body.model_dump())
    return await handlers.request_revision(cmd, **deps)


@router.post("/{pledge_id}/revision", summary="党员修改后重新申报", responses=_REFUSALS)
async def revise_pledge(
    pledge_id: PledgeId, body: PledgeTermsBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.RevisePledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.revise_pledge(cmd, **deps)


@router.post("/{pledge_id}/approval", summary="第三步：支委会定诺", responses=_REFUSALS)
async def approve_pledge(pledge_id: PledgeId, deps: HandlerDeps) -> CommandResult:
    return await handlers.approve_pledge(command(c.ApprovePledge, pledge_id=pledge_id), **deps)


@router.post("/{pledge_id}/agreement", summary="第四步：登记结对协议书", responses=_REFUSALS)
async def sign_agreement(
    pledge_id: PledgeId, body: SignAgreementBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.SignAgreement, pledge_id=pledge_id, **body.model_dump())
    return await handlers.sign_agreement(cmd, **deps)


@router.post("/{pledge_id}/publication", summary="第五步：公开承诺", responses=_REFUSALS)
async def publish_pledge(
    pledge_id: PledgeId, body: PublishBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.PublishPledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.publish_pledge(cmd, **deps)


@router.post("/{pledge_id}/ledger", summary="第六步：记录月度台账", responses=_REFUSALS)
async def record_ledger_entry(
    pledge_id: PledgeId, body: LedgerEntryBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.RecordLedgerEntry, pledge_id=pledge_id, **body.model_dump())
    return await handlers.record_ledger_entry(cmd, **deps)


@router.put(
    "/{pledge_id}/ledger/{month}", summary="更正月度台账（须说明理由）", responses=_REFUSALS
)
async def correct_ledger_entry(
    pledge_id: PledgeId, month: str, body: LedgerCorrectionBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.CorrectLedgerEntry, pledge_id=pledge_id, month=month, **body.model_dump())
    return await handlers.correct_ledger_entry(cmd, **deps)


@router.post("/{pledge_id}/acceptance-request", summary="党员申请验收", responses=_REFUSALS)
async def request_acceptance(
    pledge_id: PledgeId, body: AcceptanceRequestBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.RequestAcceptance, pledge_id=pledge_id, **body.model_dump())
    return await handlers.request_acceptance(cmd, **deps)


@router.post("/{pledge_id}/acceptance", summary="支委会验收通过", responses=_REFUSALS)
async def accept_pledge(pledge_id: PledgeId, body: AcceptBody, deps: HandlerDeps) -> CommandResult:
    cmd = command(c.AcceptPledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.accept_pledge(cmd, **deps)


@router.post("/{pledge_id}/return", summary="支委会验收退回", responses=_REFUSALS)
async def return_pledge(pledge_id: PledgeId, body: ReasonsBody, deps: HandlerDeps) -> CommandResult:
    cmd = command(c.ReturnPledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.return_pledge(cmd, **deps)


@router.post("/{pledge_id}/withdrawal", summary="党员撤回承诺（定诺前）", responses=_REFUSALS)
async def withdraw_pledge(
    pledge_id: PledgeId, body: WithdrawBody, deps: HandlerDeps
) -> CommandResult:
    cmd = command(c.WithdrawPledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.withdraw_pledge(cmd, **deps)


@router.post(
    "/{pledge_id}/carry-over",
    status_code=status.HTTP_201_CREATED,
    summary="支委会将未完成的承诺结转至下一年度（须说明理由）",
    responses={
        **_REFUSALS,
        422: {"description": "no reason, or the new due date is not in the next year"},
    },
)
async def carry_over_pledge(
    pledge_id: PledgeId, body: CarryOverBody, deps: HandlerDeps
) -> CommandResult:
    """Answers with the next year's pledge that continues this one (its id is derived:
    a retried request is refused with 409, the first one having been recorded)."""
    cmd = command(c.CarryOverPledge, pledge_id=pledge_id, **body.model_dump())
    return await handlers.carry_over_pledge(cmd, **deps)
