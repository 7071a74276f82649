"""What the reviews aggregates share: folding a stream, and time as users read it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypeVar

from shared.contracts.events import Event

S = TypeVar("S")

# Users read times in messages in Beijing time; events keep UTC.
_BEIJING = timezone(timedelta(hours=8))


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


def utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now.astimezone(UTC)


def shown(moment: datetime) -> str:
    return f"{moment.astimezone(_BEIJING):%Y-%m-%d %H:%M}（北京时间）"
