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


async def test_a_ballot_does_not_move_any_scraped_figure(reviews: Reviews) -> None:
    period_id = await reviews.open("peer", "Q1")
    for _ in range(100):  # the opening is published first: the figures then stand still
        before = (await reviews.http.get("/metrics")).text
        if 'suxing_outbox_backlog{service="reviews"} 0.0' in before:
            break
        await asyncio.sleep(0.1)
    events_before = await reviews.event_count()
    cast = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    assert cast.status_code == 200, cast.text
    assert await reviews.event_count() == events_before + 1  # the ballot was stored
    after = (await reviews.http.get("/metrics")).text
    assert log_position(after) == log_position(before)
    # No other series moved either (the scrape's own timing aside).
    steady = re.compile(r"^(suxing_\w+)(\{[^}]*\})? (\S+)$", re.M)
    assert {m.group(0) for m in steady.finditer(before) if "seconds" not in m.group(1)} == {
        m.group(0) for m in steady.finditer(after) if "seconds" not in m.group(1)
    }
