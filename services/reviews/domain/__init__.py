"""The reviews service's domain: pure decisions and folds, no I/O, no clock.

Aggregates, one stream each:

- ``ReviewPeriodState``, stream ``review-period-{period_id}`` (``period``);
- ``BallotState``, stream ``review-ballot-{period_id}-{role}-{pseudonym}`` (``ballot``): one
  reviewer's ballot in one period and role, cast and then amended until the period closes.

Each has ``evolve_x(state, event) -> state`` (``state`` is ``None`` before the first event;
``fold`` replays a stream) and ``decide_x(state, command, *, facts..., now) -> list[Event]``.
A decision that refuses raises a ``shared.errors.DomainError`` and emits nothing; one that
finds nothing to change returns ``[]``. Facts from elsewhere (the roster, the policy flag,
the reviewer's pseudonym) come in as arguments: the domain fetches nothing.

``anonymity`` explains how reviewers stay anonymous and how turnout is counted without
linking anyone to their scores; ``tally`` turns a closed period's ballots into the per-member
figures that leave the service (and the disclosure rules they obey); ``results`` holds the
read-side helpers.
"""

from services.reviews.domain.anonymity import (
    MIN_KEY_BYTES,
    ballot_pseudonym,
    not_yet_voted,
    receipt_code,
    receipt_hash,
    reviewer_pseudonym,
)
from services.reviews.domain.ballot import (
    BallotState,
    ballot_stream,
    decide_cast_ballot,
    evolve_ballot,
)
from services.reviews.domain.base import fold
from services.reviews.domain.eligibility import (
    NOT_ON_ROSTER,
    RosterEntry,
    RosterSnapshot,
    as_rated,
    is_eligible_reviewer,
    rated_refusal,
    reviewer_refusal,
)
from services.reviews.domain.period import (
    PERIOD_CLOSED,
    Authority,
    ReviewPeriodState,
    decide_adjust_window,
    decide_close_due,
    decide_close_period,
    decide_open_period,
    evolve_period,
    period_stream,
    scope_covers,
    scope_label,
    scopes_overlap,
)
from services.reviews.domain.results import (
    DEFAULT_MIN_BALLOTS,
    MemberPeriodResult,
    PartResult,
    ResultStatus,
    Turnout,
    member_period_result,
    turnout,
)
from services.reviews.domain.window import Window, default_window

__all__ = [
    "DEFAULT_MIN_BALLOTS",
    "MIN_KEY_BYTES",
    "NOT_ON_ROSTER",
    "PERIOD_CLOSED",
    "Authority",
    "BallotState",
    "MemberPeriodResult",
    "PartResult",
    "ResultStatus",
    "ReviewPeriodState",
    "RosterEntry",
    "RosterSnapshot",
    "Turnout",
    "Window",
    "as_rated",
    "ballot_pseudonym",
    "ballot_stream",
    "decide_adjust_window",
    "decide_cast_ballot",
    "decide_close_due",
    "decide_close_period",
    "decide_open_period",
    "default_window",
    "evolve_ballot",
    "evolve_period",
    "fold",
    "is_eligible_reviewer",
    "member_period_result",
    "not_yet_voted",
    "period_stream",
    "rated_refusal",
    "receipt_code",
    "receipt_hash",
    "reviewer_pseudonym",
    "reviewer_refusal",
    "scope_covers",
    "scope_label",
    "scopes_overlap",
    "turnout",
]
