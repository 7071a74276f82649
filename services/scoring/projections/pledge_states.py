"""The pledge lifecycle as the card and the board show it: which state each step leaves a
pledge in (mirrors the pledges contract, DOMAIN.md section 2)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_

from shared.contracts import pledges as pl


class PledgeStatus:
    """The pledge states the card and board show (mirrors the pledges contract's lifecycle)."""

    DECLARED = "declared"
    REVISION_REQUESTED = "revision_requested"
    APPROVED = "approved"
    AGREEMENT_SIGNED = "agreement_signed"
    PUBLISHED = "published"
    ACCEPTANCE_REQUESTED = "acceptance_requested"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    WITHDRAWN = "withdrawn"
    # Carried over into the next year (结转): signed in its year, never completed there.
    CARRIED_OVER = "carried_over"


PLEDGE_EVENTS = (
    pl.PledgeDeclared,
    pl.PledgeRevisionRequested,
    pl.PledgeRevised,
    pl.PledgeApproved,
    pl.PairingAgreementSigned,
    pl.PledgePublished,
    pl.PledgeAcceptanceRequested,
    pl.PledgeAccepted,
    pl.PledgeReturned,
    pl.PledgeWithdrawn,
    pl.PledgeHandedOver,
    pl.PledgeCarriedOver,
    pl.PledgeCarriedIn,
)


def pledge_terms(event: pl.PledgeDeclared | pl.PledgeRevised) -> dict[str, Any]:
    return {
        "area": event.area.value,
        "item": event.item,
        "content": event.content,
        "quantity": event.quantity,
        "quality_standard": event.quality_standard,
        "due_date": event.due_date,
        "paired_employee_id": event.paired_employee_id,
    }


def carried_in_row(event: pl.PledgeCarriedIn) -> dict[str, Any]:
    """The row of a pledge carried in from the year before, at the step it starts at: it
    counts in its own year as signed (and as a pairing, if its agreement was signed)."""
    if event.published_on is not None:
        status = PledgeStatus.PUBLISHED
    elif event.agreement is not None:
        status = PledgeStatus.AGREEMENT_SIGNED
    else:
        status = PledgeStatus.APPROVED
    return {
        "pledge_id": event.pledge_id,
        "member_id": event.member_id,
        "branch_id": event.branch_id,
        "year": event.year,
        "status": status,
        "area": event.area.value,
        "item": event.item,
        "content": event.content,
        "quantity": event.quantity,
        "quality_standard": event.quality_standard,
        "due_date": event.due_date,
        "paired_employee_id": event.paired_employee_id,
        "agreement_signed_on": event.agreement.signed_on if event.agreement else None,
        "published_on": event.published_on,
        "accepted_on": None,
    }


def pledge_change(event: Any) -> dict[str, Any]:
    match event:
        case pl.PledgeRevisionRequested():
            return {"status": PledgeStatus.REVISION_REQUESTED}
        case pl.PledgeRevised():
            return {"status": PledgeStatus.DECLARED, **pledge_terms(event)}
        case pl.PledgeApproved():
            return {"status": PledgeStatus.APPROVED, "area": event.area.value}
        case pl.PairingAgreementSigned():
            return {
                "status": PledgeStatus.AGREEMENT_SIGNED,
                "agreement_signed_on": event.signed_on,
                "paired_employee_id": event.employee_id,
            }
        case pl.PledgePublished():
            return {"status": PledgeStatus.PUBLISHED, "published_on": event.published_on}
        case pl.PledgeAcceptanceRequested():
            return {"status": PledgeStatus.ACCEPTANCE_REQUESTED}
        case pl.PledgeAccepted():
            return {"status": PledgeStatus.ACCEPTED, "accepted_on": event.accepted_on}
        case pl.PledgeReturned():
            return {"status": PledgeStatus.RETURNED}
        case pl.PledgeWithdrawn():
            return {"status": PledgeStatus.WITHDRAWN}
        case pl.PledgeHandedOver():
            # Its member's transfer: the new branch's figures count it from now on.
            return {"branch_id": event.to_branch_id}
        case pl.PledgeCarriedOver():
            # It stays in its year, signed and not completed; its successor counts in the next.
            return {"status": PledgeStatus.CARRIED_OVER}
    raise TypeError(f"not a pledge change: {type(event).__name__}")


def made_public(pledges: Table, public: Collection[str]) -> ColumnElement[bool]:
    """The pledges made public (第五步) that the board of their year shows: in one of the
    ``public`` states, or carried over into the next year after being published (the year's
    board keeps them, labelled 已结转)."""
    c = pledges.c
    return or_(
        c.status.in_(list(public)),
        and_(c.status == PledgeStatus.CARRIED_OVER, c.published_on.is_not(None)),
    )
