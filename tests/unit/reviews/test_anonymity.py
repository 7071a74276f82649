"""Reviewer anonymity: pseudonyms are deterministic, separate per period and role, useless
without the key, and no event the service defines carries a reviewer's id."""

from __future__ import annotations

import inspect
import re

import pytest

from services.reviews.domain import (
    MIN_KEY_BYTES,
    ballot_pseudonym,
    ballot_stream,
    not_yet_voted,
    reviewer_pseudonym,
)
from services.reviews.domain.anonymity import ballot_pseudonyms
from shared.contracts import canonical_json
from shared.contracts import reviews as contracts
from shared.contracts.events import Event
from shared.contracts.reviews import BallotAmended, BallotCast, BallotRole
from tests.unit.reviews.examples import (
    CHEN,
    KEY,
    LI,
    LIU,
    MASS_H1,
    PEER_Q1,
    ROSTER,
    WANG,
    ballot,
    cast,
    every_event_the_service_defines,
)

pytestmark = pytest.mark.unit

OTHER_KEY = bytes(range(100, 132))


def test_a_pseudonym_is_deterministic_and_64_hex_digits() -> None:
    first = reviewer_pseudonym(KEY, "RP-2024-peer-Q1", WANG.person_id)
    assert first == reviewer_pseudonym(KEY, "RP-2024-peer-Q1", WANG.person_id)
    assert re.fullmatch(r"[0-9a-f]{64}", first)


def test_pseudonyms_of_one_reviewer_differ_from_period_to_period() -> None:
    q1 = reviewer_pseudonym(KEY, "RP-2024-peer-Q1", WANG.person_id)
    q2 = reviewer_pseudonym(KEY, "RP-2024-peer-Q2", WANG.person_id)
    assert q1 != q2


def test_pseudonyms_differ_from_reviewer_to_reviewer() -> None:
    assert reviewer_pseudonym(KEY, "RP-1", WANG.person_id) != reviewer_pseudonym(
        KEY, "RP-1", LIU.person_id
    )


def test_without_the_key_the_pseudonym_cannot_be_reproduced() -> None:
    assert reviewer_pseudonym(KEY, "RP-1", WANG.person_id) != reviewer_pseudonym(
        OTHER_KEY, "RP-1", WANG.person_id
    )


def test_period_and_reviewer_cannot_be_shifted_into_one_another() -> None:
    assert reviewer_pseudonym(KEY, "RP-1", "2") != reviewer_pseudonym(KEY, "RP-", "12")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match=f"at least {MIN_KEY_BYTES} bytes"):
        reviewer_pseudonym(b"secret", "RP-1", WANG.person_id)


@pytest.mark.parametrize("role", list(BallotRole))
def test_pseudonyms_in_bulk_are_the_ballots_pseudonyms(role: BallotRole) -> None:
    ids = [WANG.person_id, LIU.person_id, "2", "", "张三", "x" * 300]
    assert ballot_pseudonyms(KEY, "RP-1", role, ids) == [
        ballot_pseudonym(KEY, "RP-1", reviewer, role) for reviewer in ids
    ]
    with pytest.raises(ValueError, match=f"at least {MIN_KEY_BYTES} bytes"):
        ballot_pseudonyms(b"secret", "RP-1", role, ids)


@pytest.mark.parametrize("role", [BallotRole.PEER, BallotRole.ALL_STAFF, BallotRole.BRANCH])
def test_a_ballot_carries_the_reviewers_pseudonym(role: BallotRole) -> None:
    assert ballot_pseudonym(KEY, "RP-1", WANG.person_id, role) == reviewer_pseudonym(
        KEY, "RP-1", WANG.person_id
    )


def test_the_paired_ballot_cannot_be_linked_to_the_same_employees_all_staff_ballot() -> None:
    paired = ballot_pseudonym(KEY, "RP-1", LI.person_id, BallotRole.PAIRED)
    all_staff = ballot_pseudonym(KEY, "RP-1", LI.person_id, BallotRole.ALL_STAFF)
    assert paired != all_staff
    assert paired == ballot_pseudonym(KEY, "RP-1", LI.person_id, BallotRole.PAIRED)


def test_who_has_not_yet_voted_is_found_from_pseudonyms_alone() -> None:
    voted = {ballot_pseudonym(KEY, PEER_Q1.period_id, CHEN.person_id, BallotRole.PEER)}
    missing = not_yet_voted(
        KEY,
        PEER_Q1.period_id,
        BallotRole.PEER,
        eligible_reviewer_ids=[WANG.person_id, CHEN.person_id, LIU.person_id],
        voted_pseudonyms=voted,
    )
    assert missing == (WANG.person_id, LIU.person_id)


def test_a_paired_ballot_does_not_count_as_the_employees_all_staff_vote() -> None:
    voted = {ballot_pseudonym(KEY, MASS_H1.period_id, LI.person_id, BallotRole.PAIRED)}
    assert not_yet_voted(
        KEY,
        MASS_H1.period_id,
        BallotRole.ALL_STAFF,
        eligible_reviewer_ids=[LI.person_id],
        voted_pseudonyms=voted,
    ) == (LI.person_id,)


def test_the_examples_cover_every_event_type_of_the_service() -> None:
    defined = {
        model.type_name
        for _, model in inspect.getmembers(contracts, inspect.isclass)
        if issubclass(model, Event) and model.type_name
    }
    assert {event.type_name for _, event in every_event_the_service_defines()} == defined


def test_no_event_carries_a_reviewers_id_or_name() -> None:
    examples = every_event_the_service_defines()
    reviewers = {reviewer_id for reviewer_id, _ in examples if reviewer_id}
    for reviewer_id, event in examples:
        wire = canonical_json(event.model_dump(mode="json")).decode("utf-8")
        # A reviewer may also be rated on someone else's ballot; on their own, never named.
        absent = {reviewer_id} if reviewer_id else reviewers
        for person_id in absent:
            assert person_id not in wire, event
            assert ROSTER[person_id].name not in wire, event
        if isinstance(event, BallotCast | BallotAmended):
            stream = ballot_stream(event.period_id, event.role, event.reviewer_pseudonym)
            assert reviewer_id not in stream


def test_the_only_reviewer_field_accepts_a_pseudonym_and_nothing_else() -> None:
    [event] = cast(ballot(WANG, BallotRole.PEER, {LIU: "90"}))
    data = event.model_dump(mode="json")
    with pytest.raises(ValueError, match="should match pattern"):
        type(event).model_validate(data | {"reviewer_pseudonym": WANG.person_id})
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        type(event).model_validate(data | {"reviewer_id": WANG.person_id})
