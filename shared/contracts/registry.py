"""Maps (type, version) to a payload model; upcasts old versions to the current one on read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.contracts.events import Event

E = TypeVar("E", bound=type[Event])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    """The registry has no model for this type, or the version is newer than the code knows."""


@dataclass
class EventRegistry:
    _models: dict[tuple[str, int], type[Event]] = field(default_factory=dict)
    _current: dict[str, int] = field(default_factory=dict)
    _upcasters: dict[tuple[str, int], Upcaster] = field(default_factory=dict)

    def register(self, model: type[Event], type_name: str, version: int) -> None:
        key = (type_name, version)
        existing = self._models.get(key)
        if existing is not None and existing is not model:
            raise ValueError(f"event {type_name} v{version} is already registered")
        self._models[key] = model
        self._current[type_name] = max(version, self._current.get(type_name, 0))

    def upcaster(self, type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Register a function turning ``from_version`` data into ``from_version + 1`` data."""

        def decorate(fn: Upcaster) -> Upcaster:
            self._upcasters[(type_name, from_version)] = fn
            return fn

        return decorate

    def has_upcaster(self, type_name: str, from_version: int) -> bool:
        return (type_name, from_version) in self._upcasters

    def current_version(self, type_name: str) -> int:
        try:
            return self._current[type_name]
        except KeyError:
            raise UnknownEventType(f"unknown event type {type_name!r}") from None

    def model(self, type_name: str, version: int | None = None) -> type[Event]:
        version = self.current_version(type_name) if version is None else version
        try:
            return self._models[(type_name, version)]
        except KeyError:
            raise UnknownEventType(f"unknown event {type_name!r} v{version}") from None

    def decode(self, type_name: str, version: int, data: dict[str, Any]) -> Event:
        """Validate stored or received data, upcasting it step by step to the current
        version first.

        Readers are tolerant: a field this code does not know (an optional field a newer
        writer added without a new version, docs/compatibility.md) is ignored, at every
        depth. Writers stay strict: building an event in code with an unknown field fails
        (the models forbid extra fields), so a typo never reaches the log."""
        current = self.current_version(type_name)
        if version > current:
            raise UnknownEventType(
                f"{type_name} v{version} is newer than this code knows (v{current})"
            )
        while version < current:
            step = self._upcasters.get((type_name, version))
            if step is None:
                raise UnknownEventType(f"no upcaster for {type_name} v{version}")
            data = step(dict(data))
            version += 1
        return self._models[(type_name, current)].model_validate(data, extra="ignore")

    def private_types(self) -> list[str]:
        """Type names of the events that never leave their service (``Event.private``)."""
        return sorted({name for (name, _), model in self._models.items() if model.private})

    def types(self) -> list[tuple[str, int, type[Event]]]:
        return sorted((t, v, m) for (t, v), m in self._models.items())

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._current


REGISTRY = EventRegistry()


def event_type(
    type_name: str, version: int = 1, *, term: str = "", registry: EventRegistry = REGISTRY
) -> Callable[[E], E]:
    """Class decorator: give an event its stable contract name and version, and register it.

    ``term`` is the Simplified Chinese term users know the fact by (e.g. 通过定诺 for
    ``PledgeApproved``); the published catalogue shows it next to the English meaning. Every
    published contract passes one (``tests/unit/test_catalogue_meanings.py``)."""

    def decorate(cls: E) -> E:
        cls.type_name = type_name
        cls.schema_version = version
        cls.term = term
        registry.register(cls, type_name, version)
        return cls

    return decorate
