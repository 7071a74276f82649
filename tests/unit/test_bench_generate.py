"""The synthetic enterprise of bench/generate: its shape, determinism and validity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from bench.generate import Enterprise, counts, generate
from shared.contracts import REGISTRY, Event
from shared.contracts import pledges as pl
from shared.contracts.reviews import BallotCast, MemberReviewed

pytestmark = pytest.mark.unit

SCALE = 0.01


@pytest.fixture(scope="module")
def enterprise() -> Enterprise:
    return generate(7, scale=SCALE)


def test_counts_fall_in_the_company_shape(enterprise: Enterprise) -> None:
    table = counts(enterprise)
    assert table["units"] >= 1
    assert table["branches"] >= table["units"]
    assert table["branches"] == len(enterprise.branches)
    for branch in enterprise.branches:
        assert 20 <= len(branch.members) <= 30
        assert 50 <= len(branch.employees) <= 90
        assert set(branch.committee) <= set(branch.full_members)
    share = table["probationary"] / table["members"]
    assert 0.05 <= share <= 0.15
    assert table["members"] <= table["pledges"] <= 2 * table["members"]
    declared: dict[str, int] = defaultdict(int)
    for item in enterprise.events:
        if isinstance(item.event, pl.PledgeDeclared):
            declared[item.event.member_id] += 1
    members = {m for b in enterprise.branches for m in b.members}
    assert set(declared) == members
    assert all(1 <= n <= 2 for n in declared.values())
    assert table["events"] == len(enterprise.events)
    assert table["topic pledges"] + table["topic reviews"] == table["events"]


def test_full_scale_shape_without_generating_it() -> None:
    # Only the shape (cheap): the full company has 57 units and 878 branches.
    from bench.generate import BRANCHES, UNITS

    assert (UNITS, BRANCHES) == (57, 878)


def test_same_seed_same_events_other_seed_other_events(enterprise: Enterprise) -> None:
    again = generate(7, scale=SCALE)
    assert again.canonical() == enterprise.canonical()
    assert generate(8, scale=SCALE).canonical() != enterprise.canonical()


def test_every_event_validates_and_is_registered(enterprise: Enterprise) -> None:
    for item in enterprise.events:
        event = item.event
        assert event.type_name in REGISTRY
        model = REGISTRY.model(event.type_name, event.schema_version)
        assert type(event) is model
        assert model.model_validate(event.model_dump(mode="json")) == event
        assert item.topic in ("pledges", "reviews")
        assert item.key


def test_every_pledge_reaches_acceptance_in_order(enterprise: Enterprise) -> None:
    streams: dict[str, list[str]] = defaultdict(list)
    keys: dict[str, set[str]] = defaultdict(set)
    for item in enterprise.events:
        streams[item.stream].append(item.event.type_name)
        keys[item.stream].add(item.key)
    assert all(len(k) == 1 for k in keys.values())
    pledges = {s: types for s, types in streams.items() if s.startswith("pledge-")}
    assert len(pledges) == counts(enterprise)["pledges"]
    for types in pledges.values():
        assert types[0] == "PledgeDeclared"
        assert types[-2:] == ["PledgeAcceptanceRequested", "PledgeAccepted"]
        approved = types.index("PledgeApproved")
        published = types.index("PledgePublished")
        assert approved < published
        if "PairingAgreementSigned" in types:
            assert approved < types.index("PairingAgreementSigned") < published
        ledger = [i for i, t in enumerate(types) if t == "LedgerEntryRecorded"]
        assert ledger and published < min(ledger) and max(ledger) < len(types) - 2
    # Times never go back within a stream, so list order is a valid sequence order.
    last: dict[str, datetime] = {}
    for item in enterprise.events:
        previous = last.get(item.stream)
        assert previous is None or previous <= item.occurred_at
        last[item.stream] = item.occurred_at


def test_no_reviewer_id_in_review_events(enterprise: Enterprise) -> None:
    people = {p for b in enterprise.branches for p in b.employees}
    ballots = [item for item in enterprise.events if isinstance(item.event, BallotCast)]
    assert ballots
    for item in enterprise.events:
        if item.topic != "reviews":
            continue
        text = item.event.model_dump_json() + item.stream
        # The rated members are public: the ballots' and the tallies' subjects.
        named = {score.member_id for score in getattr(item.event, "scores", ())}
        if isinstance(item.event, MemberReviewed):
            named.add(item.event.member_id)
        leaked = {p for p in people - named if p in text}
        assert not leaked, (item.stream, leaked)
    # Every ballot stream is a different sheet, named by its pseudonym.
    assert len({item.stream for item in ballots}) == len(ballots)


def test_every_stream_replays_through_its_aggregate(enterprise: Enterprise) -> None:
    """The services' own evolve functions accept each stream's events in list order."""
    from services.pledges.domain.areas import evolve_member_year
    from services.pledges.domain.planning import evolve_need, evolve_plan
    from services.pledges.domain.pledge import evolve_pledge
    from services.pledges.domain.roster import evolve_branch, evolve_person, evolve_unit
    from services.reviews.domain.ballot import evolve_ballot
    from services.reviews.domain.period import evolve_period

    evolvers: list[tuple[str, Callable[[Any, Event], Any]]] = [
        ("member-year-", evolve_member_year),
        ("review-period-", evolve_period),
        ("review-ballot-", evolve_ballot),
        ("unit-", evolve_unit),
        ("branch-", evolve_branch),
        ("person-", evolve_person),
        ("plan-", evolve_plan),
        ("need-", evolve_need),
        ("pledge-", evolve_pledge),
    ]
    states: dict[str, Any] = {}
    for item in enterprise.events:
        if item.stream.startswith("review-tally-"):
            continue  # a record of a closed period, not an aggregate: nothing folds it
        evolve = next(fn for prefix, fn in evolvers if item.stream.startswith(prefix))
        states[item.stream] = evolve(states.get(item.stream), item.event)
