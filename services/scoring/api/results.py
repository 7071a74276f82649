"""A branch's results for a year: publish, object, decide, finalize, read."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.scoring import handlers
from services.scoring.api.deps import (
    HandlerDeps,
    Now,
    ReadSession,
    RuntimeDep,
    command,
    new_id,
)
from services.scoring.commands import DecideObjection, RaiseObjection, Reason
from services.scoring.handlers.access import branch_reader
from services.scoring.projections.queries import branch_info, branch_results, names_of
from services.scoring.projections.views import (
    MemberResultView,
    PublicationView,
    publication_view,
)
from shared.auth import CurrentPrincipal
from shared.contracts.scoring import ObjectionOutcome

router = APIRouter(tags=["评议结果"])
BASE = "/branches/{branch_id}/results/{year}"


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: ObjectionOutcome
    reason: str | None = None
    composite: Decimal | None = None


class BranchResultsView(BaseModel):
    branch_id: str
    branch_name: str | None
    year: int
    members: list[MemberResultView]
    publication: PublicationView | None


@router.post(f"{BASE}/publish", status_code=201, response_model=handlers.CommandResult)
async def publish(branch_id: str, year: int, deps: HandlerDeps) -> handlers.CommandResult:
    """Publish the branch's cards (committee); a notice window opens for objections."""
    return await handlers.publish_results(branch_id, year, **deps)


@router.post(f"{BASE}/objections", status_code=201, response_model=handlers.CommandResult)
async def raise_objection(
    branch_id: str, year: int, body: ObjectionRequest, deps: HandlerDeps
) -> handlers.CommandResult:
    """A member objects to their own published result during the notice window."""
    me = deps["principal"].person_id
    objection = command(
        RaiseObjection,
        branch_id=branch_id,
        year=year,
        objection_id=new_id("obj"),
        member_id=me,
        raised_by=me,
        reason=body.reason,
    )
    return await handlers.raise_objection(objection, **deps)


@router.post(
    f"{BASE}/objections/{{objection_id}}/decision",
    status_code=201,
    response_model=handlers.CommandResult,
)
async def decide_objection(
    branch_id: str, year: int, objection_id: str, body: DecisionRequest, deps: HandlerDeps
) -> handlers.CommandResult:
    """The committee confirms the published result or adjusts it, with a reason."""
    decision = command(
        DecideObjection,
        branch_id=branch_id,
        year=year,
        objection_id=objection_id,
        **body.model_dump(),
    )
    return await handlers.decide_objection(decision, **deps)


@router.post(f"{BASE}/finalize", status_code=201, response_model=handlers.CommandResult)
async def finalize(branch_id: str, year: int, deps: HandlerDeps) -> handlers.CommandResult:
    """After the window, with every objection decided: the results become final."""
    return await handlers.finalize(branch_id, year, **deps)


@router.post("/results/finalize-due", response_model=handlers.FinalizeReport)
async def finalize_due(deps: HandlerDeps) -> handlers.FinalizeReport:
    """The operator's check: finalize every publication whose window has closed."""
    return await handlers.finalize_due(**deps)


@router.get(BASE, response_model=BranchResultsView)
async def read_results(
    branch_id: str,
    year: int,
    principal: CurrentPrincipal,
    session: ReadSession,
    rt: RuntimeDep,
) -> BranchResultsView:
    """The branch's current cards and, once published, the publication and objections."""
    info = await branch_info(session, branch_id)
    branch_reader(principal, branch_id, info["unit_id"] if info else None)
    members = await branch_results(session, branch_id, year)
    state = await handlers.read_publication(branch_id, year, db=rt.db, store=rt.store)
    publication = None
    if state is not None:
        names = await names_of(session, set(state.results))
        publication = publication_view(state, names)
    return BranchResultsView(
        branch_id=branch_id,
        branch_name=info["name"] if info else None,
        year=year,
        members=members,
        publication=publication,
    )


BEIJING = timezone(timedelta(hours=8))


@router.get("/review-year", response_model=handlers.ReviewYear)
async def read_review_year(
    _: CurrentPrincipal,
    session: ReadSession,
    rt: RuntimeDep,
    now: Now,
    branch_id: Annotated[
        str | None, Query(max_length=64, description="党支部；不填为全公司")
    ] = None,
) -> handlers.ReviewYear:
    """The year the portal shows by default on review and result pages: last year while its
    results (of this branch, or of any branch) are not final, else this year. Says no more
    than the public board does (whether results are final)."""
    return await handlers.review_year(
        branch_id, now.astimezone(BEIJING).year, db=rt.db, read=session
    )
