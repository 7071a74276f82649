"""The reviews service's event contracts: registered, versioned, lossless on the wire, and
refusing data that breaks their own invariants."""

from __future__ import annotations

import inspect
import json
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.contracts import REGISTRY, Event, canonical_json
from shared.contracts import reviews as contracts
from shared.contracts.reviews import (
    BallotRole,
    BallotScore,
    ReviewPeriodOpened,
    ReviewScope,
    ScopeLevel,
)
from shared.contracts.scoring import Period, ReviewKind
from tests.unit.reviews.examples import (
    BRANCH_SCOPE,
    CHEN,
    LIU,
    WANG,
    ballot,
    cast,
    every_event_the_service_defines,
)

pytestmark = pytest.mark.unit

EVENT_MODELS = [
    model
    for _, model in inspect.getmembers(contracts, inspect.isclass)
    if issubclass(model, Event) and model.type_name
]


def test_every_reviews_event_is_registered_under_its_class_name_at_version_1() -> None:
    assert {model.__name__ for model in EVENT_MODELS} == {
        "ReviewPeriodOpened",
        "ReviewPeriodClosed",
        "ReviewPeriodWindowAdjusted",
        "BallotCast",
        "BallotAmended",
        "MemberReviewed",
    }
    for model in EVENT_MODELS:
        assert model.type_name == model.__name__
        assert model.schema_version == 1
        assert REGISTRY.model(model.type_name, 1) is model


def test_events_survive_the_trip_through_canonical_json() -> None:
    for _, event in every_event_the_service_defines():
        wire = json.loads(canonical_json(event.model_dump(mode="json")))
        assert REGISTRY.decode(event.type_name, event.schema_version, wire) == event


def test_scores_travel_as_two_place_strings() -> None:
    [event] = cast(ballot(WANG, BallotRole.PEER, {LIU: "90"}))
    assert event.model_dump(mode="json")["scores"][0]["score"] == "90.00"


def test_each_role_belongs_to_its_review() -> None:
    assert {role: role.kind for role in BallotRole} == {
        BallotRole.PEER: ReviewKind.PEER,
        BallotRole.ALL_STAFF: ReviewKind.MASS,
        BallotRole.PAIRED: ReviewKind.MASS,
        BallotRole.BRANCH: ReviewKind.BRANCH,
    }


@pytest.mark.parametrize(
    ("level", "unit_id", "branch_id"),
    [
        (ScopeLevel.COMPANY, "U-GY", None),
        (ScopeLevel.UNIT, None, None),
        (ScopeLevel.UNIT, "U-GY", "B-JB"),
        (ScopeLevel.BRANCH, None, "B-JB"),
    ],
)
def test_a_scope_names_exactly_what_its_level_needs(
    level: ScopeLevel, unit_id: str | None, branch_id: str | None
) -> None:
    with pytest.raises(ValidationError, match="评议范围不完整"):
        ReviewScope(level=level, unit_id=unit_id, branch_id=branch_id)


def test_an_opened_period_must_fit_its_review() -> None:
    with pytest.raises(ValidationError, match="党员互评没有上半年"):
        ReviewPeriodOpened(
            period_id="RP-1",
            kind=ReviewKind.PEER,
            period=Period.H1,
            year=2024,
            scope=BRANCH_SCOPE,
            deadline=None,
        )


def test_a_ballot_event_lists_each_member_once_in_order() -> None:
    [event] = cast(ballot(WANG, BallotRole.PEER, {LIU: "90", CHEN: "80"}))
    data = event.model_dump()
    line = BallotScore(member_id=LIU.person_id, score=Decimal(90), comment=None)
    for scores in ((line, line), tuple(reversed(data["scores"]))):
        with pytest.raises(ValidationError, match="每名党员只能出现一次"):
            type(event).model_validate(data | {"scores": scores})
