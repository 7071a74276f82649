"""The stored turnout counts (``rv_turnout_counts``) against the full recomputation, on
SQLite and PostgreSQL: after the company's seed (periods opened, ballots cast, a voter
departed), an amended and a new ballot, each kind of roster change (transfers either way,
committee seats, membership, joining, pairing signed and withdrawn, a branch registered and
one moved to another unit), a close, a transfer after the close, a destroyed key, a change
of the voting rule, a roster replayed from nothing over existing ballots, and a recount.

Each step compares the stored rows with ``turnout_counts.derive`` (the counts of every
period, role and branch from the roster, the sheets and the keys) and the answer of
``GET /turnout`` for every scope with the recomputation that answered it before the counts
were kept (``handlers.turnout.recomputed_view``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select, text, update

from services.reviews import persistence as t
from services.reviews.api.deps import clock
from services.reviews.handlers import destroy_expired_keys, turnout
from services.reviews.projections import policy, queries, tokens, turnout_counts
from services.scoring.domain.policy import DEFAULT_POLICY as SCORING_DEFAULT
from shared.contracts import Event
from shared.contracts import pledges as pl
from shared.contracts.reviews import ScopeLevel
from shared.contracts.scoring import ScoringPolicyAdopted
from shared.messaging.embedded_broker import EmbeddedBroker
from tests.integration.reviews.conftest import ADMIN, YEAR, Reviews, reviews_settings, stored
from tests.integration.reviews.test_scope_turnout import as_items, seed, without_consumer
from tests.support.company import SCOPES, Company

pytestmark = pytest.mark.integration


@pytest.fixture
async def company_reviews(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> AsyncIterator[tuple[Reviews, Company]]:
    app = without_consumer(reviews_settings(database_url, broker, unique, tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reviews"
        ) as http,
    ):
        reviews = Reviews(app=app, http=http)
        app.dependency_overrides[clock] = lambda: reviews.now[0]
        company = Company(unique, YEAR)
        await seed(reviews, company)
        yield reviews, company


async def same_as_recomputed(reviews: Reviews, company: Company, step: str) -> None:
    async with reviews.runtime.db.reading() as session:
        states = await queries.periods(session, year=YEAR)
        assert states and all(row for row in await session.scalars(select_counted(states))), (
            "every period of the test is counted"
        )
        kept = await turnout_counts.stored(session, [s.period_id for s in states])
        derived, matched = await turnout_counts.derive(session, states)
        views = {
            (level, key): await turnout.recomputed_view(
                session, YEAR, ScopeLevel(level), company.scope_id(level, key)
            )
            for level, key in SCOPES
        }
    # Voted is kept while the period's key exists; after, reads take the ballots.
    assert _comparable(kept, matched) == _comparable(derived, matched), step
    turnout._KEPT.clear()  # the roster is applied here without the consumer's offsets
    for (level, key), expected in views.items():
        scope_id = company.scope_id(level, key)
        url = f"/turnout?year={YEAR}&scope={level}" + (f"&id={scope_id}" if scope_id else "")
        answer = await reviews.ok("GET", url, ADMIN)
        assert answer == expected.model_dump(mode="json"), (step, level, key)


def select_counted(states: list[Any]) -> Any:
    return select(t.periods.c.turnout_counted).where(
        t.periods.c.period_id.in_([s.period_id for s in states])
    )


def _comparable(counts: turnout_counts.Counts, matched: set[str]) -> dict[Any, tuple[int, ...]]:
    out = {}
    for (period_id, role, branch), (eligible, voted, ballots) in counts.items():
        row = (eligible, voted, ballots) if period_id in matched else (eligible, ballots)
        if any(row):
            out[(period_id, role, branch)] = row
    return out


def roster_changes(company: Company) -> list[list[tuple[str, Event]]]:
    """Batches of roster changes, each applied as the consumer applies a batch."""

    def person(branch: str, key: str) -> str:
        return company.person(branch, key)

    def at(event: Event) -> tuple[str, Event]:
        return (f"person-{getattr(event, 'person_id', 'x')}", event)

    new_branch = f"{company.branch('b3')}-new"
    newcomer = f"{person('b3', 'm1')}-new"
    return [
        # A voter of P1 (b1) and of P2 transfers to b2; a member of b2 to b3 and back.
        [
            at(
                pl.PersonTransferred(
                    person_id=person("b1", "m1"),
                    from_branch_id=company.branch("b1"),
                    to_branch_id=company.branch("b2"),
                )
            ),
        ],
        [
            at(
                pl.PersonTransferred(
                    person_id=person("b2", "m1"),
                    from_branch_id=company.branch("b2"),
                    to_branch_id=company.branch("b3"),
                )
            ),
            at(
                pl.PersonTransferred(
                    person_id=person("b2", "m1"),
                    from_branch_id=company.branch("b3"),
                    to_branch_id=company.branch("b2"),
                )
            ),
        ],
        # Committee: a member of b3 appointed (branch review), b3's secretary removed.
        [
            at(
                pl.CommitteeMemberAppointed(
                    person_id=person("b3", "m2"),
                    branch_id=company.branch("b3"),
                    position=next(iter(pl.CommitteePosition)),
                )
            ),
            at(
                pl.CommitteeMemberRemoved(
                    person_id=person("b3", "sec"), branch_id=company.branch("b3")
                )
            ),
        ],
        # Membership: an employee of b1 becomes a probationary member, a probationary a full.
        [
            at(
                pl.PersonUpdated(
                    person_id=person("b1", "e2"),
                    name="孙丽",
                    membership=pl.Membership.PROBATIONARY_MEMBER,
                    post=None,
                )
            ),
            at(
                pl.PersonUpdated(
                    person_id=person("b1", "pm"),
                    name="周敏",
                    membership=pl.Membership.FULL_MEMBER,
                    post=None,
                )
            ),
        ],
        # A newcomer joins b3; a branch is registered in u1 and someone moves there.
        [
            at(
                pl.PersonRegistered(
                    person_id=newcomer,
                    name="新人",
                    branch_id=company.branch("b3"),
                    membership=pl.Membership.FULL_MEMBER,
                    post=None,
                )
            ),
            (
                "branch-new",
                pl.BranchRegistered(
                    branch_id=new_branch, unit_id=company.unit("u1"), name="新支部"
                ),
            ),
            at(
                pl.PersonTransferred(
                    person_id=person("b3", "e2"),
                    from_branch_id=company.branch("b3"),
                    to_branch_id=new_branch,
                )
            ),
        ],
        # Pairing: b2's employee signs with b2's member (paired role in u1's mass review);
        # b1's pairing is withdrawn.
        [
            (
                "pledge-new",
                pl.PairingAgreementSigned(
                    pledge_id=f"{company.pledge(5)}",
                    member_id=person("b2", "m1"),
                    employee_id=person("b2", "e1"),
                    signed_on=date(YEAR, 3, 10),
                    problem="问题",
                    quarterly_work=pl.QuarterlyWork(q1="开展"),
                    final_goal="解决",
                ),
            ),
            ("pledge-1", pl.PledgeWithdrawn(pledge_id=company.pledge(1), reason=None)),
        ],
        # A branch moves to another unit (out of u1's mass review, with its voters).
        [
            (
                "branch-b2",
                pl.BranchRegistered(
                    branch_id=company.branch("b2"),
                    unit_id=company.unit("u2"),
                    name="采油二队党支部",
                ),
            ),
        ],
    ]


async def test_the_stored_counts_equal_the_recomputation_at_every_step(
    company_reviews: tuple[Reviews, Company],
) -> None:
    reviews, company = company_reviews
    await same_as_recomputed(reviews, company, "seed")

    p1, p2 = company.period("P1"), company.period("P2")
    amend = {"scores": [{"member_id": company.person("b1", "m2"), "score": 70}]}
    await reviews.ok("PUT", f"/periods/{p1}/ballots/peer", company.token("b1", "m1"), amend)
    await same_as_recomputed(reviews, company, "amended")
    cast = {"scores": [{"member_id": company.person("b1", "m1"), "score": 88}]}
    await reviews.ok("PUT", f"/periods/{p1}/ballots/peer", company.token("b1", "m2"), cast)
    b2 = {"scores": [{"member_id": company.person("b2", "sec"), "score": 91}]}
    await reviews.ok("PUT", f"/periods/{p2}/ballots/all_staff", company.token("b2", "m1"), b2)
    await same_as_recomputed(reviews, company, "cast")

    batches = roster_changes(company)
    for n, batch in enumerate(batches[:4]):
        await reviews.feed(batch)
        await same_as_recomputed(reviews, company, f"roster batch {n}")

    await reviews.ok("POST", f"/periods/{p1}/close", ADMIN)
    await same_as_recomputed(reviews, company, "closed")
    for n, batch in enumerate(batches[4:], start=4):
        await reviews.feed(batch)
        await same_as_recomputed(reviews, company, f"roster batch {n}, after the close")

    await destroy_expired_keys(
        db=reviews.runtime.db, now=reviews.now[0] + timedelta(days=1), retention=timedelta(0)
    )
    await same_as_recomputed(reviews, company, "key destroyed")
    await reviews.feed([batches[0][0]])  # transferred again: only eligible moves in P1
    back = pl.PersonTransferred(
        person_id=company.person("b1", "m1"),
        from_branch_id=company.branch("b2"),
        to_branch_id=company.branch("b1"),
    )
    await reviews.feed([(f"person-{back.person_id}", back)])
    await same_as_recomputed(reviews, company, "transfer after the key is destroyed")

    policy = SCORING_DEFAULT.model_copy(
        update={"probationary_members_vote": not SCORING_DEFAULT.probationary_members_vote}
    )
    adopted = ScoringPolicyAdopted(year=YEAR, policy_id="rv-policy-2", policy=policy)
    await reviews.feed([("scoring-policy", adopted)])
    await same_as_recomputed(reviews, company, "voting rule changed")

    # The roster replayed from nothing over the ballots already cast (a rebuild in place
    # before its recount, or a roster that arrives after the ballots): what a person
    # joining adds, with their ballot sheets found by their pseudonyms.
    async with reviews.runtime.db.transaction() as session:
        for table in reversed(t.ROSTER_TABLES):
            await session.execute(delete(table))
        await session.execute(update(t.turnout_counts).values(eligible=0, voted=0))
    await reviews.feed(as_items(company.roster_events() + company.pledge_events()))
    await reviews.feed(as_items(company.departures()))
    for batch in batches:
        await reviews.feed(batch)
    await reviews.feed([(f"person-{back.person_id}", back), ("scoring-policy", adopted)])
    await same_as_recomputed(reviews, company, "roster replayed")

    async with reviews.runtime.db.transaction() as session:
        await session.execute(update(t.turnout_counts).values(eligible=99, voted=99))
        await turnout_counts.recount(session)
    await same_as_recomputed(reviews, company, "recounted")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_policy_waits_for_the_roster_lock_before_it_writes_anything(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
) -> None:
    """A roster batch holds the turnout lock and then writes the roster token; a policy
    that wrote the token before it asked for the lock deadlocked with it on PostgreSQL
    (seen in CI). Here the policy must wait at the lock with nothing written, so the roster
    batch finishes and then the policy does."""
    # PostgreSQL only: SQLite writers are serial, there is no lock order to keep.
    app = without_consumer(reviews_settings(database_url, broker, unique, tmp_path))
    async with app.router.lifespan_context(app):
        db = app.state.runtime.db
        policy_rule = SCORING_DEFAULT.model_copy(
            update={"probationary_members_vote": not SCORING_DEFAULT.probationary_members_vote}
        )
        adopted = ScoringPolicyAdopted(year=YEAR, policy_id=f"p-{unique}", policy=policy_rule)
        async with db.transaction() as roster_batch:
            await turnout_counts.serialize(roster_batch)

            async def adopt() -> None:
                async with db.transaction() as session:
                    await policy.apply(session, stored([("scoring-policy", adopted)]))

            adopting = asyncio.create_task(adopt())
            async with db.reading() as probe:
                for _ in range(500):
                    waiting = await probe.scalar(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    )
                    if waiting or adopting.done():
                        break
                    await asyncio.sleep(0.01)
            assert not adopting.done(), "the policy did not wait for the roster lock"
            await roster_batch.execute(text("SET LOCAL lock_timeout = '5s'"))
            await tokens.bump(roster_batch)
        await asyncio.wait_for(adopting, 10)
        async with db.reading() as session:
            assert (await queries.policy(session, YEAR)).probationary_members_vote is (
                policy_rule.probationary_members_vote
            )
