"""The scoring read model's fold: a rebuild into an empty slot (shared/readmodel/fold.py).

The whole log is applied to the fact rows in memory with the same code the live consumer runs
per batch (``FactBatch``), the fact tables are then loaded in bulk, and every card is computed
once from the rows in memory by the same pure function the live path uses (``card_rows``);
branch statistics are derived from the loaded tables by the live path's own queries. So the
fold and the live consumer end in the same rows by construction, and the tests compare them
(tests/integration/scoring/test_fold_equivalence.py).

Folded apart (two worker processes, partitions split by branch), each worker also computes
the cards of the members whose facts (roster entry, areas, pledges, tallies) all lie in its
partitions, with what every card needs from all partitions (policies, open periods, the
units of branches) handed to it by the rebuild's process (:meth:`ScoringFold.context`). The
cards of members named in two workers' partitions (a transfer) are computed by the rebuild's
process from the merged rows. Each way it is the same ``card_rows`` on the same inputs.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence
from typing import Any, TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import persistence as t
from services.scoring.projections.derive import (
    BranchYear,
    CardInputs,
    MemberYear,
    Tally,
    adopted_policies,
    card_rows,
    recompute_branch_stats,
    recompute_cards,
    review_years,
)
from services.scoring.projections.facts import FactBatch
from services.scoring.projections.rows import Row, RowCache
from shared.eventstore import StoredEvent
from shared.readmodel.fold import FoldConflict, bulk_insert

ROSTER_CHUNK = 2000
"""Roster cards computed per group of statements in a rebuild."""


class Common(TypedDict):
    """What a worker's cards need from every partition (``ScoringFold.context``)."""

    shared: set[str]
    """Members named in more than one worker's partitions: their cards are the parent's."""
    policies: list[Row]
    periods: list[Row]
    """The open periods only."""
    branches: list[Row]


