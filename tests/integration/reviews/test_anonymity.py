"""No reviewer id in anything the service records for publication, nor in its ballot tables.

The scenario keeps reviewers and rated members apart (the rated members' ids belong in the
ballots), so any occurrence of a reviewer's id is a leak. Periods are organized by the
organization department, who reviews nobody.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from services.reviews import persistence as t
from shared.contracts.reviews import BallotCast
from tests.integration.reviews.conftest import ADMIN, Reviews, token_of

pytestmark = pytest.mark.integration

REVIEWERS = ("rv-sec", "rv-m2", "rv-e1", "rv-e2")
RATED = {"rv-m1": 90, "rv-m3": 85}
PSEUDONYM = re.compile(r"[0-9a-f]{64}")


async def _scenario(reviews: Reviews) -> None:
    peer = await reviews.open("peer", "Q1")
    mass = await reviews.open("mass", "H1")
    branch = await reviews.open("branch", "H1")
    casts: list[tuple[str, str, str, dict[str, Any]]] = [
        ("rv-sec", peer, "peer", RATED),
        ("rv-m2", peer, "peer", RATED),
        ("rv-m2", peer, "peer", {"rv-m1": 70}),  # amended
        ("rv-e1", mass, "all_staff", RATED),
        ("rv-e1", mass, "paired", {"rv-m1": 99}),
        ("rv-e1", mass, "paired", {"rv-m1": 98}),  # amended
        ("rv-e2", mass, "all_staff", RATED),
        ("rv-sec", branch, "branch", RATED),
        ("rv-sec", branch, "branch", {"rv-m1": 91, "rv-m3": 85}),  # amended
    ]
    for who, period_id, role, scores in casts:
        response = await reviews.cast(token_of(who), period_id, role, scores, comment="认真负责")
        assert response.status_code == 200, response.text
    for period_id in (peer, mass, branch):
        await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)


async def test_no_stored_event_names_a_reviewer(reviews: Reviews):
    await _scenario(reviews)

    rows = await reviews.raw_event_rows()
    types = [row["type"] for row in rows]
    assert types.count("BallotCast") == 6
    assert types.count("BallotAmended") == 3
    for row in rows:
        text = " ".join(str(value) for value in row.values())
        if row["type"] == "MemberReviewed":
            # A tally names its subject: a reviewer who is also a member has one of their own.
            subject = json.loads(row["data"])["member_id"]
            text = text.replace(f'"member_id":"{subject}"', "")
        for reviewer in REVIEWERS:
            assert reviewer not in text, (reviewer, row["type"], row["stream"])
    for row in rows:
        if row["type"].startswith("Ballot"):
            assert PSEUDONYM.fullmatch(row["actor_ref"])
            assert row["actor_ref"] in row["stream"]


async def test_the_paired_ballot_cannot_be_matched_to_the_same_persons_other_ballot(
    reviews: Reviews,
):
    await _scenario(reviews)

    actors = {
        (item.event.role.value, item.envelope.actor.ref)
        for item in await reviews.events()
        if isinstance(item.event, BallotCast)
    }
    staff = {ref for role, ref in actors if role == "all_staff"}
    paired = {ref for role, ref in actors if role == "paired"}
    assert len(staff) == 2
    assert len(paired) == 1
    assert not staff & paired


async def test_the_ballot_tables_hold_pseudonyms_only(reviews: Reviews):
    await _scenario(reviews)

    async with reviews.runtime.db.reading() as session:
        sheets = (await session.execute(select(t.ballot_sheets))).mappings().all()
        lines = (await session.execute(select(t.ballot_lines))).mappings().all()
    assert len(sheets) == 6
    for row in [*sheets, *lines]:
        text = " ".join(str(value) for value in row.values())
        assert not any(reviewer in text for reviewer in REVIEWERS), row
