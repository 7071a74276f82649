"""The pledge aggregate's state, its fold, and the status checks its decisions share.

The decisions are in ``lifecycle`` (declare to publish, and withdrawal) and ``tracking``
(the monthly ledger and acceptance).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import date

from services.pledges.domain.base import unexpected
from shared.contracts.events import Event
from shared.contracts.pledges import (
    CarriedAgreement,
    LedgerAssessment,
    LedgerEntryCorrected,
    LedgerEntryRecorded,
    PairingAgreementSigned,
    PledgeAcceptanceRequested,
    PledgeAccepted,
    PledgeApproved,
    PledgeCarriedIn,
    PledgeCarriedOver,
    PledgeDeclared,
    PledgeHandedOver,
    PledgePublished,
    PledgeReturned,
    PledgeRevised,
    PledgeRevisionRequested,
    PledgeWithdrawn,
    PublicationChannel,
    ResponsibilityArea,
)
from shared.errors import Conflict, NotFound
from shared.labels import LabelledEnum


def pledge_stream(pledge_id: str) -> str:
    return f"pledge-{pledge_id}"


class PledgeStatus(LabelledEnum):
    DECLARED = "declared", "已申报"
    REVISION_REQUESTED = "revision_requested", "退回修改"
    APPROVED = "approved", "已定诺"
    AGREEMENT_SIGNED = "agreement_signed", "已签协议"
    PUBLISHED = "published", "已公开"
    ACCEPTANCE_REQUESTED = "acceptance_requested", "申请验收"
    RETURNED = "returned", "验收退回"
    ACCEPTED = "accepted", "已验收"
    WITHDRAWN = "withdrawn", "已撤回"
    # Not finished in its year and continued in the next by a new pledge (``carried_to``):
    # a terminal status, the pledge stays its year's (signed there, not completed).
    CARRIED_OVER = "carried_over", "已结转"


NOT_YET_APPROVED = frozenset({PledgeStatus.DECLARED, PledgeStatus.REVISION_REQUESTED})
# Public and being carried out: the ledger is kept for these.
TRACKING = frozenset(
    {PledgeStatus.PUBLISHED, PledgeStatus.ACCEPTANCE_REQUESTED, PledgeStatus.RETURNED}
)
# Published, and every step after it: what the whole branch's staff may read (step 5). A
# carried-over pledge is public if it was published before (``projections.access``).
MADE_PUBLIC = TRACKING | {PledgeStatus.ACCEPTED}
# The ledger is kept for the pledges being tracked and, for the months of its year (late
# entries included), for a carried-over one.
LEDGER_KEPT = TRACKING | {PledgeStatus.CARRIED_OVER}
# Approved and not yet accepted: what may be carried over into the next year.
CARRIABLE = TRACKING | {PledgeStatus.APPROVED, PledgeStatus.AGREEMENT_SIGNED}


@dataclass(frozen=True, slots=True)
class PledgeTerms:
    """What the member declared; replaced as a whole when the pledge is revised."""

    area: ResponsibilityArea
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    need_ids: tuple[str, ...]
    paired_employee_id: str | None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    month: str
    assessment: LedgerAssessment
    note: str | None


@dataclass(frozen=True, slots=True)
class PledgeState:
    pledge_id: str
    member_id: str
    # The branch whose committee decides on it: the declaring branch, until the pledge is
    # handed over with its member's transfer (``home_branch_id`` stays: the partition).
    branch_id: str
    year: int
    status: PledgeStatus
    terms: PledgeTerms
    agreement_signed_on: date | None = None
    published_on: date | None = None
    ledger: tuple[LedgerEntry, ...] = ()
    acceptance_requested_on: date | None = None
    accepted_on: date | None = None
    home_branch_id: str = ""
    agreement: CarriedAgreement | None = None
    channels: tuple[PublicationChannel, ...] = ()
    carried_from: str | None = None
    carried_to: str | None = None

    def ledger_entry(self, month: str) -> LedgerEntry | None:
        return next((entry for entry in self.ledger if entry.month == month), None)


def evolve_pledge(state: PledgeState | None, event: Event) -> PledgeState:
    match event:
        case PledgeDeclared() if state is None:
            return PledgeState(
                pledge_id=event.pledge_id,
                member_id=event.member_id,
                branch_id=event.branch_id,
                year=event.year,
                status=PledgeStatus.DECLARED,
                terms=_terms(event),
                home_branch_id=event.branch_id,
            )
        case PledgeCarriedIn() if state is None:
            return _carried_in(event)
    if state is None:
        raise unexpected(state, event)
    match event:
        case PledgeRevisionRequested():
            return replace(state, status=PledgeStatus.REVISION_REQUESTED)
        case PledgeRevised():
            return replace(state, status=PledgeStatus.DECLARED, terms=_terms(event))
        case PledgeApproved():
            return replace(state, status=PledgeStatus.APPROVED)
        case PairingAgreementSigned():
            agreement = CarriedAgreement(
                employee_id=event.employee_id,
                signed_on=event.signed_on,
                problem=event.problem,
                quarterly_work=event.quarterly_work,
                final_goal=event.final_goal,
            )
            return replace(
                state,
                status=PledgeStatus.AGREEMENT_SIGNED,
                agreement_signed_on=event.signed_on,
                agreement=agreement,
            )
        case PledgePublished():
            return replace(
                state,
                status=PledgeStatus.PUBLISHED,
                published_on=event.published_on,
                channels=event.channels,
            )
        case LedgerEntryRecorded() | LedgerEntryCorrected():
            entry = LedgerEntry(month=event.month, assessment=event.assessment, note=event.note)
            others = tuple(e for e in state.ledger if e.month != event.month)
            ledger = tuple(sorted((*others, entry), key=lambda e: e.month))
            return replace(state, ledger=ledger)
        case PledgeAcceptanceRequested():
            return replace(
                state,
                status=PledgeStatus.ACCEPTANCE_REQUESTED,
                acceptance_requested_on=event.requested_on,
            )
        case PledgeReturned():
            return replace(state, status=PledgeStatus.RETURNED, acceptance_requested_on=None)
        case PledgeAccepted():
            return replace(state, status=PledgeStatus.ACCEPTED, accepted_on=event.accepted_on)
        case PledgeWithdrawn():
            return replace(state, status=PledgeStatus.WITHDRAWN)
        case PledgeHandedOver():
            return replace(state, branch_id=event.to_branch_id)
        case PledgeCarriedOver():
            return replace(state, status=PledgeStatus.CARRIED_OVER, carried_to=event.to_pledge_id)
    raise unexpected(state, event)


def _carried_in(event: PledgeCarriedIn) -> PledgeState:
    """A carried-over pledge starts at the step its predecessor had reached: approved, with
    its agreement, published (the member applies for acceptance anew in the new year)."""
    if event.published_on is not None:
        status = PledgeStatus.PUBLISHED
    elif event.agreement is not None:
        status = PledgeStatus.AGREEMENT_SIGNED
    else:
        status = PledgeStatus.APPROVED
    return PledgeState(
        pledge_id=event.pledge_id,
        member_id=event.member_id,
        branch_id=event.branch_id,
        year=event.year,
        status=status,
        terms=PledgeTerms(
            area=event.area,
            item=event.item,
            content=event.content,
            quantity=event.quantity,
            quality_standard=event.quality_standard,
            due_date=event.due_date,
            need_ids=(),
            paired_employee_id=event.paired_employee_id,
        ),
        agreement_signed_on=event.agreement.signed_on if event.agreement else None,
        published_on=event.published_on,
        home_branch_id=event.branch_id,
        agreement=event.agreement,
        channels=event.channels,
        carried_from=event.from_pledge_id,
    )


def is_overdue(state: PledgeState, on: date) -> bool:
    """Whether a public pledge is past its due date on ``on`` without being accepted.

    A member who applied for acceptance by the due date is not late while the committee
    takes its time; one who applied after it still is.
    """
    due = state.terms.due_date
    if on <= due:
        return False
    if state.status in (PledgeStatus.PUBLISHED, PledgeStatus.RETURNED):
        return True
    if state.status is PledgeStatus.ACCEPTANCE_REQUESTED:
        return state.acceptance_requested_on is not None and state.acceptance_requested_on > due
    return False


def existing(state: PledgeState | None, pledge_id: str) -> PledgeState:
    if state is None:
        raise NotFound(f"承诺“{pledge_id}”不存在")
    return state


def require_status(
    state: PledgeState,
    allowed: Collection[PledgeStatus],
    action: str,
    reasons: Mapping[PledgeStatus, str] | None = None,
) -> None:
    """Refuse ``action`` unless the pledge is in an allowed status.

    ``reasons`` gives a more helpful message for the statuses where a generic one would
    leave the user guessing what to do.
    """
    if state.status in allowed:
        return
    reason = (reasons or {}).get(state.status)
    raise Conflict(reason or f"承诺当前状态为“{state.status.label}”，不能{action}")


def _terms(event: PledgeDeclared | PledgeRevised) -> PledgeTerms:
    return PledgeTerms(
        area=event.area,
        item=event.item,
        content=event.content,
        quantity=event.quantity,
        quality_standard=event.quality_standard,
        due_date=event.due_date,
        need_ids=event.need_ids,
        paired_employee_id=event.paired_employee_id,
    )
