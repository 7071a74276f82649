"""Command handlers and judged queries of the reviews service: plain async functions, one
transaction per decision, dependencies by keyword (see ``shared.handlers.Dependencies``)."""

from services.reviews.handlers.ballots import BallotReceipt, Outcome, cast_ballot
from services.reviews.handlers.base import CommandResult, unit_of_work
from services.reviews.handlers.periods import (
    adjust_window,
    close_due_periods,
    close_period,
    destroy_expired_keys,
    open_period,
)
from shared.handlers import Dependencies

__all__ = [
    "BallotReceipt",
    "CommandResult",
    "Dependencies",
    "Outcome",
    "adjust_window",
    "cast_ballot",
    "close_due_periods",
    "close_period",
    "destroy_expired_keys",
    "open_period",
    "unit_of_work",
]
