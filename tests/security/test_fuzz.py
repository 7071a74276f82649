"""Schemathesis against every running service's OpenAPI document (real processes): generated
requests for every operation, sent with a token that holds every role, must never get a 5xx,
and every response must match the schema the service documents for it."""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shared.auth import Role
from tests.faults.figures import record
from tests.faults.stack import token
from tests.security.conftest import Seeded
from tests.support.availability import unavailable

pytestmark = [pytest.mark.faults, pytest.mark.e2e]
EXAMPLES = int(os.environ.get("SUXING_FUZZ_EXAMPLES", "40"))
EVERY_ROLE = token(
    "sec-f0",
    Role.MEMBER,
    Role.EMPLOYEE,
    Role.BRANCH_COMMITTEE,
    Role.ORG_ADMIN,
    Role.OPERATOR,
    branch="b-f0",
)
SEEN: Counter[str] = Counter()
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def fuzz(seeded: Seeded, service: str) -> None:
    """Every operation of the service, EXAMPLES generated cases each (schemathesis'
    pytest loader ``from_fixture`` does not work with pytest 9, so each operation's
    strategy is driven by Hypothesis here)."""
    schema = schemathesis.openapi.from_url(f"{seeded.stack.url(service)}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:

        @given(case=operation.as_strategy())
        @FUZZ_SETTINGS
        def run(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call_and_validate(
                headers={"Authorization": f"Bearer {EVERY_ROLE}"},
                checks=[not_a_server_error, response_schema_conformance],
                timeout=60,
            )
            SEEN[f"{service} {response.status_code}"] += 1

        run()
    SEEN[f"{service} operations"] += len(operations)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", ["pledges", "reviews", "scoring"])
def test_fuzz(seeded: Seeded, service: str) -> None:
    fuzz(seeded, service)


def test_fuzz_figures() -> None:
    """Runs last in this module: what the fuzzing sent and got (for docs/reliability.md)."""
    if not SEEN:
        unavailable("the fuzz tests did not run in this session (run the module)")
    responses = {k: n for k, n in SEEN.items() if not k.endswith("operations")}
    record(
        "schemathesis fuzzing",
        {
            "examples_per_operation": EXAMPLES,
            "operations": sum(n for k, n in SEEN.items() if k.endswith("operations")),
            "requests": sum(responses.values()),
            "server_errors": sum(n for k, n in responses.items() if k.split()[1].startswith("5")),
            "statuses": dict(sorted(responses.items())),
        },
    )
