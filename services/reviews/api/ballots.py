"""Ballot routes: cast or amend my ballot, read it back. The reviewer is always the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from services.reviews import commands as c
from services.reviews import handlers
from services.reviews.api.deps import HandlerDeps, Now, ReadSession, command
from services.reviews.api.schemas import BallotBody
from services.reviews.handlers import BallotReceipt, reports
from services.reviews.handlers.reports import ballot_members, my_ballot
from services.reviews.projections.views import BallotMembersView, MyBallotView, ReceiptCheckView
from shared.auth import CurrentPrincipal
from shared.contracts.reviews import BallotRole

router = APIRouter(prefix="/periods/{period_id}", tags=["ballots"])
PeriodId = Annotated[str, Path(description="评议期编号")]
RolePath = Annotated[
    BallotRole,
    Path(description="peer 党员互评、all_staff 全体员工、paired 结对员工、branch 党支部评议"),
]


@router.put(
    "/ballots/{role}",
    summary="投票或修改我的选票（评议期结束前以最后一次为准）",
    responses={
        403: {"description": "not an eligible reviewer"},
        404: {"description": "unknown period"},
        409: {"description": "the period is closed"},
        422: {"description": "a line names someone who may not be rated"},
    },
)
async def cast_ballot(
    period_id: PeriodId, role: RolePath, body: BallotBody, deps: HandlerDeps
) -> BallotReceipt:
    cmd = command(
        c.CastBallot,
        period_id=period_id,
        reviewer_id=deps["principal"].person_id,
        role=role,
        scores=[line.model_dump() for line in body.scores],
    )
    return await handlers.cast_ballot(cmd, **deps)


@router.get(
    "/ballot-members/{role}",
    summary="我可以评议的党员（结对员工只见与其结对的党员）",
    responses={404: {"description": "unknown period"}},
)
async def get_ballot_members(
    period_id: PeriodId,
    role: RolePath,
    session: ReadSession,
    principal: CurrentPrincipal,
    now: Now,
) -> BallotMembersView:
    return await ballot_members(session, period_id, role, principal=principal, now=now)


@router.get(
    "/my-ballot/{role}",
    summary="我的选票",
    responses={404: {"description": "unknown period, or no ballot yet"}},
)
async def get_my_ballot(
    period_id: PeriodId,
    role: RolePath,
    session: ReadSession,
    principal: CurrentPrincipal,
    now: Now,
) -> MyBallotView:
    return await my_ballot(session, period_id, role, principal=principal, now=now)


@router.get(
    "/receipts/{code}",
    summary="核验投票回执（只回答是否计入，不含评分）",
    responses={404: {"description": "unknown period"}},
)
async def check_receipt(
    period_id: PeriodId,
    code: Annotated[str, Path(min_length=4, max_length=40, description="投票回执码")],
    session: ReadSession,
    _: CurrentPrincipal,
) -> ReceiptCheckView:
    return await reports.check_receipt(session, period_id, code)
