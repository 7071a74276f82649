"""Input facts from the pledges, reviews and scoring topics, applied per batch.

From the reviews topic scoring reads periods (opened, closed) and the tallies of closed
periods (``MemberReviewed``); individual ballots never reach it (docs/privacy.md).

Each event changes rows keyed by ids it carries, in log order, in memory; the changed rows
are written once at the end. What an event changes also says which cards and branch
statistics must be recomputed (``Touched``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.projections.pledge_states import (
    PLEDGE_EVENTS,
    PledgeStatus,
    carried_in_row,
    pledge_change,
    pledge_terms,
)
from services.scoring.projections.rows import RowCache
from shared.contracts import pledges as pl
from shared.contracts.reviews import (
    BallotRole,
    MemberReviewed,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
)
from shared.contracts.scoring import ReviewKind, ScoringPolicyAdopted
from shared.eventstore import StoredEvent

log = logging.getLogger(__name__)

BEIJING = timezone(timedelta(hours=8))
"""The organization's day: a person registered on the evening of 31 December (UTC) was on
the roster of the next year only if it was already 1 January in Beijing."""


@dataclass
class Touched:
    members: set[tuple[str, int]] = field(default_factory=set)
    """(member, year) cards to recompute."""
    people: set[str] = field(default_factory=set)
    """Roster changes: every existing card of the person."""
    years: set[int] = field(default_factory=set)
    """Policy changes: every existing card of the year."""
    branches: set[tuple[str, int]] = field(default_factory=set)
    """(branch, year) statistics to recompute."""
    periods: set[str] = field(default_factory=set)
    """Review periods opened or closed: every card of a member in the period's scope."""
    branch_cards: set[str] = field(default_factory=set)
    """Branches registered (their unit decides which unit-wide periods cover them): every
    existing card of the branch, and the roster cards of its members."""
    activity: set[tuple[str, int]] = field(default_factory=set)
    """(branch, year) some member's area, pledge or tally names: the year is a review year of
    the branch, so every member on its roster has a card (docs/scoring.md)."""


