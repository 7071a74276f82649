"""Every published event, and every field of it, says what it means in the catalogue.

Subscribers read docs/events/ without the code: each event needs its Chinese term (the word
users and the seed use) and an English meaning (the first paragraph of its docstring), and
each property of its JSON Schema, nested models and enumerations included, a description.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from shared.contracts import REGISTRY, Envelope
from shared.contracts.catalogue import meaning, render

pytestmark = pytest.mark.unit

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _undescribed(schema: dict[str, Any], where: str) -> Iterator[str]:
    """Every property of ``schema`` at any depth, and every entry of its ``$defs`` (nested
    models and enumerations), that has no description."""
    for name, entry in schema.get("$defs", {}).items():
        if not entry.get("description"):
            yield f"{where}: $defs.{name}"
        yield from _undescribed(entry, f"{where}: $defs.{name}")
    for name, prop in schema.get("properties", {}).items():
        if not prop.get("description"):
            yield f"{where}.{name}"
        yield from _undescribed(prop, f"{where}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _undescribed(schema[key], where)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for option in schema.get(key, []):
            yield from _undescribed(option, where)


def _offenders() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"term": [], "meaning": [], "description": []}
    for type_name, version, model in REGISTRY.types():
        label = f"{type_name} v{version}"
        if not _CJK.search(model.term):
            found["term"].append(label)
        if not meaning(model):
            found["meaning"].append(label)
        found["description"] += _undescribed(model.model_json_schema(), label)
    found["description"] += _undescribed(Envelope.model_json_schema(), "envelope")
    return found


def test_every_event_has_a_chinese_term_and_an_english_meaning() -> None:
    found = _offenders()
    assert not found["term"], (
        "events without a Chinese term (pass term= to @event_type): " + ", ".join(found["term"])
    )
    assert not found["meaning"], (
        "events without a meaning (the first paragraph of the class docstring): "
        + ", ".join(found["meaning"])
    )


def test_every_field_of_every_event_and_of_the_envelope_has_a_description() -> None:
    undescribed = _offenders()["description"]
    assert not undescribed, (
        "fields, nested models and enumerations without a description (an attribute "
        "docstring below the field, or a class docstring): " + ", ".join(undescribed)
    )


def test_the_catalogue_index_shows_term_and_meaning() -> None:
    index = render()["README.md"]
    assert "| event | version | 术语 | meaning |" in index
    assert "| 通过定诺 | The branch committee approved the pledge" in index
