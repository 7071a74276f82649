"""Command handlers and judged queries of the reviews service: plain async functions, one
transaction per decision, dependencies by keyword (see ``base.Dependencies``)."""

from services.reviews.handlers.ballots import BallotReceipt, Outcome, cast_ballot
from services.reviews.handlers.base import CommandResult, Dependencies, unit_of_work
from services.reviews.handlers.periods import close_due_periods, close_period, open_period

__all__ = [
    "BallotReceipt",
    "CommandResult",
    "Dependencies",
    "Outcome",
    "cast_ballot",
    "close_due_periods",
    "close_period",
    "open_period",
    "unit_of_work",
]
