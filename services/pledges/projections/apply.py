"""Keeps the query tables in step with the events, in the transaction that appends them.

These tables are the pledges service's own data, so they are written synchronously by the
unit of work rather than by a consumer of its own topic: a command's answer and the next
query agree at once. Each event is a fact already decided; applying it never refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from shared.contracts.pledges import (
    BranchRegistered,
    BranchRenamed,
    CommitteeMemberAppointed,
    CommitteeMemberRemoved,
    LedgerEntryCorrected,
    LedgerEntryRecorded,
    MemberExempted,
    MemberExemptionRevoked,
    NeedClassified,
    NeedPledgeLinked,
    NeedPledgeUnlinked,
    NeedSolved,
    NeedSubmitted,
    PairingAgreementSigned,
    PersonDeparted,
    PersonRegistered,
    PersonTransferred,
    PersonUpdated,
    PlanAdopted,
    PlanAmended,
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
    ResponsibilityAreaChanged,
    ResponsibilityAreaChosen,
    ResponsibilityAreaLocked,
    UnitRegistered,
    UnitRenamed,
)
from shared.eventstore import StoredEvent


async def project(session: AsyncSession, stored: Sequence[StoredEvent]) -> None:
    for item in stored:
        await _apply(session, item)


async def _apply(session: AsyncSession, item: StoredEvent) -> None:
    event = item.event
    match event:
        case UnitRegistered():
            await session.execute(insert(t.units).values(unit_id=event.unit_id, name=event.name))
        case UnitRenamed():
            await session.execute(
                update(t.units).where(t.units.c.unit_id == event.unit_id).values(name=event.name)
            )
        case BranchRegistered():
            await session.execute(
                insert(t.branches).values(
                    branch_id=event.branch_id, unit_id=event.unit_id, name=event.name
                )
            )
        case BranchRenamed():
            await session.execute(
                update(t.branches)
                .where(t.branches.c.branch_id == event.branch_id)
                .values(name=event.name)
            )
        case PersonRegistered():
            await session.execute(
                insert(t.people).values(
                    person_id=event.person_id,
                    name=event.name,
                    branch_id=event.branch_id,
                    membership=event.membership.value,
                    post=event.post,
                )
            )
        case PersonUpdated():
            await _person(
                session,
                event.person_id,
                name=event.name,
                membership=event.membership.value,
                post=event.post,
            )
        case PersonTransferred():
            await _person(session, event.person_id, branch_id=event.to_branch_id)
        case PersonDeparted():
            await _person(session, event.person_id, departed_on=event.departed_on)
        case CommitteeMemberAppointed():
            await _person(session, event.person_id, committee_position=event.position.value)
        case CommitteeMemberRemoved():
            await _person(session, event.person_id, committee_position=None)
        case MemberExempted() | MemberExemptionRevoked():
            # Decided on the person's stream and shown on the card (scoring's read model);
            # the pledges service's own pages have no view of them.
            pass
        case PlanAdopted():
            await session.execute(insert(t.plans).values(**event.model_dump()))
        case PlanAmended():
            await session.execute(
                update(t.plans)
                .where(t.plans.c.branch_id == event.branch_id, t.plans.c.year == event.year)
                .values(title=event.title, summary=event.summary, meeting_date=event.meeting_date)
            )
        case NeedSubmitted():
            await session.execute(
                insert(t.needs).values(
                    **event.model_dump(mode="json"), submitted_at=item.envelope.occurred_at
                )
            )
        case NeedClassified():
            await _need(session, event.need_id, area=event.area.value)
        case NeedPledgeLinked():
            await session.execute(
                insert(t.need_pledges).values(need_id=event.need_id, pledge_id=event.pledge_id)
            )
        case NeedPledgeUnlinked():
            await session.execute(
                delete(t.need_pledges).where(
                    t.need_pledges.c.need_id == event.need_id,
                    t.need_pledges.c.pledge_id == event.pledge_id,
                )
            )
        case NeedSolved():
            await _need(
                session, event.need_id, solved_by=event.pledge_id, solved_on=event.solved_on
            )
        case ResponsibilityAreaChosen():
            await session.execute(
                insert(t.member_areas).values(
                    person_id=event.person_id, year=event.year, area=event.area.value
                )
            )
        case ResponsibilityAreaChanged():
            await _member_area(session, event.person_id, event.year, area=event.area.value)
        case ResponsibilityAreaLocked():
            await _member_area(session, event.person_id, event.year, locked_by=event.pledge_id)
        case _:
            await _apply_pledge(session, item)


async def _apply_pledge(session: AsyncSession, item: StoredEvent) -> None:
    event = item.event
    when = item.envelope.occurred_at
    match event:
        case PledgeDeclared():
            await session.execute(
                insert(t.pledges).values(
                    **_terms(event),
                    pledge_id=event.pledge_id,
                    member_id=event.member_id,
                    branch_id=event.branch_id,
                    year=event.year,
                    status="declared",
                    declared_at=when,
                    updated_at=when,
                    version=item.envelope.sequence,
                )
            )
            return
        case PledgeCarriedIn():
            await session.execute(insert(t.pledges).values(**_carried_in(event, item)))
            return
        case PledgeRevisionRequested():
            values: dict[str, Any] = {
                "status": "revision_requested",
                "revision_reasons": list(event.reasons),
            }
        case PledgeRevised():
            values = {**_terms(event), "status": "declared"}
        case PledgeApproved():
            values = {"status": "approved"}
        case PairingAgreementSigned():
            values = {
                "status": "agreement_signed",
                "agreement": event.model_dump(mode="json", exclude={"pledge_id"}),
            }
        case PledgePublished():
            values = {
                "status": "published",
                "channels": [c.value for c in event.channels],
                "published_on": event.published_on,
            }
        case LedgerEntryRecorded():
            await session.execute(
                insert(t.ledger).values(
                    pledge_id=event.pledge_id,
                    month=event.month,
                    assessment=event.assessment.value,
                    note=event.note,
                    late_reason=event.late_reason,
                    recorded_at=when,
                    recorded_by=item.envelope.actor.ref,
                )
            )
            values = {}
        case LedgerEntryCorrected():
            await session.execute(
                update(t.ledger)
                .where(t.ledger.c.pledge_id == event.pledge_id, t.ledger.c.month == event.month)
                .values(
                    assessment=event.assessment.value,
                    note=event.note,
                    correction_reason=event.reason,
                    recorded_at=when,
                    recorded_by=item.envelope.actor.ref,
                )
            )
            values = {}
        case PledgeAcceptanceRequested():
            values = {
                "status": "acceptance_requested",
                "acceptance_summary": event.summary,
                "acceptance_requested_on": event.requested_on,
            }
        case PledgeReturned():
            values = {
                "status": "returned",
                "return_reasons": list(event.reasons),
                "acceptance_requested_on": None,
            }
        case PledgeAccepted():
            values = {
                "status": "accepted",
                "accepted_on": event.accepted_on,
                "acceptance_comment": event.comment,
            }
        case PledgeWithdrawn():
            values = {"status": "withdrawn", "withdrawal_reason": event.reason}
        case PledgeHandedOver():
            values = {"branch_id": event.to_branch_id}
        case PledgeCarriedOver():
            values = {
                "status": "carried_over",
                "carried_to": event.to_pledge_id,
                "carry_reason": event.reason,
            }
        case _:
            raise TypeError(f"no projection for {type(event).__name__}")
    await session.execute(
        update(t.pledges)
        .where(t.pledges.c.pledge_id == item.envelope.data["pledge_id"])
        .values(**values, updated_at=when, version=item.envelope.sequence)
    )


def _carried_in(event: PledgeCarriedIn, item: StoredEvent) -> dict[str, Any]:
    """The row of a pledge carried in from the year before, at the step it starts at (as
    ``domain.pledge`` folds it); its agreement in the shape ``PairingAgreementSigned`` gives."""
    when = item.envelope.occurred_at
    if event.published_on is not None:
        status = "published"
    elif event.agreement is not None:
        status = "agreement_signed"
    else:
        status = "approved"
    agreement = None
    if event.agreement is not None:
        agreement = {
            "member_id": event.member_id,
            **event.agreement.model_dump(mode="json"),
        }
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
        "need_ids": [],
        "paired_employee_id": event.paired_employee_id,
        "agreement": agreement,
        "channels": [c.value for c in event.channels] if event.published_on else None,
        "published_on": event.published_on,
        "carried_from": event.from_pledge_id,
        "declared_at": when,
        "updated_at": when,
        "version": item.envelope.sequence,
    }


def _terms(event: PledgeDeclared | PledgeRevised) -> dict[str, Any]:
    return {
        "area": event.area.value,
        "item": event.item,
        "content": event.content,
        "quantity": event.quantity,
        "quality_standard": event.quality_standard,
        "due_date": event.due_date,
        "need_ids": list(event.need_ids),
        "paired_employee_id": event.paired_employee_id,
    }


async def _person(session: AsyncSession, person_id: str, **values: Any) -> None:
    await session.execute(
        update(t.people).where(t.people.c.person_id == person_id).values(**values)
    )


async def _need(session: AsyncSession, need_id: str, **values: Any) -> None:
    await session.execute(update(t.needs).where(t.needs.c.need_id == need_id).values(**values))


async def _member_area(session: AsyncSession, person_id: str, year: int, **values: Any) -> None:
    await session.execute(
        update(t.member_areas)
        .where(t.member_areas.c.person_id == person_id, t.member_areas.c.year == year)
        .values(**values)
    )
