"""Figures, verdicts against the issue's targets, and the Markdown that docs/benchmarks.md gets."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Line:
    scenario: str
    db: str
    metric: str
    value: str
    target: str = ""
    verdict: str = ""


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "n/a"


def check(ratio: float, *, at_least: float | None = None, at_most: float | None = None) -> str:
    ok = (at_least is None or ratio >= at_least) and (at_most is None or ratio <= at_most)
    return "met" if ok else "missed"


@dataclass
class Report:
    command: str = field(default_factory=lambda: "python -m bench.run " + shlex.join(sys.argv[1:]))
    scale: float = 1.0
    lines: list[Line] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, line: Line) -> Line:
        self.lines.append(line)
        print(
            f"  {line.scenario:<9} {line.db:<10} {line.metric:<46} {line.value:>16}"
            f"  {line.target:<10} {line.verdict}",
            flush=True,
        )
        return line

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    def markdown(self) -> str:
        out = [
            "| scenario | database | measure | value | target | verdict |",
            "| --- | --- | --- | ---: | --- | --- |",
        ]
        for line in self.lines:
            out.append(
                f"| {line.scenario} | {line.db} | {line.metric} | {line.value} | "
                f"{line.target} | {line.verdict} |"
            )
        return "\n".join(out)

    def section(self, title: str) -> str:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        parts = [
            f"## {title} ({when})",
            "",
            f"Machine: `{machine()}`, {os.cpu_count()} cores. Command: `{self.command}`.",
            "",
            self.markdown(),
        ]
        if self.notes:
            parts += ["", *(f"- {note}" for note in self.notes)]
        return "\n".join(parts) + "\n"

    def write_docs(self, title: str, path: Path = DOCS) -> None:
        text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
        path.write_text(text.rstrip("\n") + "\n\n" + self.section(title), encoding="utf-8")


def machine() -> str:
    try:
        return subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return platform.platform()
