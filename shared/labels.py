"""Enumerations whose members carry the Simplified Chinese label users see."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    """A ``StrEnum`` declared as ``CODE = "code", "标签"``: the value is the stable code that
    travels in events and APIs, ``label`` is the text shown to people."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member
