"""``/metrics`` as a timing side channel: a scraper must not learn when a ballot was cast."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.integration.reviews.conftest import Reviews, token_of

pytestmark = pytest.mark.integration


def log_position(text: str) -> int:
    match = re.search(r'^suxing_event_log_position\{service="reviews"\} (\S+)$', text, re.M)
    assert match, text[:2000]
    return int(float(match.group(1)))


STEADY = re.compile(r"^(suxing_\w+)(\{[^}]*\})? (\S+)$", re.M)


def figures(text: str) -> set[str]:
    """Every scraped series and value, the scrape's own timing aside."""
    return {m.group(0) for m in STEADY.finditer(text) if "seconds" not in m.group(1)}


async def settled(reviews: Reviews) -> str:
    """Scrape until nothing moves: the opening published, the consumer caught up with what
    earlier tests left on the shared topics, and two scrapes in a row alike."""
    previous: set[str] | None = None
    for _ in range(300):
        text = (await reviews.http.get("/metrics")).text
        current = figures(text)
        quiet = 'suxing_outbox_backlog{service="reviews"} 0.0' in text and not re.search(
            r"^suxing_consumer_lag\{[^}]*\} (?!0\.0$)", text, re.M
        )
        if quiet and current == previous:
            return text
        previous = current
        await asyncio.sleep(0.2)
    raise AssertionError("the reviews service's figures never settled:\n" + text[:3000])


async def test_a_ballot_does_not_move_any_scraped_figure(reviews: Reviews) -> None:
    period_id = await reviews.open("peer", "Q1")
    before = await settled(reviews)
    events_before = await reviews.event_count()
    cast = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    assert cast.status_code == 200, cast.text
    assert await reviews.event_count() == events_before + 1  # the ballot was stored
    after = (await reviews.http.get("/metrics")).text
    assert log_position(after) == log_position(before)
    assert figures(after) == figures(before)  # no other series moved either
