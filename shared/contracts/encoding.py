"""Canonical JSON: one byte sequence per value, so hashes and comparisons are stable."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode already JSON-compatible data (see ``model_dump(mode="json")``).

    Keys sorted, no insignificant whitespace, UTF-8 without escaping Chinese text.
    """
    return _ENCODER.encode(value).encode("utf-8")


# One encoder for every call: ``json.dumps`` with non-default options builds a new one each
# time, which cost more than the encoding itself for an event envelope.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
