"""A ballot keeps what rarely changes in memory (roster entries, pairings, policies, an open
period's key: services/reviews/handlers/cache.py). Whatever changes after the cache is warm
is seen by the very next command, in the instance that changed it and in any other instance
on the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest

from services.reviews.api.deps import clock
from services.reviews.app import create_app
from services.reviews.handlers import cache
from shared.contracts.pledges import PersonDeparted, PersonTransferred
from shared.messaging.embedded_broker import EmbeddedBroker
from tests.integration.reviews.conftest import (
    ADMIN,
    BRANCH,
    OTHER_BRANCH,
    Reviews,
    reviews_settings,
    token_of,
)

pytestmark = pytest.mark.integration


@asynccontextmanager
async def another_instance(
    database_url: str, broker: EmbeddedBroker, unique: str, tmp: Path, first: Reviews
) -> AsyncIterator[Reviews]:
    """A second instance of the service on the same database (its own cache)."""
    app = create_app(reviews_settings(database_url, broker, unique, tmp))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://reviews-2"
        ) as http,
    ):
        second = Reviews(app=app, http=http, now=first.now)
        app.dependency_overrides[clock] = lambda: second.now[0]
        yield second


async def test_a_period_closed_after_the_cache_is_warm_refuses_the_next_ballot(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    first = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert first.status_code == 200, first.text
    assert cache.for_database(reviews.runtime.db).key(period_id) is not None

    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    # The close dropped the key this instance kept.
    assert cache.for_database(reviews.runtime.db).key(period_id) is None

    amend = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 70})
    other = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    assert (amend.status_code, other.status_code) == (409, 409), (amend.text, other.text)


async def test_a_departure_after_the_cache_is_warm_is_seen_by_the_next_ballot(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    warm = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90, "rv-m3": 80})
    assert warm.status_code == 200, warm.text

    await reviews.feed(
        [
            (
                "person-rv-m3",
                PersonDeparted(
                    person_id="rv-m3", branch_id=BRANCH, departed_on=date(2024, 3, 1), reason=None
                ),
            )
        ]
    )

    # 陈静 has left: she may neither vote nor be rated any more.
    rated = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m3": 90})
    voter = await reviews.cast(token_of("rv-m3"), period_id, "peer", {"rv-m1": 90})
    assert rated.status_code == 422, rated.text
    assert voter.status_code == 403, voter.text


async def test_a_transfer_seen_by_another_instance_with_a_warm_cache(
    reviews: Reviews, database_url: str, broker: EmbeddedBroker, unique: str, tmp_path: Path
):
    period_id = await reviews.open("peer", "Q1")
    async with another_instance(database_url, broker, unique, tmp_path / "two", reviews) as two:
        # Both instances know 张伟 as a member of this branch.
        for instance, voter in ((reviews, "rv-m1"), (two, "rv-m3")):
            cast = await instance.cast(token_of(voter), period_id, "peer", {"rv-m2": 90})
            assert cast.status_code == 200, cast.text

        # The first instance learns that 张伟 moved to another branch.
        await reviews.feed(
            [
                (
                    "person-rv-m2",
                    PersonTransferred(
                        person_id="rv-m2", from_branch_id=BRANCH, to_branch_id=OTHER_BRANCH
                    ),
                )
            ]
        )

        # The second instance sees the move: his old branch still rates him in this period
        # (he belonged to it when it opened), but his own ballot in it is refused now (he
        # reviews where he is).
        rated = await two.cast(token_of("rv-sec"), period_id, "peer", {"rv-m2": 90})
        assert rated.status_code == 200, rated.text
        own = await two.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
        assert own.status_code in (403, 409), own.text

        # A period the first instance closes refuses the second instance's next ballot,
        # though it kept the period's key.
        assert cache.for_database(two.runtime.db).key(period_id) is not None
        await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
        late = await two.cast(token_of("rv-m3"), period_id, "peer", {"rv-m1": 60})
        assert late.status_code == 409, late.text
        assert cache.for_database(two.runtime.db).key(period_id) is None


async def test_a_cached_key_that_the_database_no_longer_has_is_not_used(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    warm = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert warm.status_code == 200, warm.text
    # A wrong key in memory (as if the row had changed under it) only costs a read: the
    # database's key decides the pseudonym, so the reviewer still amends their own ballot.
    cache.for_database(reviews.runtime.db).keep_key(period_id, b"x" * 32)
    again = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 70})
    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "amended"
    assert again.json()["receipt"] == warm.json()["receipt"]


async def test_a_ballot_does_not_wake_the_relay(reviews: Reviews, monkeypatch: pytest.MonkeyPatch):
    """Ballots are private: nothing for the relay to publish, so no pass of it per ballot."""
    woken: list[None] = []
    monkeypatch.setattr(reviews.runtime.relay, "wake", lambda: woken.append(None))
    period_id = await reviews.open("peer", "Q1")
    assert len(woken) == 1
    cast = await reviews.cast(token_of("rv-m1"), period_id, "peer", {"rv-m2": 90})
    assert cast.status_code == 200, cast.text
    assert len(woken) == 1
