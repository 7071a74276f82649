"""Command handlers of the pledges service: plain async functions, one transaction per
decision, dependencies by keyword (see ``shared.handlers.Dependencies``)."""

from services.pledges.handlers.base import (
    CommandResult,
    IdempotencyKey,
    UnitOfWork,
    unit_of_work,
)
from services.pledges.handlers.lifecycle import (
    approve_pledge,
    carry_over_pledge,
    declare_pledge,
    publish_pledge,
    request_revision,
    revise_pledge,
    sign_agreement,
    withdraw_pledge,
)
from services.pledges.handlers.planning import (
    adopt_plan,
    choose_area,
    classify_need,
    submit_need,
)
from services.pledges.handlers.roster import (
    appoint_committee_member,
    exempt_member,
    record_departure,
    register_branch,
    register_person,
    register_unit,
    remove_committee_member,
    revoke_exemption,
    transfer_person,
)
from services.pledges.handlers.tracking import (
    accept_pledge,
    correct_ledger_entry,
    record_ledger_entry,
    request_acceptance,
    return_pledge,
)
from shared.handlers import Dependencies

__all__ = [
    "CommandResult",
    "Dependencies",
    "IdempotencyKey",
    "UnitOfWork",
    "accept_pledge",
    "adopt_plan",
    "appoint_committee_member",
    "approve_pledge",
    "carry_over_pledge",
    "choose_area",
    "classify_need",
    "correct_ledger_entry",
    "declare_pledge",
    "exempt_member",
    "publish_pledge",
    "record_departure",
    "record_ledger_entry",
    "register_branch",
    "register_person",
    "register_unit",
    "remove_committee_member",
    "request_acceptance",
    "request_revision",
    "return_pledge",
    "revise_pledge",
    "revoke_exemption",
    "sign_agreement",
    "submit_need",
    "transfer_person",
    "unit_of_work",
    "withdraw_pledge",
]
