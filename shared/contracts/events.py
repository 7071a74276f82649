"""Base class of every event payload."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A past-tense fact. Subclasses are registered with :func:`event_type`.

    ``type_name`` and ``schema_version`` are the stable contract identity; they are set by the
    decorator and never change for a published event (a breaking change is a new version).
    ``term`` is the Chinese term users know the fact by. A subclass's docstring opens with its
    English meaning (the catalogue's "meaning" column), and every field has an attribute
    docstring: its description in the published JSON Schema.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 0
    term: ClassVar[str] = ""
    """The Simplified Chinese term of the event (e.g. 通过定诺), set by :func:`event_type`."""
    private: ClassVar[bool] = False
    """A private event stays in its service's own store: it is never put in the outbox, so
    the relay never publishes it (individual ballots: DOMAIN.md section 3)."""
