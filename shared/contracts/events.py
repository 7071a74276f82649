"""Base class of every event payload."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A past-tense fact. Subclasses are registered with :func:`event_type`.

    ``type_name`` and ``schema_version`` are the stable contract identity; they are set by the
    decorator and never change for a published event (a breaking change is a new version).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 0
    private: ClassVar[bool] = False
    """A private event stays in its service's own store: it is never put in the outbox, so
    the relay never publishes it (individual ballots: DOMAIN.md section 3)."""
