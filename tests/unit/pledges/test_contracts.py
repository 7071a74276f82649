"""The pledges service's event contracts: registered, versioned, and lossless on the wire."""

from __future__ import annotations

import inspect
import json
from datetime import date

import pytest

from services.pledges.domain import PledgeStatus, decide_sign_agreement
from shared.contracts import REGISTRY, Event, canonical_json
from shared.contracts import pledges as contracts
from tests.unit.pledges.examples import AGREEMENT, declared_events, pledge_in

pytestmark = pytest.mark.unit

EVENT_MODELS = [
    model
    for _, model in inspect.getmembers(contracts, inspect.isclass)
    if issubclass(model, Event) and model is not Event
]


def test_every_pledges_event_is_registered_under_its_class_name_at_version_1() -> None:
    assert len(EVENT_MODELS) == 37  # with the carry-over, hand-over and exemption events
    for model in EVENT_MODELS:
        assert model.type_name == model.__name__
        assert model.schema_version == 1
        assert REGISTRY.model(model.type_name, 1) is model


def test_events_survive_the_trip_through_canonical_json() -> None:
    agreement = decide_sign_agreement(
        pledge_in(PledgeStatus.APPROVED), AGREEMENT, today=date(2024, 3, 15)
    )
    for event in [*declared_events(), *agreement]:
        wire = json.loads(canonical_json(event.model_dump(mode="json")))
        assert REGISTRY.decode(event.type_name, event.schema_version, wire) == event
