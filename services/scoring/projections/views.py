"""What the queries answer: read models shaped for the API, the exports and the board, with
the Chinese labels people see next to the codes machines use."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.domain import BAND_LABELS, REVIEW_LABELS, BranchResults, objection_refusal
from shared.contracts.pledges import ExemptionReason
from shared.contracts.scoring import ReviewKind

PLEDGE_STATUS_LABELS = {
    "declared": "已申报",
    "revision_requested": "退回修改",
    "approved": "已定诺",
    "agreement_signed": "已签协议",
    "published": "已公开",
    "acceptance_requested": "申请验收",
    "returned": "验收退回",
    "accepted": "已验收",
    "withdrawn": "已撤回",
    "carried_over": "已结转",
}

PUBLIC_PLEDGE_STATUSES = ("published", "acceptance_requested", "returned", "accepted")
"""Pledges the board shows: made public (第五步) and not yet withdrawn."""


class View(BaseModel):
    model_config = ConfigDict(frozen=True)


NO_AREA_LABEL = "未选择责任区"


def exemption_label(reason: str | None, text: str | None) -> str | None:
    """ "免于评议（退休）", with the words given for the reason when there are any."""
    if reason is None:
        return None
    label = ExemptionReason(reason).label
    return f"免于评议（{label}：{text}）" if text else f"免于评议（{label}）"


def missing_labels(missing: list[str], area: str | None, exempt: str | None) -> list[str]:
    """What a card lacks, named (never a silent zero): the responsibility area when none was
    chosen, then each review without a result. An exempt member lacks nothing."""
    if exempt is not None:
        return []
    labels = [NO_AREA_LABEL] if area is None else []
    return labels + [f"缺少{REVIEW_LABELS[ReviewKind(m)]}结果" for m in missing]


class LedgerView(View):
    month: str
    assessment: str
    assessment_label: str
    note: str | None


class PledgeView(View):
    pledge_id: str
    member_id: str
    member_name: str | None
    item: str
    content: str
    quantity: str
    quality_standard: str
    due_date: date
    area: str
    area_label: str
    status: str
    status_label: str
    paired: bool
    published_on: date | None
    accepted_on: date | None
    ledger: list[LedgerView] = []


class PeriodView(View):
    period: str
    label: str
    ballots: int | None
    """None while the period is open (sealed)."""
    status: str
    status_label: str
    result: Decimal | None
    paired_ballots: int | None = None
    all_staff_ballots: int | None = None


class ReviewView(View):
    review: str
    label: str
    weight: Decimal
    min_ballots: int
    annual: Decimal | None
    periods: list[PeriodView]


class ObjectionView(View):
    objection_id: str
    member_id: str
    reason: str
    outcome: str | None
    outcome_label: str


class ObjectionStatusView(View):
    """Whether the member may object to their published result now (公示期内), why not
    otherwise, and their objections of the year with the committee's outcome."""

    may_object: bool
    reason: str | None
    notice_ends_at: datetime | None
    objections: list[ObjectionView]


class CardView(View):
    """The points card (积分卡) of one member and year."""

    member_id: str
    name: str | None
    year: int
    branch_id: str | None
    branch_name: str | None
    unit_id: str | None
    unit_name: str | None
    area: str | None
    area_label: str | None
    policy_id: str
    reviews: list[ReviewView]
    composite: Decimal | None
    band: str | None
    band_label: str | None
    consequences: list[str]
    missing: list[str]
    missing_labels: list[str]
    pledges: list[PledgeView]
    exempt: str | None = None
    """The exemption's reason code (免于评议): no composite, band or missing review then."""
    exempt_label: str | None = None
    objection: ObjectionStatusView | None = None
    """Filled by the card read: may the member object to the published result now."""


class MemberResultView(View):
    member_id: str
    name: str | None
    area_label: str | None
    peer: Decimal | None
    mass: Decimal | None
    branch: Decimal | None
    composite: Decimal | None
    band: str | None
    band_label: str | None
    missing_labels: list[str]
    pledges_total: int
    pledges_completed: int
    policy_id: str
    exempt: str | None = None
    exempt_label: str | None = None


class BandShare(View):
    band: str
    label: str
    count: int
    share: Decimal | None


class AreaCount(View):
    """Signed pledges (定诺: approved or any later state) of one responsibility area."""

    area: str
    label: str
    pledges: int


