"""Many clients at once against the running services (real processes): 100 concurrent
approvals of one pledge record one approval; 50 concurrent ballots from one reviewer count
as one ballot."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from shared.auth import Role
from tests.faults.figures import record
from tests.faults.load import converged, steady_load
from tests.faults.stack import (
    Stack,
    open_period,
    prepare_year,
    running_stack,
    secretary,
    token,
    wait_until,
)

pytestmark = pytest.mark.e2e
APPROVERS, BALLOTS = 100, 50


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("concurrency")) as stack:
        prepare_year(stack.url("pledges"), 1, 3)
        yield stack


async def test_a_hundred_concurrent_approvals_of_one_pledge_record_one(stack: Stack) -> None:
    oracle = await steady_load(stack, "cc", 1, 1, each=1)
    (pid,) = oracle.declared
    assert (await converged(stack, oracle, "cc")).clean
    url = f"{stack.url('pledges')}/pledges/{pid}/approval"
    auth = {"Authorization": f"Bearer {secretary(0)}"}
    limits = httpx.Limits(max_connections=APPROVERS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        responses = await asyncio.gather(*(http.post(url, headers=auth) for _ in range(APPROVERS)))
    statuses = Counter(r.status_code for r in responses)
    approvals = stack.services["pledges"].sql(
        "SELECT count(*) FROM es_events WHERE stream = ? AND type = 'PledgeApproved'",
        f"pledge-{pid}",
    )[0][0]
    record(
        "concurrent approvals",
        {"requests": APPROVERS, "statuses": dict(statuses), "approvals_recorded": approvals},
    )
    assert statuses[200] == 1, statuses
    assert statuses[409] == APPROVERS - 1, statuses
    assert approvals == 1
    refusals = {r.json()["message"] for r in responses if r.status_code == 409}
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in refusals), refusals


async def test_fifty_concurrent_ballots_from_one_reviewer_count_once(stack: Stack) -> None:
    reviews = stack.services["reviews"]
    assert wait_until(
        lambda: reviews.sql("SELECT count(*) FROM rv_people WHERE person_id = 'r-f0'")[0][0] == 1
    )
    open_period(stack, "rp-cc-mass", "mass")
    reviewer = token("r-f0", Role.EMPLOYEE, branch="b-f0")
    url = f"{stack.url('reviews')}/periods/rp-cc-mass/ballots/all_staff"
    auth = {"Authorization": f"Bearer {reviewer}"}
    limits = httpx.Limits(max_connections=BALLOTS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        responses = await asyncio.gather(
            *(
                http.put(
                    url, headers=auth, json={"scores": [{"member_id": "m-f0-0", "score": 50 + n}]}
                )
                for n in range(BALLOTS)
            )
        )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, [r.text for r in responses if r.status_code >= 500][:3]
    sheets = reviews.sql(
        "SELECT count(*), sum(amendments) FROM rv_ballot_sheets WHERE period_id = 'rp-cc-mass'"
    )[0]
    lines = reviews.sql(
        "SELECT member_id, score FROM rv_ballot_lines WHERE period_id = 'rp-cc-mass'"
    )
    kinds = dict(
        reviews.sql(
            "SELECT type, count(*) FROM es_events WHERE stream LIKE '%rp-cc-mass%' "
            "AND type IN ('BallotCast', 'BallotAmended') GROUP BY type"
        )
    )
    admin = token("admin-f", Role.ORG_ADMIN)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(
            f"{stack.url('reviews')}/periods/rp-cc-mass/turnout",
            params={"branch": "b-f0"},
            headers={"Authorization": f"Bearer {admin}"},
        )
    turnout = response.json()
    voted = sum(role["voted"] for role in turnout["roles"])
    record(
        "concurrent ballots",
        {
            "requests": BALLOTS,
            "statuses": dict(statuses),
            "ballot_sheets": sheets[0],
            "ballot_lines": len(lines),
            "events": kinds,
            "turnout_voted": voted,
        },
    )
    assert sheets[0] == 1 and len(lines) == 1 and voted == 1
    assert kinds.get("BallotCast") == 1
    assert kinds.get("BallotAmended", 0) == statuses[200] - 1
    # The counted score is one the reviewer actually sent.
    assert 50 <= float(lines[0][1]) < 50 + BALLOTS
