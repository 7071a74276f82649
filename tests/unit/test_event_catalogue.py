"""The committed catalogue in docs/events/ is exactly what the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.contracts.catalogue import render, stale, stale_asyncapi, write

pytestmark = pytest.mark.unit


def test_committed_catalogue_matches_the_event_models() -> None:
    problems = stale()
    assert not problems, (
        "docs/events/ is out of date; run `python -m shared.contracts.catalogue --write` "
        f"and commit: {problems}"
    )


def test_committed_asyncapi_documents_match_the_services() -> None:
    assert stale_asyncapi() == [], "run `python -m shared.contracts.catalogue --write`"


def test_a_changed_schema_is_detected(tmp_path: Path) -> None:
    write(tmp_path, asyncapi=None)
    assert stale(tmp_path) == []
    target = tmp_path / "PledgeApproved.v1.schema.json"
    target.write_text(target.read_text("utf-8").replace('"type": "string"', '"type": "integer"', 1))
    (tmp_path / "Unexpected.v1.schema.json").write_text("{}")
    assert stale(tmp_path) == ["PledgeApproved.v1.schema.json", "Unexpected.v1.schema.json"]


def test_every_event_names_its_topic() -> None:
    files = render()
    assert '"x-suxing-topic": "suxing.reviews"' in files["MemberReviewed.v1.schema.json"]
    assert '"x-suxing-private": true' in files["BallotCast.v1.schema.json"]
    assert '"x-suxing-topic": "suxing.pledges"' in files["PledgeDeclared.v1.schema.json"]
