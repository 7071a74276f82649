"""Every service's events are known to the shared registry, under unique names."""

from __future__ import annotations

import pytest

from shared.contracts import REGISTRY, pledges, reviews, scoring
from shared.contracts.events import Event

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("module", [pledges, reviews, scoring])
def test_every_event_model_of_a_contract_module_is_registered(module: object) -> None:
    models = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Event)
        and value is not Event
        and not value.__name__.startswith("_")
    ]
    assert models
    for model in models:
        assert model.type_name, f"{model.__name__} has no contract name"
        assert REGISTRY.model(model.type_name, model.schema_version) is model
