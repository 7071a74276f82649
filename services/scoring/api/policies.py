"""Scoring policy as data: adopted by the organization department, read by anyone."""

from __future__ import annotations

from fastapi import APIRouter

from services.scoring import handlers
from services.scoring.api.deps import HandlerDeps, RuntimeDep
from services.scoring.commands import AdoptScoringPolicy
from services.scoring.domain import AdoptedPolicy
from shared.auth import CurrentPrincipal

router = APIRouter(tags=["评分办法"])


@router.post("/policies", status_code=201, response_model=handlers.CommandResult)
async def adopt_policy(body: AdoptScoringPolicy, deps: HandlerDeps) -> handlers.CommandResult:
    """Adopt the scoring policy for a year (organization department); cards are recomputed."""
    return await handlers.adopt_policy(body, **deps)


@router.get("/policies/{year}", response_model=AdoptedPolicy)
async def policy_in_force(year: int, rt: RuntimeDep, _: CurrentPrincipal) -> AdoptedPolicy:
    """The policy in force for the year: the last one adopted, or the seed's default."""
    return await handlers.read_policy(year, db=rt.db, store=rt.store)
