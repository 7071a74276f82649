"""Figures of the fault runs (what was tried, how often, what was lost), printed and, when
``SUXING_FAULT_FIGURES`` names a file, appended to it as JSON lines for docs/reliability.md."""

from __future__ import annotations

import json
import os
from typing import Any


def record(fault: str, figures: dict[str, Any]) -> None:
    line = json.dumps({"fault": fault, **figures}, ensure_ascii=False, sort_keys=True)
    print(f"\nFIGURES {line}")
    target = os.environ.get("SUXING_FAULT_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
