"""A pledge's history (承诺历程), read from its own stream in the event store: every step
with who took it (name and role), when (Beijing time), and what it said.

The stream is the record, so the timeline needs no table of its own and cannot drift from
what happened. A reader sees it when they may read the pledge (``queries.pledge`` decides,
an unreadable pledge is answered like an unknown one), and the committee's review notes and
the reasons given (sent back, returned, corrected, carried over, withdrawn, late) only when
they may read those notes (``access.reads_review_notes``): others see the step, who and when.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pledges import persistence as t
from services.pledges.domain.pledge import pledge_stream
from services.pledges.projections import queries
from services.pledges.projections.access import reads_review_notes
from shared.auth import Principal, Role
from shared.contracts import Event
from shared.contracts.pledges import (
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
)
from shared.eventstore import EventStore

BEIJING = timezone(timedelta(hours=8))

STEP_LABELS: dict[type[Event], str] = {
    PledgeDeclared: "申报承诺",
    PledgeRevisionRequested: "退回修改",
    PledgeRevised: "修改后重新提交",
    PledgeApproved: "通过定诺",
    PairingAgreementSigned: "签订结对协议",
    PledgePublished: "公开承诺",
    LedgerEntryRecorded: "记录台账",
    LedgerEntryCorrected: "更正台账",
    PledgeAcceptanceRequested: "申请验诺",
    PledgeAccepted: "验诺通过",
    PledgeReturned: "验诺退回",
    PledgeWithdrawn: "撤回承诺",
    PledgeHandedOver: "移交新党支部",
    PledgeCarriedOver: "结转下一年度",
    PledgeCarriedIn: "由上一年度结转",
}
_ROLE_LABELS = {role.value: role.label for role in Role}


class TimelineStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime = Field(description="when it was recorded (UTC)")
    at_label: str = Field(description="北京时间，如 2026-03-05 14:20")
    step: str = Field(description="the event type")
    label: str = Field(description="步骤")
    actor_name: str | None = Field(description="经办人姓名（花名册）；系统操作为空")
    actor_role: str = Field(description="经办人身份")
    detail: str | None = Field(description="内容（台账月份与评价、公开方式、接收支部等）")
    reason: str | None = Field(
        description="理由、意见或说明；只有党员本人、支委会和组织部可见，其他人为空"
    )


class PledgeTimeline(BaseModel):
    model_config = ConfigDict(frozen=True)

    pledge_id: str
    item: str
    steps: list[TimelineStep]


def _detail(event: Event, names: dict[str, str]) -> str | None:
    match event:
        case LedgerEntryRecorded() | LedgerEntryCorrected():
            return f"{event.month} {event.assessment.label}"
        case PairingAgreementSigned():
            return f"结对员工：{names.get(event.employee_id, event.employee_id)}"
        case PledgePublished():
            return "公开方式：" + "、".join(channel.label for channel in event.channels)
        case PledgeHandedOver():
            return f"移交至：{names.get(event.to_branch_id, event.to_branch_id)}"
        case PledgeDeclared() | PledgeRevised():
            return event.item
    return None


def _reason(event: Event) -> str | None:
    match event:
        case PledgeRevisionRequested() | PledgeReturned():
            return "；".join(event.reasons)
        case LedgerEntryRecorded():
            late = f"补记：{event.late_reason}" if event.late_reason else None
            return "；".join(p for p in (event.note, late) if p) or None
        case LedgerEntryCorrected():
            return "；".join(p for p in (event.note, f"更正原因：{event.reason}") if p)
        case PledgeAccepted():
            return event.comment
        case PledgeWithdrawn():
            return event.reason
        case PledgeCarriedOver():
            return event.reason
    return None


async def pledge_timeline(
    session: AsyncSession, store: EventStore, pledge_id: str, *, reader: Principal
) -> PledgeTimeline:
    """The pledge's steps in order; ``NotFound`` when the reader may not read the pledge."""
    pledge = await queries.pledge(session, pledge_id, reader=reader)
    notes = reads_review_notes(reader, member_id=pledge.member_id, branch_id=pledge.branch_id)
    stored = [
        item
        for item in await store.load(session, pledge_stream(pledge_id))
        if type(item.event) in STEP_LABELS
    ]
    refs = {item.envelope.actor.ref for item in stored}
    for item in stored:
        match item.event:
            case PairingAgreementSigned():
                refs.add(item.event.employee_id)
            case PledgeHandedOver():
                refs.add(item.event.to_branch_id)
    names = await _names(session, refs)
    return PledgeTimeline(
        pledge_id=pledge_id,
        item=pledge.item,
        steps=[
            TimelineStep(
                at=item.envelope.occurred_at,
                at_label=f"{item.envelope.occurred_at.astimezone(BEIJING):%Y-%m-%d %H:%M}",
                step=item.event.type_name,
                label=STEP_LABELS[type(item.event)],
                actor_name=names.get(item.envelope.actor.ref),
                actor_role=_ROLE_LABELS.get(item.envelope.actor.role, item.envelope.actor.role),
                detail=_detail(item.event, names),
                reason=_reason(item.event) if notes else None,
            )
            for item in stored
        ],
    )


async def _names(session: AsyncSession, refs: set[str]) -> dict[str, str]:
    """Names of the people and branches ``refs`` names (anything else stays unnamed)."""
    wanted = sorted(refs)
    people = await session.execute(
        select(t.people.c.person_id, t.people.c.name).where(t.people.c.person_id.in_(wanted))
    )
    branches = await session.execute(
        select(t.branches.c.branch_id, t.branches.c.name).where(t.branches.c.branch_id.in_(wanted))
    )
    return {ref: name for ref, name in [*people, *branches]}