class ScoringFold:
    def __init__(self) -> None:
        self.facts = FactBatch()
        self.events = 0
        self._derived: Sequence[Awaitable[list[dict[str, Any]]]] = ()
        self._shared: set[str] = set()

    def add(self, events: Sequence[StoredEvent]) -> None:
        self.facts.fold(events)
        self.events += len(events)

    async def write(self, session: AsyncSession) -> None:
        # The cards are computed in a thread (and, folded apart, in the workers) while the
        # fact rows go to the database: the database does its part of the load (PostgreSQL's
        # COPY in its own process, SQLite's B-trees without the GIL) while Python computes.
        # Nothing changes the rows meanwhile.
        cards_computed = asyncio.create_task(self._cards())
        try:
            for cache in self.facts.caches():
                await bulk_insert(session, cache.table, cache.rows())
        finally:
            cards = await cards_computed
        await bulk_insert(session, t.cards, cards)
        branches: set[BranchYear] = set(self.facts.touched.branches)
        branches.update((row["branch_id"], row["year"]) for row in cards if row["branch_id"])
        branches |= await self._roster_cards(session, {(r["member_id"], r["year"]) for r in cards})
        if branches:
            await recompute_branch_stats(session, branches)

    async def _roster_cards(self, session: AsyncSession, named: set[MemberYear]) -> set[BranchYear]:
        """The roster cards no fact names (members of a review year with nothing recorded),
        computed from the loaded tables by the live path's own ``recompute_cards``: one
        grouped read of the review years, then the cards in chunks."""
        people = self.facts.people.rows()
        years = await review_years(session, None)
        wanted = sorted(years.keys(people) - named)
        branches: set[BranchYear] = set()
        for start in range(0, len(wanted), ROSTER_CHUNK):
            branches |= await recompute_cards(session, set(wanted[start : start + ROSTER_CHUNK]))
        return branches

    async def _cards(self) -> list[dict[str, Any]]:
        members = self.facts.touched.members
        if not self._derived:
            return await asyncio.to_thread(card_rows, members, self.card_inputs())
        # Folded apart: the workers computed the cards of the members they alone hold; the
        # others (named in two workers' partitions) are computed here from the merged rows.
        here = {key for key in members if key[0] in self._shared}
        cards = await asyncio.to_thread(card_rows, here, self.card_inputs()) if here else []
        for derived in self._derived:
            cards.extend(await derived)
        cards.sort(key=lambda row: (row["member_id"], row["year"]))
        if [(row["member_id"], row["year"]) for row in cards] != sorted(members):
            raise RuntimeError("the cards computed apart are not the cards of the fold")
        return cards

    def export(self) -> dict[str, Any]:
        """Rows per table as tuples in column order, and what they touched."""
        return {
            "tables": {
                cache.table.name: [tuple(row[c] for c in cache.columns) for row in cache.rows()]
                for cache in self.facts.caches()
            },
            "members": self.facts.touched.members,
            "branches": self.facts.touched.branches,
            "events": self.events,
            "seen": self.seen(),
        }

    def seen(self) -> set[str]:
        """The members whose card inputs (roster entry, areas, pledges, tallies) this fold
        holds rows of."""
        facts = self.facts
        seen = {row["person_id"] for row in facts.people.rows()}
        seen.update(row["person_id"] for row in facts.areas.rows())
        seen.update(row["member_id"] for row in facts.pledges.rows())
        seen.update(row["member_id"] for row in facts.tallies.rows())
        seen.update(row["member_id"] for row in facts.exemptions.rows())
        seen.update(row["person_id"] for row in facts.past_members.rows())
        return seen

    def context(self, states: Sequence[dict[str, Any]]) -> Common:
        """For the workers' cards: the members two parts hold rows of, and the rows every
        card may need from any partition (policies, open periods, branches' units)."""
        once: set[str] = set()
        shared: set[str] = set()
        for state in states:
            shared |= once & state["seen"]
            once |= state["seen"]
        self._shared = shared

        def rows(cache: RowCache) -> list[Row]:
            return [
                dict(zip(cache.columns, values, strict=True))
                for state in states
                for values in state["tables"][cache.table.name]
            ]

        facts = self.facts
        return Common(
            shared=shared,
            policies=rows(facts.policies),
            periods=[row for row in rows(facts.periods) if not row["closed"]],
            branches=rows(facts.branches),
        )

    def derive(self, context: Common) -> list[dict[str, Any]]:
        """In a worker: the cards of the members only this part holds rows of."""
        keys = {key for key in self.facts.touched.members if key[0] not in context["shared"]}
        return card_rows(keys, self.card_inputs(context))

    def expect(self, derived: Sequence[Awaitable[list[dict[str, Any]]]]) -> None:
        self._derived = derived

    def absorb(self, state: dict[str, Any]) -> None:
        for cache in self.facts.caches():
            if not cache.put_new(state["tables"][cache.table.name]):
                raise FoldConflict(f"{cache.table.name}: a row from two partitions")
        self.facts.touched.members |= state["members"]
        self.facts.touched.branches |= state["branches"]
        self.events += state["events"]

    def card_inputs(self, common: Common | None = None) -> CardInputs:
        """The cards' inputs from the rows in memory; what every card may need from any
        partition from ``common`` when given (a worker's fold holds only its partitions)."""
        facts = self.facts
        periods: Iterable[Row] = facts.periods.rows() if common is None else common["periods"]
        branches: Iterable[Row] = facts.branches.rows() if common is None else common["branches"]
        policies: Iterable[Row] = facts.policies.rows() if common is None else common["policies"]
        areas = {(row["person_id"], row["year"]): row for row in facts.areas.rows()}
        pledges: dict[MemberYear, list[Row]] = defaultdict(list)
        for row in facts.pledges.rows():
            pledges[(row["member_id"], row["year"])].append(row)
        tallies: dict[MemberYear, list[Tally]] = defaultdict(list)
        for row in facts.tallies.rows():
            tallies[(row["member_id"], row["year"])].append(
                Tally(
                    row["kind"],
                    row["period"],
                    row["status"],
                    row["ballots"],
                    row["result"],
                    row["paired_ballots"],
                    row["all_staff_ballots"],
                    row["satisfied"],
                    row["branch_id"],
                    row["period_id"],
                )
            )
        opened: dict[int, list[Row]] = defaultdict(list)
        for row in periods:
            if not row["closed"]:
                opened[row["year"]].append(row)
        return CardInputs(
            people={row["person_id"]: row for row in facts.people.rows()},
            areas=areas,
            pledges=pledges,
            tallies=tallies,
            opened=opened,
            units={row["branch_id"]: row["unit_id"] for row in branches},
            policies=adopted_policies(policies),
            exemptions={(row["member_id"], row["year"]): row for row in facts.exemptions.rows()},
        )
