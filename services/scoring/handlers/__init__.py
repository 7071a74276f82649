"""Command handlers of the scoring service: plain async functions, one transaction per
decision, dependencies by keyword (see ``shared.handlers.Dependencies``)."""

from services.scoring.handlers.base import unit_of_work
from services.scoring.handlers.policy import adopt_policy, read_policy
from services.scoring.handlers.results import (
    FinalizeReport,
    Pending,
    ReviewYear,
    decide_objection,
    finalize,
    finalize_due,
    publish_results,
    raise_objection,
    read_publication,
    review_year,
)
from shared.handlers import CommandResult, Dependencies

__all__ = [
    "CommandResult",
    "Dependencies",
    "FinalizeReport",
    "Pending",
    "ReviewYear",
    "adopt_policy",
    "decide_objection",
    "finalize",
    "finalize_due",
    "publish_results",
    "raise_objection",
    "read_policy",
    "read_publication",
    "review_year",
    "unit_of_work",
]
