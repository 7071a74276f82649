"""What a test needs and this machine may lack: skipped on a developer's machine, a failure
in CI (CI=true), where .ci/run installs and starts everything, so nothing is silently
untested there."""

from __future__ import annotations

import os

import pytest


def unavailable(what: str) -> None:
    """Stop the test: ``what`` names the missing part and how to provide it."""
    if os.environ.get("CI"):
        pytest.fail(f"{what}: missing in CI, where .ci/run provides it")
    pytest.skip(what)


POSTGRES = "PostgreSQL not available here (set SUXING_TEST_POSTGRES_URL)"
