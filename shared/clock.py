"""The business clock: what "now" is for decisions (due dates, review windows, the review
year, ledger months, notice windows). It is real time, except where the embedded profile is
given a clock file (``SUXING_CLOCK_FILE``): a file holding one ISO-8601 time with its offset,
read again whenever it changes, so that a demonstration or an end-to-end test can stand on
30 June or move on to 5 January of the next year. The production profile refuses the
setting (``shared.settings``).

Only decisions read it. Token lifetimes, relay and consumer timings, seals and metrics keep
real time (``datetime.now``): a token issued now must not look expired to a clock in January.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

_file: Path | None = None
_seen: tuple[int, datetime] | None = None


def configure(clock_file: str | os.PathLike[str] | None) -> None:
    """Use ``clock_file`` from now on (``None``: real time). Called at start by each service
    and the portal with their settings."""
    global _file, _seen
    _file = Path(clock_file) if clock_file else None
    _seen = None


def now() -> datetime:
    """The business time, timezone-aware (UTC unless the clock file says otherwise)."""
    if _file is None:
        return datetime.now(UTC)
    return _read(_file)


def _read(path: Path) -> datetime:
    global _seen
    try:
        changed = path.stat().st_mtime_ns
    except OSError as exc:
        raise RuntimeError(f"the clock file {path} cannot be read: {exc}") from exc
    if _seen is not None and _seen[0] == changed:
        return _seen[1]
    text = path.read_text(encoding="utf-8").strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise RuntimeError(
            f"the clock file {path} does not hold an ISO-8601 time: {text!r}"
        ) from exc
    if value.tzinfo is None:
        raise RuntimeError(f"the clock file {path} must give the time with its offset: {text!r}")
    _seen = (changed, value)
    return value


def set_clock(path: str | os.PathLike[str], value: datetime) -> None:
    """Write ``value`` to a clock file (for tests and demonstrations)."""
    if value.tzinfo is None:
        raise ValueError("give the time with its offset")
    target = Path(path)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(value.isoformat(), encoding="utf-8")
    temporary.replace(target)
