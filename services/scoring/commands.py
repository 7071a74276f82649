"""Commands of the scoring service: what a caller asks for, validated, not yet decided."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from shared.contracts.scoring import (
    ObjectionOutcome,
    Ref,
    ReviewKind,
    Score,
    ScoringPolicy,
    Year,
)
from shared.contracts.scoring import Reason as EventReason
from shared.text import text_problem


def _typed(value: str) -> str:
    # Checked where people type it, not in the event contract: events already stored stay
    # readable whatever they hold.
    if (problem := text_problem(value)) is not None:
        raise ValueError(f"理由{problem}")
    return unicodedata.normalize("NFC", value)


Reason = Annotated[EventReason, AfterValidator(_typed)]
"""A reason as a request may give it: the event's rules, and no invisible or control text."""


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AdoptScoringPolicy(Command):
    year: Year
    policy_id: Ref
    policy: ScoringPolicy


class MemberComposite(Command):
    """One member's computed composite as it goes into a publication (bands are derived)."""

    member_id: Ref
    composite: Score | None
    missing: tuple[ReviewKind, ...] = ()

    @model_validator(mode="after")
    def _explained(self) -> Self:
        if self.composite is None and not self.missing:
            raise ValueError("没有综合得分时必须说明缺少哪项评议")
        if self.composite is not None and self.missing:
            raise ValueError("有综合得分时不应列出缺少的评议")
        return self


class PublishBranchResults(Command):
    """Make a branch's results public. ``policy_id`` names the policy the composites were
    computed under, so a policy adopted in between is noticed instead of published over."""

    branch_id: Ref
    year: Year
    policy_id: Ref
    results: tuple[MemberComposite, ...]

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if not self.results:
            raise ValueError("公示的结果不能为空")
        ids = [result.member_id for result in self.results]
        if len(ids) != len(set(ids)):
            raise ValueError("同一党员的结果只能出现一次")
        return self


class RaiseObjection(Command):
    """``raised_by`` is the authenticated member; only their own result may be objected to."""

    branch_id: Ref
    year: Year
    objection_id: Ref
    member_id: Ref
    raised_by: Ref
    reason: Reason


class DecideObjection(Command):
    """Confirm the published result, or adjust it with a reason and a new composite."""

    branch_id: Ref
    year: Year
    objection_id: Ref
    outcome: ObjectionOutcome
    reason: Reason | None = None
    composite: Score | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.outcome is ObjectionOutcome.ADJUSTED:
            if self.reason is None:
                raise ValueError("调整结果必须说明理由")
            if self.composite is None:
                raise ValueError("调整结果必须给出新的综合得分")
        elif self.composite is not None:
            raise ValueError("维持原结果时不能给出新的综合得分")
        return self


class FinalizeYearResults(Command):
    branch_id: Ref
    year: Year
