"""Canonical JSON: one byte sequence per value, so hashes and comparisons are stable."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode already JSON-compatible data (see ``model_dump(mode="json")``).

    Keys sorted, no insignificant whitespace, UTF-8 without escaping Chinese text.
    """
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")
