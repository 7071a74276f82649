"""An injected database error on the write paths: the person gets 503 and a retry, the
logs name the failure, and neither the logs nor the answer carry a person id, a name, a
score, a comment or any other value of the refused rows (SQL parameters are hidden). A
control run with the parameters shown proves the check sees a leak when there is one."""

from __future__ import annotations

import logging

import pytest

from tests.integration.reviews.conftest import Reviews, token_of
from tests.support.db_faults import COMMENT, failing_inserts, leaks

pytestmark = pytest.mark.integration


async def test_a_ballot_refused_by_the_database_reveals_nothing(
    reviews: Reviews, caplog: pytest.LogCaptureFixture
) -> None:
    period_id = await reviews.open("peer", "Q1")
    db = reviews.runtime.db
    # The ballot's stream is named by the voter's pseudonym in this period: naming the
    # stream links the voter's ballots, so it is as secret as the ids and the scores.
    secrets = ["rv-m2", "rv-m1", COMMENT, "87.5", f"review-ballot-{period_id}"]
    caplog.set_level(logging.DEBUG)
    with failing_inserts(db) as refused:
        response = await reviews.cast(
            token_of("rv-m2"), period_id, "peer", {"rv-m1": 87.5}, comment=COMMENT
        )
    assert refused, "the injection did not reach the write"
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "database_unavailable"
    assert "database unavailable" in caplog.text and "injected" in caplog.text
    assert leaks(caplog.text + response.text, secrets) == []

    # Control: the same failure with parameters shown would reveal the ballot.
    caplog.clear()
    db.engine.sync_engine.hide_parameters = False
    try:
        with failing_inserts(db):
            await reviews.cast(
                token_of("rv-m2"), period_id, "peer", {"rv-m1": 87.5}, comment=COMMENT
            )
    finally:
        db.engine.sync_engine.hide_parameters = True
    assert leaks(caplog.text, secrets), "the control should have shown the parameters"
