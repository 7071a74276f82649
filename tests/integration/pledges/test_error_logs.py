"""An injected database error on the write paths: the person gets 503 and a retry, the
logs name the failure, and neither the logs nor the answer carry a person id, a name, a
score, a comment or any other value of the refused rows (SQL parameters are hidden). A
control run with the parameters shown proves the check sees a leak when there is one."""

from __future__ import annotations

import logging

import pytest

from tests.integration.pledges.conftest import Pledges
from tests.support.db_faults import COMMENT, failing_inserts, leaks

pytestmark = pytest.mark.integration


async def test_a_pledge_refused_by_the_database_reveals_nothing(
    pledges: Pledges, caplog: pytest.LogCaptureFixture
) -> None:
    await pledges.prepare_year()
    declaration = pledges.declaration(content=f"为巡检路线加装照明-{COMMENT}")
    secrets = [COMMENT, pledges.pledge_id(), pledges.need_id()]
    caplog.set_level(logging.DEBUG)
    with failing_inserts(pledges.app.state.runtime.db) as refused:
        response = await pledges.call("POST", "/pledges", pledges.member, declaration)
    assert refused
    assert response.status_code == 503, response.text
    assert leaks(caplog.text + response.text, secrets) == []
    # Nothing was stored: the same declaration goes through once the database is back.
    accepted = await pledges.call("POST", "/pledges", pledges.member, declaration)
    assert accepted.status_code == 201, accepted.text