class StatisticsView(View):
    """DOMAIN.md section 4 for one scope and year; rates come from summed counts."""

    scope: str
    scope_id: str | None
    scope_name: str
    year: int
    branches: int
    members: int = Field(description="花名册上的党员人数（该年度在册，含免评）")
    cards: int = Field(0, description="积分卡张数")
    exempt: int = Field(0, description="免于评议人数（不计入档次和满意率）")
    areas: int
    pairings: int
    pledges_signed: int
    pledges_completed: int
    needs_submitted: int
    needs_solved: int
    mass_satisfied: int
    mass_total: int
    satisfaction_rate: Decimal | None
    bands: list[BandShare]
    without_composite: int
    pledges_signed_by_area: list[AreaCount] = Field(
        default_factory=list,
        description="签订（已定诺）的承诺按责任区分布：七个责任区按固定顺序，"
        "合计等于 pledges_signed",
    )


class PublishedResultView(View):
    member_id: str
    name: str | None
    composite: Decimal | None
    band: str | None
    band_label: str | None
    missing_labels: list[str]
    adjusted: bool


class PublicationView(View):
    """A branch's published results for a year (公示), with objections and their outcome."""

    branch_id: str
    year: int
    policy_id: str
    notice_starts_at: datetime
    notice_ends_at: datetime
    finalized: bool
    results: list[PublishedResultView]
    objections: list[ObjectionView]


OUTCOME_LABELS = {None: "待支委会决定", "confirmed": "维持原结果", "adjusted": "已调整结果"}


def publication_view(state: BranchResults, names: dict[str, str]) -> PublicationView:
    return PublicationView(
        branch_id=state.branch_id,
        year=state.year,
        policy_id=state.policy_id,
        notice_starts_at=state.notice_starts_at,
        notice_ends_at=state.notice_ends_at,
        finalized=state.finalized,
        results=[
            PublishedResultView(
                member_id=result.member_id,
                name=names.get(result.member_id),
                composite=result.composite,
                band=result.band.value if result.band else None,
                band_label=BAND_LABELS[result.band] if result.band else None,
                missing_labels=[f"缺少{REVIEW_LABELS[m]}结果" for m in result.missing],
                adjusted=result.member_id in state.adjusted,
            )
            for result in sorted(state.results.values(), key=lambda r: r.member_id)
        ],
        objections=_objections(state),
    )


def _objections(state: BranchResults, member_id: str | None = None) -> list[ObjectionView]:
    return [
        ObjectionView(
            objection_id=o.objection_id,
            member_id=o.member_id,
            reason=o.reason,
            outcome=o.outcome.value if o.outcome else None,
            outcome_label=OUTCOME_LABELS[o.outcome.value if o.outcome else None],
        )
        for o in sorted(state.objections.values(), key=lambda o: o.objection_id)
        if member_id is None or o.member_id == member_id
    ]


def objection_status(
    state: BranchResults | None, *, branch_id: str, year: int, member_id: str, now: datetime
) -> ObjectionStatusView:
    """The card's objection section: the domain's own rule decides whether the form shows."""
    refusal = objection_refusal(state, branch_id=branch_id, year=year, member_id=member_id, now=now)
    return ObjectionStatusView(
        may_object=refusal is None,
        reason=None if refusal is None else refusal.message,
        notice_ends_at=None if state is None else state.notice_ends_at,
        objections=[] if state is None else _objections(state, member_id),
    )


class CardYear(View):
    """One year of a member's history: the card's outcome and the branch it was kept in."""

    year: int
    branch_id: str | None
    branch_name: str | None
    unit_id: str | None
    area_label: str | None
    composite: Decimal | None
    band: str | None
    band_label: str | None
    missing_labels: list[str]
    pledges_total: int
    pledges_completed: int
    exempt_label: str | None = None


class MemberHistoryView(View):
    """A member's cards across years (历年积分卡), oldest first."""

    member_id: str
    name: str | None
    years: list[CardYear]


class FigureRow(View):
    """One figure across years, with the change from the year before."""

    figure: str
    label: str
    values: list[int | Decimal | None]
    changes: list[int | Decimal | None]


class StatisticsHistoryView(View):
    """A scope's statistics side by side for several years (历年对比)."""

    scope: str
    scope_id: str | None
    scope_name: str
    years: list[int]
    figures: list[FigureRow]
