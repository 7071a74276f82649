"""What every aggregate of the pledges service shares: folding a stream into state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from shared.contracts.events import Event

S = TypeVar("S")


def fold(evolve: Callable[[S | None, Event], S], events: Iterable[Event]) -> S | None:
    """Rebuild an aggregate's state from its stream; ``None`` when the stream is empty."""
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state


def unexpected(state: object, event: Event) -> TypeError:
    """A stream holding an event its aggregate cannot apply is a bug, never user input."""
    where = "an empty stream" if state is None else type(state).__name__
    return TypeError(f"{type(event).__name__} cannot be applied to {where}")
