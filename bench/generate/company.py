"""The whole company-year: its shape and the generation of every branch."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date

from bench.generate.model import (
    BRANCHES,
    EMPLOYEES_PER_BRANCH,
    MEMBERS_PER_BRANCH,
    PROBATIONARY_SHARE,
    UNITS,
    YEAR,
    Branch,
    Enterprise,
    _at,
    _Builder,
    _Pledge,
)
from bench.generate.pledges import _branch_pledges, _ledger_and_acceptance
from bench.generate.reviews import _reviews
from services.pledges.domain.roster import unit_stream
from shared.contracts import pledges as pl


def _shape(seed: int, units: int, branches: int) -> tuple[tuple[str, ...], tuple[Branch, ...]]:
    rng = random.Random(f"shape/{seed}")
    unit_ids = tuple(f"U{u + 1:02d}" for u in range(units))
    shaped: list[Branch] = []
    for b in range(branches):
        unit_id = unit_ids[b * units // branches]
        branch_id = f"B{b + 1:03d}"
        n_members = rng.randint(*MEMBERS_PER_BRANCH)
        n_employees = rng.randint(*EMPLOYEES_PER_BRANCH)
        n_probationary = sum(rng.random() < PROBATIONARY_SHARE for _ in range(n_members))
        n_probationary = min(n_probationary, n_members - 3)
        people = [f"{branch_id}P{k + 1:03d}" for k in range(n_employees)]
        members = people[:n_members]
        full = tuple(members[: n_members - n_probationary])
        committee = tuple(rng.sample(full, rng.randint(3, 5)))
        shaped.append(
            Branch(
                branch_id=branch_id,
                unit_id=unit_id,
                full_members=full,
                probationary=tuple(members[n_members - n_probationary :]),
                non_members=tuple(people[n_members:]),
                committee=tuple(sorted(committee)),
            )
        )
    return unit_ids, tuple(shaped)


def generate(
    seed: int,
    *,
    scale: float = 1.0,
    units: int = UNITS,
    branches: int = BRANCHES,
    year: int = YEAR,
) -> Enterprise:
    """The company-year for ``seed``; ``scale`` shrinks the numbers of units and branches
    (each branch keeps its full size, so per-branch figures do not depend on the scale)."""
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    n_units = max(1, round(units * scale))
    n_branches = max(n_units, round(branches * scale))
    unit_ids, shaped = _shape(seed, n_units, n_branches)
    b = _Builder(seed, year)
    for unit_id in unit_ids:
        b.add(
            "pledges",
            unit_stream(unit_id),
            unit_id,
            None,
            _at(date(year, 1, 2)),
            pl.UnitRegistered(unit_id=unit_id, name=f"{unit_id}党委"),
            unit=unit_id,
        )
    pledges: list[_Pledge] = []
    for branch in shaped:
        pledges += _branch_pledges(b, seed, branch, year)
    _ledger_and_acceptance(b, seed, pledges)
    _reviews(b, seed, shaped, pledges, year)
    return Enterprise(seed=seed, year=year, units=unit_ids, branches=shaped, events=b.ordered())


def counts(enterprise: Enterprise) -> dict[str, int]:
    """Units, branches, people and events (in total, per topic and per type)."""
    branches = enterprise.branches
    out: dict[str, int] = {
        "units": len(enterprise.units),
        "branches": len(branches),
        "members": sum(len(b.members) for b in branches),
        "probationary": sum(len(b.probationary) for b in branches),
        "employees": sum(len(b.employees) for b in branches),
        "pledges": sum(isinstance(item.event, pl.PledgeDeclared) for item in enterprise.events),
        "events": len(enterprise.events),
    }
    topics = Counter(f"topic {item.topic}" for item in enterprise.events)
    types = Counter(item.event.type_name for item in enterprise.events)
    out |= dict(sorted(topics.items()))
    out |= dict(sorted(types.items()))
    return out
