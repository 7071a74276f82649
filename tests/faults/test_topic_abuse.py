"""Records nobody should send, sent to the live topics of a running stack (real processes):
10,000 duplicated deliveries count nothing twice; poison goes to the dead-letter topic with
its reason while the consumers carry on."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.figures import record
from tests.faults.load import check, converged, steady_load
from tests.faults.stack import ADMIN, YEAR, Stack, prepare_year, running_stack
from tests.faults.topics import poison_records, produce
from tests.support.kafka import read_topic

pytestmark = pytest.mark.e2e
BRANCHES, MEMBERS = 2, 3
DUPLICATES = int(os.environ.get("SUXING_FAULT_DUPLICATES", "10000"))
CONSUMERS = ("reviews", "scoring")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as stack:
        prepare_year(stack.url("pledges"), BRANCHES, MEMBERS)
        yield stack


async def wait_for(probe, timeout: float = 120) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await probe():
            return True
        await asyncio.sleep(0.5)
    return False


@pytest.mark.faults
@pytest.mark.timeout(900)
async def test_ten_thousand_duplicated_deliveries_count_nothing_twice(stack: Stack) -> None:
    oracle = await steady_load(stack, "dup", BRANCHES, MEMBERS, each=6)
    before = await converged(stack, oracle, "dup")
    assert before.clean, before
    seen = await read_topic(stack.broker.bootstrap, "suxing.pledges", expect=10**9, timeout=8)
    originals = [(s.key, s.raw, list(s.headers.items())) for s in seen if s.raw is not None]
    copies = [originals[i % len(originals)] for i in range(DUPLICATES)]
    duplicates_before = {
        name: stack.metric(name, "suxing_consumer_duplicates_total") for name in CONSUMERS
    }

    await produce(stack.broker.bootstrap, "suxing.pledges", copies)

    async def all_seen() -> bool:
        return all(
            stack.metric(name, "suxing_consumer_duplicates_total") - duplicates_before[name]
            >= DUPLICATES
            for name in CONSUMERS
        )

    assert await wait_for(all_seen, timeout=600), "the consumers did not read every copy"
    after = await check(stack, oracle, "dup")
    counted = {
        name: stack.metric(name, "suxing_consumer_duplicates_total") - duplicates_before[name]
        for name in CONSUMERS
    }
    dead = {
        name: stack.services[name].sql_everywhere("SELECT count(*) FROM cp_dead_letters")[0][0]
        for name in CONSUMERS
    }
    record(
        "duplicated deliveries",
        {
            "duplicates_produced": DUPLICATES,
            "recognised_as_duplicates": counted,
            "dead_letters": dead,
            "accepted_declarations": len(oracle.declared),
            **after.figures(),
        },
    )
    assert after.clean, after
    assert after.figures()["projection_mismatches"] == 0
    assert (after.log_declared, after.log_approved) == (before.log_declared, before.log_approved)
    assert dead == {name: 0 for name in CONSUMERS}


async def test_poison_goes_to_the_dead_letter_topic_with_its_reason_and_consumers_live_on(
    stack: Stack,
) -> None:
    oracle = await steady_load(stack, "pre", BRANCHES, MEMBERS, each=1)
    assert (await converged(stack, oracle, "pre")).clean
    seen = await read_topic(stack.broker.bootstrap, "suxing.pledges", expect=10**9, timeout=5)
    template = next(s for s in seen if s.envelope and s.envelope.type == "PledgeDeclared")
    poison = poison_records(template)

    await produce(stack.broker.bootstrap, "suxing.pledges", list(poison.values()))
    # After the poison, ordinary work: it must still reach every consumer.
    after = await steady_load(stack, "post", BRANCHES, MEMBERS, each=1)
    result = await converged(stack, after, "post")

    dead = await read_topic(
        stack.broker.bootstrap, "suxing.pledges.dlq", expect=len(poison) * len(CONSUMERS)
    )
    reasons: dict[str, list[str]] = {}
    for letter in dead:
        consumer = letter.headers.get("consumer", b"").decode()
        reasons.setdefault(consumer, []).append(letter.headers.get("error", b"").decode())
    stored = {
        name: stack.services[name].sql_everywhere(
            "SELECT reason FROM cp_dead_letters WHERE topic = 'suxing.pledges'"
        )
        for name in CONSUMERS
    }
    live = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for name in CONSUMERS:
            live[name] = (await http.get(f"{stack.url(name)}/health/ready")).status_code
    record(
        "poison messages",
        {
            "kinds": sorted(poison),
            "sent": len(poison),
            "dead_lettered": {name: len(rows) for name, rows in stored.items()},
            "on_dlq_topic": {name: len(r) for name, r in reasons.items()},
            "consumers_ready": live,
            "later_work_applied": result.clean,
        },
    )
    assert result.clean, result
    for name in CONSUMERS:
        assert len(stored[name]) == len(poison), (name, stored[name])
        assert all(reason for (reason,) in stored[name])
        assert len(reasons.get(name, [])) == len(poison), reasons
        assert live[name] == 200
    # Nothing of the poison reached a projection: no card shows a pledge it did not declare.
    async with httpx.AsyncClient(base_url=stack.url("scoring"), timeout=30) as http:
        card = await http.get(
            f"/members/m-f0-0/cards/{YEAR}", headers={"Authorization": f"Bearer {ADMIN}"}
        )
    assert card.status_code == 200
    assert not [p for p in card.json()["pledges"] if "poison" in p["pledge_id"]]
