"""One running stack (real processes) for the security tests: two branches with a year
prepared, a declared pledge per member, and a review period with ballots cast."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from shared.auth import Role
from tests.faults.load import Oracle, converged, steady_load
from tests.faults.stack import Stack, open_period, prepare_year, running_stack, token, wait_until

BRANCHES, MEMBERS = 2, 3
REVIEWER = "r-f0"
"""An employee who rates members in the mass review and appears nowhere else."""
MASS_PERIOD = "rp-mass-sec"
PEER_PERIOD = "rp-sec"


@dataclass
class Seeded:
    stack: Stack
    oracle: Oracle


def reviewer_token() -> str:
    return token(REVIEWER, Role.EMPLOYEE, branch="b-f0")


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with running_stack(tmp_path_factory.mktemp("security")) as stack:
        prepare_year(stack.url("pledges"), BRANCHES, MEMBERS)
        oracle = asyncio.run(steady_load(stack, "sec", BRANCHES, MEMBERS, each=1))
        assert asyncio.run(converged(stack, oracle, "sec")).clean
        # The reviews service knows the roster once its consumer applied it.
        assert wait_until(
            lambda: (
                stack.services["reviews"].sql(
                    "SELECT count(*) FROM rv_people WHERE person_id = ?", REVIEWER
                )[0][0]
                == 1
            )
        )
        open_period(stack, PEER_PERIOD, "peer")
        open_period(stack, MASS_PERIOD, "mass")
        lines = [{"member_id": "m-f0-0", "score": 88, "comment": "认真负责"}]
        response = httpx.put(
            f"{stack.url('reviews')}/periods/{MASS_PERIOD}/ballots/all_staff",
            json={"scores": lines},
            headers={"Authorization": f"Bearer {reviewer_token()}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        yield Seeded(stack=stack, oracle=oracle)
