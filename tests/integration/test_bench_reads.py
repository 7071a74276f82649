"""The ``reads`` scenario of the benchmark harness at a tiny scale, so that it cannot rot:
the services start on the loaded stores and the rebuilt read model, answer with the company's
figures over real HTTP, and every figure is reported beside its floor."""

from __future__ import annotations

import pytest

from bench.run import pipeline, reads
from bench.run.__main__ import parser
from bench.run.report import Report
from bench.run.stack import stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TINY = 0.002  # one unit, two branches


async def test_the_reads_scenario_measures_each_read_beside_its_floor() -> None:
    args = parser().parse_args(
        [
            "--seed",
            "3",
            "--reads",
            "4",
            "--page-loads",
            "2",
            "--read-concurrency",
            "2",
            "--wrk-seconds",
            "1",
            "--read-wrk-seconds",
            "1",
        ]
    )
    report = Report(command="test", scale=TINY)
    async with stack("sqlite") as run:
        data = await reads.load_served(run, 3, TINY)
        topics = await pipeline.publish(run, data, None)
        await reads.reads(run, data, topics, report, args)
    metrics = [line.metric for line in report.lines]
    for label in ("statistics company", "statistics unit", "statistics branch"):
        for flight in ("1 in flight", "2 in flight"):
            assert f"{label}, {flight} (4): p50/p95/p99" in metrics
    assert "turnout company, 1 in flight (2): p50/p95/p99" in metrics
    assert "org page, company, 2 in flight (2): p50/p95/p99" in metrics
    assert "org page, company, first load (cold)" in metrics
    assert sum("floor GET /health/live" in m for m in metrics) >= 2 * 5
    targeted = [line for line in report.lines if line.target]
    assert {line.metric.split(",")[0] for line in targeted} >= {"statistics company", "org page"}
    assert all(line.verdict in ("met", "missed") for line in targeted)
    assert not [note for note in report.notes if "answered" in note], report.notes
    assert any("voted (matched by pseudonym)" in note for note in report.notes), report.notes
