"""Command handlers of the scoring service: plain async functions, one transaction per
decision, dependencies by keyword (see ``base.Dependencies``)."""

from services.scoring.handlers.base import CommandResult, Dependencies, unit_of_work
from services.scoring.handlers.policy import adopt_policy, read_policy
from services.scoring.handlers.results import (
    FinalizeReport,
    Pending,
    decide_objection,
    finalize,
    finalize_due,
    publish_results,
    raise_objection,
    read_publication,
)

__all__ = [
    "CommandResult",
    "Dependencies",
    "FinalizeReport",
    "Pending",
    "adopt_policy",
    "decide_objection",
    "finalize",
    "finalize_due",
    "publish_results",
    "raise_objection",
    "read_policy",
    "read_publication",
    "unit_of_work",
]
