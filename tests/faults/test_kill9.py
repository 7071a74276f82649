"""SIGKILL each service process (its HTTP API, its outbox relay and, for reviews and scoring,
its checkpointed consumer) at random moments under load, restart it, and prove that every
accepted command's events are in the log once, on the topic, and applied once by every
consumer: per-member totals equal an oracle built from the accepted responses."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import pytest

from tests.faults.figures import record
from tests.faults.load import Oracle, converged, member_worker
from tests.faults.stack import SERVICES, prepare_year, running_stack

pytestmark = [pytest.mark.faults, pytest.mark.e2e]

TRIALS = int(os.environ.get("SUXING_FAULT_TRIALS", "10"))
BRANCHES, MEMBERS = 2, 4


@pytest.mark.timeout(1200)
async def test_kill_minus_9_of_every_service_under_load_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("SUXING_FAULT_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    with running_stack(tmp_path) as stack:
        await asyncio.to_thread(prepare_year, stack.url("pledges"), BRANCHES, MEMBERS)
        oracle = Oracle()
        stop = asyncio.Event()
        prefix = "k9"
        workers = [
            asyncio.create_task(member_worker(stack, oracle, b, m, stop, prefix))
            for b in range(BRANCHES)
            for m in range(MEMBERS)
        ]
        kills = {name: 0 for name in SERVICES}
        # Every service TRIALS times, in a shuffled order, each at a random moment.
        order = [name for name in SERVICES for _ in range(TRIALS)]
        rng.shuffle(order)
        try:
            for name in order:
                await asyncio.sleep(rng.uniform(0.2, 2.5))
                await asyncio.to_thread(stack.services[name].kill)
                kills[name] += 1
                await asyncio.sleep(rng.uniform(0.0, 1.0))
                await asyncio.to_thread(stack.restart, name)
            await asyncio.sleep(1)
        finally:
            stop.set()
            await asyncio.gather(*workers)
        result = await converged(stack, oracle, prefix)
        gaps = stack.log_lines("jumps from")

    figures = {
        "seed": seed,
        "out_of_order_held_back": len(gaps),
        "kills": kills,
        "accepted_declarations": len(oracle.declared),
        "accepted_approvals": len(oracle.approved),
        "client_retries": oracle.retries,
        **result.figures(),
    }
    record("kill -9 under load", figures)
    assert not oracle.unexpected, oracle.unexpected[:5]
    assert min(kills.values()) >= TRIALS
    assert oracle.declared and oracle.approved, "the load recorded nothing"
    assert result.lost_in_log == 0 and result.unpublished == 0, figures
    assert result.log_dup_commands == 0 and result.extra_in_log == 0, figures
    assert result.log_declared == len(oracle.declared), figures
    assert result.log_approved == len(oracle.approved), figures
    assert not result.scoring_mismatches, result.scoring_mismatches[:5]
    assert not result.reviews_mismatches, result.reviews_mismatches[:5]
    assert not result.checkpoint_mismatches, result.checkpoint_mismatches[:5]
