"""The compatibility check (shared/contracts/compat.py): a subscriber built against the
released catalogue must read whatever the code now writes under the same type and version.
Each case builds two small registries, one per release, and compares their published
schemas exactly as the CI check compares docs/contracts/released.json with the code."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from shared.contracts import REGISTRY, Event, EventRegistry, event_type
from shared.contracts.compat import (
    breaking_changes,
    catalogue,
    load_released,
    main,
    published,
)
from shared.labels import LabelledEnum

pytestmark = pytest.mark.unit


class Quarter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    quarter: int = Field(ge=1, le=4)
    work: str = Field(max_length=200)


class Colour(LabelledEnum):
    RED = "red", "红"
    BLUE = "blue", "蓝"


class ColourMore(LabelledEnum):
    RED = "red", "红"
    BLUE = "blue", "蓝"
    GREEN = "green", "绿"


def release_one() -> EventRegistry:
    registry = EventRegistry()

    @event_type("Planned", 1, term="计划", registry=registry)
    class Planned(Event):
        """A plan was adopted."""

        plan_id: str = Field(max_length=40)
        adopted_on: date
        count: int
        note: str | None = None
        colour: Colour = Colour.RED
        quarters: tuple[Quarter, ...] = ()

    return registry


def release_two(**fields: Any) -> EventRegistry:
    """Release one's event with ``fields`` as the annotations and defaults that change
    (a value of ``None`` for a name removes the field)."""
    registry = EventRegistry()
    annotations: dict[str, Any] = {
        "plan_id": str,
        "adopted_on": date,
        "count": int,
        "note": str | None,
        "colour": Colour,
        "quarters": tuple[Quarter, ...],
    }
    defaults: dict[str, Any] = {
        "plan_id": Field(max_length=40),
        "note": None,
        "colour": Colour.RED,
        "quarters": (),
    }
    for name, spec in fields.items():
        annotations.pop(name, None)
        defaults.pop(name, None)
        if spec is None:
            continue
        annotation, *default = spec
        annotations[name] = annotation
        if default:
            defaults[name] = default[0]
    namespace = {"__annotations__": annotations, "__doc__": "A plan was adopted.", **defaults}
    model = type("Planned", (Event,), namespace)
    event_type("Planned", 1, term="计划", registry=registry)(model)
    return registry


def problems(new: EventRegistry, old: EventRegistry | None = None) -> list[str]:
    return breaking_changes(catalogue(old or release_one()), catalogue(new), new)


def test_the_same_catalogue_is_compatible() -> None:
    assert problems(release_one()) == []
    assert problems(release_two()) == []


def test_an_additive_change_passes() -> None:
    """A new optional field, a new event type and a tighter limit are all readable."""
    registry = release_two(
        priority=(Literal["high", "low"] | None, None),
        plan_id=(str, Field(max_length=20)),
    )

    @event_type("PlanClosed", 1, term="计划关闭", registry=registry)
    class PlanClosed(Event):
        """A plan was closed."""

        plan_id: str

    assert problems(registry) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"count": None}, "Planned.v1: data.count: removed"),
        ({"count": (str,)}, "Planned.v1: data.count: type changed from 'integer' to 'string'"),
        ({"adopted_on": (str,)}, "Planned.v1: data.adopted_on: format changed from 'date'"),
        (
            {"site": (str,)},
            "Planned.v1: data.site: new required field (stored events of this version lack it)",
        ),
        ({"count": (int | None, None)}, "Planned.v1: data.count: no longer required"),
        ({"count": (int | None,)}, "Planned.v1: data.count: may now be null"),
        ({"plan_id": (str, Field(max_length=80))}, "data.plan_id: maxLength loosened from 40"),
        ({"colour": (ColourMore, ColourMore.RED)}, "new enum values ['green']"),
        ({"quarters": (tuple[dict[str, str], ...], ())}, "Planned.v1: data.quarters[]"),
    ],
    ids=[
        "removed field",
        "changed type",
        "changed format",
        "new required field",
        "required became optional",
        "may be null",
        "looser limit",
        "new enum value",
        "nested shape",
    ],
)
def test_a_breaking_change_fails_and_says_what_and_where(
    change: dict[str, Any], expected: str
) -> None:
    found = problems(release_two(**change))
    assert any(expected in line for line in found), found


def test_a_nested_model_field_removed_fails() -> None:
    old = catalogue(release_one())
    new = copy.deepcopy(old)
    quarter = new["Planned.v1.schema.json"]["$defs"]["Quarter"]
    del quarter["properties"]["work"]
    quarter["required"].remove("work")
    assert breaking_changes(old, new) == ["Planned.v1: data.quarters[].work: removed"]


def test_a_removed_version_fails_and_a_new_version_needs_its_upcaster() -> None:
    empty = EventRegistry()
    assert problems(empty) == ["Planned.v1: removed (a published version stays in the catalogue)"]

    registry = release_one()

    @event_type("Planned", 2, term="计划", registry=registry)
    class PlannedV2(Event):
        """A plan was adopted, counted in hundredths."""

        plan_id: str = Field(max_length=40)
        hundredths: int

    assert problems(registry) == [
        "Planned.v2: no upcaster from v1 (stored v1 events could not be read)"
    ]

    @registry.upcaster("Planned", 1)
    def to_hundredths(data: dict[str, Any]) -> dict[str, Any]:
        return {"plan_id": data["plan_id"], "hundredths": data["count"] * 100}

    assert problems(registry) == []


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "removed field": lambda s: s["properties"].pop("pledge_id"),
    "changed type": lambda s: s["properties"]["pledge_id"].update(type="integer"),
    "new required field": lambda s: (
        s["properties"].update(site={"type": "string"}),
        s["required"].append("site"),
    ),
}


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_the_real_catalogue_fails_on_each_kind_of_break(mutation: str) -> None:
    """The same check against the project's own published PledgeApproved v1 schema."""
    released = catalogue()
    current = copy.deepcopy(released)
    MUTATIONS[mutation](current["PledgeApproved.v1.schema.json"])
    found = breaking_changes(released, current)
    assert len(found) == 1 and found[0].startswith("PledgeApproved.v1: data."), found


def test_the_code_is_compatible_with_the_last_release(capsys: pytest.CaptureFixture[str]) -> None:
    """The CI check itself: docs/contracts/released.json against the code."""
    document = load_released()
    assert len(document["schemas"]) > 40
    assert breaking_changes(document["schemas"], catalogue(), REGISTRY) == []
    assert main(["--check"]) == 0
    assert "compatible with release" in capsys.readouterr().out


def test_published_schemas_tell_readers_to_ignore_unknown_fields() -> None:
    schemas = catalogue()
    for name, schema in schemas.items():
        assert "ignore fields they do not know" in schema["x-suxing-readers"], name
        assert '"additionalProperties": false' not in json.dumps(schema), name
    raw = REGISTRY.model("PledgeApproved").model_json_schema()
    assert raw.get("additionalProperties") is False  # the writer's model stays strict
    assert "additionalProperties" not in published(raw)
