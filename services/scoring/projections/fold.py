"""The scoring read model's fold: a rebuild into an empty slot (shared/readmodel/fold.py).

The whole log is applied to the fact rows in memory with the same code the live consumer runs
per batch (``FactBatch``), the fact tables are then loaded in bulk, and every card is computed
once from the rows in memory by the same pure function the live path uses (``card_rows``);
branch statistics are derived from the loaded tables by the live path's own queries. So the
fold and the live consumer end in the same rows by construction, and the tests compare them
(tests/integration/scoring/test_fold_equivalence.py).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

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
)
from services.scoring.projections.facts import FactBatch
from services.scoring.projections.rows import Row
from shared.eventstore import StoredEvent
from shared.readmodel.fold import FoldConflict, bulk_insert


class ScoringFold:
    def __init__(self) -> None:
        self.facts = FactBatch()
        self.events = 0

    def add(self, events: Sequence[StoredEvent]) -> None:
        self.facts.fold(events)
        self.events += len(events)

    async def write(self, session: AsyncSession) -> None:
        # The cards are computed in a thread while the fact rows go to the database: the
        # database does its part of the load (PostgreSQL's COPY in its own process, SQLite's
        # B-trees without the GIL) while Python computes. Nothing changes the rows meanwhile.
        cards_computed = asyncio.create_task(
            asyncio.to_thread(card_rows, self.facts.touched.members, self.card_inputs())
        )
        try:
            for cache in self.facts.caches():
                await bulk_insert(session, cache.table, cache.rows())
        finally:
            cards = await cards_computed
        await bulk_insert(session, t.cards, cards)
        branches: set[BranchYear] = set(self.facts.touched.branches)
        branches.update((row["branch_id"], row["year"]) for row in cards if row["branch_id"])
        if branches:
            await recompute_branch_stats(session, branches)

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
        }

    def absorb(self, state: dict[str, Any]) -> None:
        for cache in self.facts.caches():
            for values in state["tables"][cache.table.name]:
                row = dict(zip(cache.columns, values, strict=True))
                if cache.get(*(row[k] for k in cache.key_columns)) is not None:
                    raise FoldConflict(f"{cache.table.name}: a row from two partitions")
                cache.put(row)
        self.facts.touched.members |= state["members"]
        self.facts.touched.branches |= state["branches"]
        self.events += state["events"]

    def card_inputs(self) -> CardInputs:
        facts = self.facts
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
        for row in facts.periods.rows():
            if not row["closed"]:
                opened[row["year"]].append(row)
        return CardInputs(
            people={row["person_id"]: row for row in facts.people.rows()},
            areas=areas,
            pledges=pledges,
            tallies=tallies,
            opened=opened,
            units={row["branch_id"]: row["unit_id"] for row in facts.branches.rows()},
            policies=adopted_policies(facts.policies.rows()),
        )
