"""The year's review periods and ballots, under per-period pseudonyms, and each closed
period's tallies (``MemberReviewed``) as the reviews service records them when it closes.
Ballots stay in the reviews service's store; the tallies are what scoring reads."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from bench.generate.model import (
    _HALF_END,
    _QUARTER_END,
    COMPANY,
    Branch,
    _at,
    _Builder,
    _Pledge,
    period_key,
)
from services.reviews.domain.anonymity import ballot_pseudonym
from services.reviews.domain.ballot import ballot_stream
from services.reviews.domain.period import evolve_period, period_stream
from services.reviews.domain.tally import tally_member, tally_stream
from services.reviews.policy import SEED_POLICY_ID
from shared.contracts.reviews import (
    BallotCast,
    BallotRole,
    ClosingReason,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import HALF_YEARS, QUARTERS, SEED_POLICY, ReviewKind


def _reviews(
    b: _Builder, seed: int, branches: Sequence[Branch], pledges: Sequence[_Pledge], year: int
) -> None:
    rng = random.Random(f"reviews/{seed}")
    paired_with: dict[str, set[str]] = {}
    for p in pledges:
        if p.paired is not None:
            paired_with.setdefault(p.paired, set()).add(p.member_id)
    company = ReviewScope(level=ScopeLevel.COMPANY, unit_id=None, branch_id=None)
    slots = [(ReviewKind.PEER, q, _QUARTER_END[q]) for q in QUARTERS]
    slots += [
        (kind, h, _HALF_END[h]) for h in HALF_YEARS for kind in (ReviewKind.MASS, ReviewKind.BRANCH)
    ]
    slots.sort(key=lambda slot: slot[2])
    for kind, period, month in slots:
        period_id = f"{year}-{kind.value}-{period.value}"
        opened = _at(date(year, month, 10))
        closed = _at(date(year, month, 28))
        stream = period_stream(period_id)
        b.add(
            "reviews",
            stream,
            COMPANY,
            None,
            opened,
            ReviewPeriodOpened(
                period_id=period_id,
                kind=kind,
                period=period,
                year=year,
                scope=company,
                deadline=None,
            ),
        )
        key = period_key(seed, period_id)
        given: dict[str, dict[str, dict[BallotRole, list[Decimal]]]] = {}
        for branch in branches:
            by_member = given.setdefault(branch.branch_id, {m: {} for m in branch.members})
            rated = branch.members
            if kind is ReviewKind.PEER:
                sheets = [(BallotRole.PEER, r, rated) for r in branch.full_members]
            elif kind is ReviewKind.BRANCH:
                sheets = [(BallotRole.BRANCH, r, rated) for r in branch.committee]
            else:
                sheets = [(BallotRole.ALL_STAFF, r, rated) for r in branch.employees]
                sheets += [
                    (BallotRole.PAIRED, r, tuple(sorted(paired_with[r])))
                    for r in branch.non_members
                    if r in paired_with
                ]
            for role, reviewer, members in sheets:
                scores = tuple(
                    b.score(member, rng.randint(55, 100))
                    for member in members
                    if member != reviewer
                )
                for line in scores:
                    by_member.setdefault(line.member_id, {}).setdefault(role, []).append(line.score)
                pseudonym = ballot_pseudonym(key, period_id, reviewer, role)
                b.add(
                    "reviews",
                    ballot_stream(period_id, role, pseudonym),
                    branch.branch_id,
                    branch,
                    opened + timedelta(minutes=rng.randint(1, 60 * 24 * 14)),
                    BallotCast(
                        period_id=period_id,
                        period=period,
                        year=year,
                        branch_id=branch.branch_id,
                        role=role,
                        reviewer_pseudonym=pseudonym,
                        scores=scores,
                    ),
                )
        b.add(
            "reviews",
            stream,
            COMPANY,
            None,
            closed,
            ReviewPeriodClosed(period_id=period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER),
        )
        state = replace(
            evolve_period(
                None,
                ReviewPeriodOpened(
                    period_id=period_id,
                    kind=kind,
                    period=period,
                    year=year,
                    scope=company,
                    deadline=None,
                ),
            ),
            closed=True,
        )
        for branch in branches:
            for member, by_role in sorted(given[branch.branch_id].items()):
                tally = tally_member(
                    state,
                    member_id=member,
                    branch_id=branch.branch_id,
                    scores=by_role,
                    policy_id=SEED_POLICY_ID,
                    policy=SEED_POLICY,
                )
                tallies = tally_stream(period_id, branch.branch_id)
                b.add("reviews", tallies, branch.branch_id, branch, closed, tally)
