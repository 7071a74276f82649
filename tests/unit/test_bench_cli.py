"""The command lines of the benchmarks parse: ``make bench`` and ``make bench-full`` call
``python -m bench.run`` with these arguments (a duplicated option once broke both)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bench.run.__main__ import SCENARIOS, parser

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


def make_bench_lines() -> dict[str, list[str]]:
    text = MAKEFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    found: dict[str, list[str]] = {}
    for target in ("bench", "bench-full"):
        match = re.search(rf"^{re.escape(target)}:.*\n\t(.+)$", text, re.MULTILINE)
        assert match, f"make {target} has no recipe"
        words = shlex.split(match.group(1).replace("$(BENCH_DB)", "sqlite,postgresql"))
        found[target] = words[words.index("bench.run") + 1 :]
    return found


@pytest.mark.parametrize("target", ["bench", "bench-full"])
def test_make_bench_arguments_parse(target: str) -> None:
    args = parser().parse_args(make_bench_lines()[target])
    assert args.scenario == ["all"]
    assert args.db == "sqlite,postgresql"
    assert isinstance(args.wrk_seconds, float) and isinstance(args.read_wrk_seconds, int)


def test_every_scenario_is_a_choice() -> None:
    for name in SCENARIOS:
        assert parser().parse_args(["--scenario", name]).scenario == [name]
    with pytest.raises(SystemExit):
        parser().parse_args(["--scenario", "nothing"])