class FactBatch:
    def __init__(self) -> None:
        self.units = RowCache(t.units)
        self.branches = RowCache(t.branches)
        self.people = RowCache(t.people)
        self.areas = RowCache(t.areas)
        self.pledges = RowCache(t.pledges)
        self.ledger = RowCache(t.ledger)
        self.needs = RowCache(t.needs)
        self.policies = RowCache(t.policies)
        self.periods = RowCache(t.periods)
        self.tallies = RowCache(t.tallies)
        self.exemptions = RowCache(t.exemptions)
        self.past_members = RowCache(t.past_members)
        self.touched = Touched()

    def caches(self) -> tuple[RowCache, ...]:
        return (
            self.units,
            self.branches,
            self.people,
            self.areas,
            self.pledges,
            self.ledger,
            self.needs,
            self.policies,
            self.periods,
            self.tallies,
            self.exemptions,
            self.past_members,
        )

    async def apply(self, session: AsyncSession, batch: Sequence[StoredEvent]) -> Touched:
        for stored in batch:
            self._want(stored.event)
        for cache in self.caches():
            await cache.load(session)
        for stored in batch:
            self._apply(stored)
        for cache in self.caches():
            await cache.flush(session)
        return self.touched

    def fold(self, batch: Sequence[StoredEvent]) -> None:
        """Apply events to the rows held in memory, reading nothing: a rebuild's fold into an
        empty slot, where every row the log names is made by the log itself."""
        for stored in batch:
            self._apply(stored)

    def _want(self, event: Any) -> None:
        match event:
            case pl.UnitRegistered() | pl.UnitRenamed():
                self.units.want(event.unit_id)
            case pl.BranchRegistered() | pl.BranchRenamed():
                self.branches.want(event.branch_id)
            case pl.PersonRegistered() | pl.PersonUpdated() | pl.PersonTransferred():
                self.people.want(event.person_id)
            case pl.PersonDeparted():
                self.people.want(event.person_id)
            case pl.ResponsibilityAreaChosen() | pl.ResponsibilityAreaChanged():
                self.areas.want(event.person_id, event.year)
            case pl.NeedSubmitted() | pl.NeedClassified() | pl.NeedSolved():
                self.needs.want(event.need_id)
            case pl.LedgerEntryRecorded() | pl.LedgerEntryCorrected():
                self.ledger.want(event.pledge_id, event.month)
                self.pledges.want(event.pledge_id)
            case ScoringPolicyAdopted():
                self.policies.want(event.year)
            case ReviewPeriodOpened() | ReviewPeriodClosed():
                self.periods.want(event.period_id)
            case MemberReviewed():
                self.tallies.want(event.period_id, event.member_id)
            case pl.MemberExempted() | pl.MemberExemptionRevoked():
                self.exemptions.want(event.member_id, event.year)
            case _ if isinstance(event, PLEDGE_EVENTS):
                self.pledges.want(event.pledge_id)

    def _apply(self, stored: StoredEvent) -> None:
        event = stored.event
        # The cases are disjoint (no event class derives from another), so their order is
        # only speed: the most frequent events of a year come first (a fold of the
        # company-year spends more time finding the case than applying it otherwise).
        match event:
            case pl.LedgerEntryRecorded() | pl.LedgerEntryCorrected():
                if self.pledges.get(event.pledge_id) is not None:
                    self.ledger.put(
                        {
                            "pledge_id": event.pledge_id,
                            "month": event.month,
                            "assessment": event.assessment.value,
                            "note": event.note,
                        }
                    )
            case MemberReviewed():
                self._tally(event)
            case _ if isinstance(event, PLEDGE_EVENTS):
                self._pledge(stored)
            case pl.UnitRegistered() | pl.UnitRenamed():
                self.units.put({"unit_id": event.unit_id, "name": event.name})
            case pl.BranchRegistered():
                self.branches.put(
                    {"branch_id": event.branch_id, "unit_id": event.unit_id, "name": event.name}
                )
                self.touched.branch_cards.add(event.branch_id)
            case pl.BranchRenamed():
                self.branches.update(event.branch_id, name=event.name)
            case pl.PersonRegistered():
                self.people.put(
                    {
                        "person_id": event.person_id,
                        "name": event.name,
                        "branch_id": event.branch_id,
                        "membership": event.membership.value,
                        "departed_on": None,
                        "registered_on": stored.envelope.occurred_at.astimezone(BEIJING).date(),
                        "moves": [],
                    }
                )
                self.touched.people.add(event.person_id)
            case pl.PersonUpdated():
                self.people.update(
                    event.person_id, name=event.name, membership=event.membership.value
                )
                self.touched.people.add(event.person_id)
            case pl.PersonTransferred():
                # The day it happened (Beijing) ends the person's time in the old branch:
                # the years that ended before it stay with that branch (``branch_at``).
                person = self.people.get(event.person_id)
                if person is not None:
                    left_on = stored.envelope.occurred_at.astimezone(BEIJING).date()
                    moves = [*person["moves"], [left_on.isoformat(), event.from_branch_id]]
                    self.people.update(event.person_id, branch_id=event.to_branch_id, moves=moves)
                self.past_members.put(
                    {"branch_id": event.from_branch_id, "person_id": event.person_id}
                )
                self.touched.people.add(event.person_id)
            case pl.PersonDeparted():
                self.people.update(event.person_id, departed_on=event.departed_on)
                self.touched.people.add(event.person_id)
            case pl.ResponsibilityAreaChosen() | pl.ResponsibilityAreaChanged():
                branch = stored.envelope.org.branch or ""
                self.areas.put(
                    {
                        "person_id": event.person_id,
                        "year": event.year,
                        "area": event.area.value,
                        "branch_id": branch,
                    }
                )
                self.touched.members.add((event.person_id, event.year))
                if branch:
                    self.touched.branches.add((branch, event.year))
                    self.touched.activity.add((branch, event.year))
            case pl.NeedSubmitted():
                self.needs.put(
                    {
                        "need_id": event.need_id,
                        "branch_id": event.branch_id,
                        "year": event.year,
                        "area": event.suggested_area.value if event.suggested_area else None,
                        "solved_by": None,
                        "solved_on": None,
                    }
                )
                self.touched.branches.add((event.branch_id, event.year))
            case pl.NeedClassified():
                self._need(event.need_id, area=event.area.value)
            case pl.NeedSolved():
                self._need(event.need_id, solved_by=event.pledge_id, solved_on=event.solved_on)
            case ReviewPeriodOpened():
                self.periods.put(
                    {
                        "period_id": event.period_id,
                        "kind": event.kind.value,
                        "period": event.period.value,
                        "year": event.year,
                        "scope_level": event.scope.level.value,
                        "unit_id": event.scope.unit_id,
                        "branch_id": event.scope.branch_id,
                        "closed": False,
                    }
                )
                self.touched.periods.add(event.period_id)
            case ReviewPeriodClosed():
                if self.periods.update(event.period_id, closed=True) is not None:
                    self.touched.periods.add(event.period_id)
            case ScoringPolicyAdopted():
                self._policy(stored, event)
            case pl.MemberExempted():
                self.exemptions.put(
                    {
                        "member_id": event.member_id,
                        "year": event.year,
                        "branch_id": event.branch_id,
                        "reason": event.reason.value,
                        "reason_text": event.reason_text,
                        "evidence": event.evidence,
                        "revoked": False,
                    }
                )
                self.touched.members.add((event.member_id, event.year))
            case pl.MemberExemptionRevoked():
                if self.exemptions.update(event.member_id, event.year, revoked=True) is not None:
                    self.touched.members.add((event.member_id, event.year))

    def _need(self, need_id: str, **values: Any) -> None:
        row = self.needs.update(need_id, **values)
        if row is not None:
            self.touched.branches.add((row["branch_id"], row["year"]))

    def _policy(self, stored: StoredEvent, event: ScoringPolicyAdopted) -> None:
        current = self.policies.get(event.year)
        if current is not None and current["sequence"] >= stored.envelope.sequence:
            return
        self.policies.put(
            {
                "year": event.year,
                "policy_id": event.policy_id,
                "policy": event.policy.model_dump(mode="json"),
                "sequence": stored.envelope.sequence,
            }
        )
        self.touched.years.add(event.year)

    def _pledge(self, stored: StoredEvent) -> None:
        event: Any = stored.event
        row: dict[str, Any] | None
        if isinstance(event, pl.PledgeDeclared):
            row = {
                "pledge_id": event.pledge_id,
                "member_id": event.member_id,
                "branch_id": event.branch_id,
                "year": event.year,
                "status": PledgeStatus.DECLARED,
                **pledge_terms(event),
                "agreement_signed_on": None,
                "published_on": None,
                "accepted_on": None,
                "declared_at": stored.envelope.occurred_at,
            }
            self.pledges.put(row)
        elif isinstance(event, pl.PledgeCarriedIn):
            row = {**carried_in_row(event), "declared_at": stored.envelope.occurred_at}
            self.pledges.put(row)
        else:
            row = self.pledges.update(event.pledge_id, **pledge_change(event))
        if row is None:
            log.warning("scoring: %s for unknown pledge %s", type(event).__name__, event)
            return
        self.touched.members.add((row["member_id"], row["year"]))
        self.touched.branches.add((row["branch_id"], row["year"]))
        if isinstance(event, pl.PledgeHandedOver):
            self.touched.branches.add((event.from_branch_id, row["year"]))
        self.touched.activity.add((row["branch_id"], row["year"]))

    def _tally(self, event: MemberReviewed) -> None:
        parts = {part.role: part.ballots for part in event.parts}
        shown = bool(parts) and event.kind is ReviewKind.MASS
        self.tallies.put(
            {
                "period_id": event.period_id,
                "member_id": event.member_id,
                "year": event.year,
                "kind": event.kind.value,
                "period": event.period.value,
                "branch_id": event.branch_id,
                "status": event.status.value,
                "ballots": event.ballots,
                "result": None if event.result is None else str(event.result),
                # Part counts only where the tally gives the parts (each part meets N).
                "paired_ballots": parts.get(BallotRole.PAIRED, 0) if shown else None,
                "all_staff_ballots": parts.get(BallotRole.ALL_STAFF, 0) if shown else None,
                "satisfied": event.satisfied,
            }
        )
        self.touched.members.add((event.member_id, event.year))
        self.touched.branches.add((event.branch_id, event.year))
        self.touched.activity.add((event.branch_id, event.year))
