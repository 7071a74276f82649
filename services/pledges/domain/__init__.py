"""The pledges service's domain: pure decisions and folds, no I/O, no clock.

Aggregates, one stream each:

- roster: ``UnitState``, ``BranchState``, ``PersonState``;
- planning: ``PlanState`` (a branch's plan for a year) and ``NeedState``;
- areas: ``MemberYearState`` (a member's responsibility area for a year);
- pledge: ``PledgeState``, decided in ``lifecycle`` and ``tracking``.

Each has ``evolve_x(state, event) -> state`` (``state`` is ``None`` before the first event;
``fold`` replays a stream) and ``decide_x(state, command, *, facts...) -> list[Event]``.
A decision that refuses raises a ``shared.errors.DomainError`` and emits nothing; one that
finds nothing to change returns ``[]``.
"""

from services.pledges.domain.areas import (
    MemberYearState,
    decide_choose_area,
    decide_lock_area,
    evolve_member_year,
    member_year_stream,
)
from services.pledges.domain.base import fold
from services.pledges.domain.carryover import (
    CarryOver,
    carried_pledge_id,
    decide_carry_over_pledge,
)
from services.pledges.domain.lifecycle import (
    decide_approve_pledge,
    decide_declare_pledge,
    decide_pledge_on_transfer,
    decide_publish_pledge,
    decide_request_revision,
    decide_revise_pledge,
    decide_sign_agreement,
    decide_withdraw_pledge,
)
from services.pledges.domain.planning import (
    NeedState,
    PlanState,
    decide_adopt_plan,
    decide_classify_need,
    decide_link_pledge,
    decide_mark_solved,
    decide_submit_need,
    decide_unlink_pledge,
    evolve_need,
    evolve_plan,
    need_stream,
    plan_stream,
)
from services.pledges.domain.pledge import (
    MADE_PUBLIC,
    LedgerEntry,
    PledgeState,
    PledgeStatus,
    PledgeTerms,
    evolve_pledge,
    is_overdue,
    pledge_stream,
)
from services.pledges.domain.roster import (
    BranchState,
    PersonState,
    UnitState,
    branch_stream,
    decide_appoint_committee_member,
    decide_exempt_member,
    decide_record_departure,
    decide_register_branch,
    decide_register_person,
    decide_register_unit,
    decide_remove_committee_member,
    decide_revoke_exemption,
    decide_transfer_person,
    evolve_branch,
    evolve_person,
    evolve_unit,
    person_stream,
    unit_stream,
)
from services.pledges.domain.tracking import (
    decide_accept_pledge,
    decide_correct_ledger_entry,
    decide_record_ledger_entry,
    decide_request_acceptance,
    decide_return_pledge,
    month_of,
)

__all__ = [
    "MADE_PUBLIC",
    "BranchState",
    "CarryOver",
    "LedgerEntry",
    "MemberYearState",
    "NeedState",
    "PersonState",
    "PlanState",
    "PledgeState",
    "PledgeStatus",
    "PledgeTerms",
    "UnitState",
    "branch_stream",
    "carried_pledge_id",
    "decide_accept_pledge",
    "decide_adopt_plan",
    "decide_appoint_committee_member",
    "decide_approve_pledge",
    "decide_carry_over_pledge",
    "decide_choose_area",
    "decide_classify_need",
    "decide_correct_ledger_entry",
    "decide_declare_pledge",
    "decide_exempt_member",
    "decide_link_pledge",
    "decide_lock_area",
    "decide_mark_solved",
    "decide_pledge_on_transfer",
    "decide_publish_pledge",
    "decide_record_departure",
    "decide_record_ledger_entry",
    "decide_register_branch",
    "decide_register_person",
    "decide_register_unit",
    "decide_remove_committee_member",
    "decide_request_acceptance",
    "decide_request_revision",
    "decide_return_pledge",
    "decide_revise_pledge",
    "decide_revoke_exemption",
    "decide_sign_agreement",
    "decide_submit_need",
    "decide_transfer_person",
    "decide_unlink_pledge",
    "decide_withdraw_pledge",
    "evolve_branch",
    "evolve_member_year",
    "evolve_need",
    "evolve_person",
    "evolve_plan",
    "evolve_pledge",
    "evolve_unit",
    "fold",
    "is_overdue",
    "member_year_stream",
    "month_of",
    "need_stream",
    "person_stream",
    "plan_stream",
    "pledge_stream",
    "unit_stream",
]
