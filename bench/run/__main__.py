"""``python -m bench.run``: the enterprise benchmarks of issue 8 (see bench/run/__init__.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Sequence

from bench.run import appends, commands, pipeline, reads
from bench.run.report import Report
from bench.run.stack import load, stack

SCENARIOS = ("command", "relay", "rebuild", "latency", "scaling", "reads")


async def run_db(db_kind: str, args: argparse.Namespace, report: Report) -> None:
    wanted = set(SCENARIOS) if "all" in args.scenario else set(args.scenario)
    async with stack(db_kind) as run:
        started = time.perf_counter()
        # The reads (and the pledges half of the latency run) run the services on the loaded
        # stores: those are migrated first.
        loader = reads.load_served if wanted & {"reads", "latency"} else load
        data = await loader(run, args.seed, args.scale)
        print(f"[{db_kind}] loaded {data.total:,} events in {time.perf_counter() - started:.1f} s")
        # The relay fills the service topics every later scenario reads.
        topics = await pipeline.publish(run, data, report if "relay" in wanted else None)
        single: tuple[int, float] | None = None
        if wanted & {"rebuild", "scaling"}:
            single = await pipeline.rebuild(run, topics, report)
        if "scaling" in wanted and single is not None:
            await pipeline.scaling_instances(run, topics, report, args.scaling_records)
            if args.scale * 2 <= 1:
                double = await load(run, args.seed, args.scale * 2)
                await pipeline.scaling_data(run, double, single, report)
            else:  # the generator's largest is 1.0: compare half the data with all of it
                half = await load(run, args.seed, args.scale / 2)
                base = await pipeline.rebuild_only(run, half, "bench-half")
                await pipeline.scaling_data(run, None, base, report, double_result=single)
        if "command" in wanted:
            await appends.append_vs_insert(run, data, report, count=args.appends)
        if wanted & {"command", "latency"}:
            await commands.services(run, data, report, args, wanted)
        if "reads" in wanted:
            await reads.reads(run, data, topics, report, args)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--scenario", nargs="+", default=["all"], choices=["all", *SCENARIOS])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--ballots",
        type=int,
        default=2000,
        help="ballots in the command run (each a different sheet; the run ends when all are "
        "answered or after --wrk-seconds)",
    )
    parser.add_argument(
        "--wrk-seconds", type=float, default=8.0, help="duration of each wrk run (floor, ballots)"
    )
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="drive the command run with the Python client even if wrk is installed",
    )
    parser.add_argument("--appends", type=int, default=2000, help="events in the append run")
    parser.add_argument(
        "--scaling-records",
        type=int,
        default=None,
        help="replay only about this many records in the 1-vs-2 instances run (the start of "
        "every partition); default: all",
    )
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument(
        "--latency-rate",
        type=float,
        default=5.0,
        help="periods closed, then pledge commands, per second",
    )
    parser.add_argument("--reads", type=int, default=200, help="requests per read figure")
    parser.add_argument("--page-loads", type=int, default=30, help="turnout and org page loads")
    parser.add_argument("--read-concurrency", type=int, default=4)
    parser.add_argument(
        "--read-wrk-seconds", type=int, default=5, help="duration of each wrk run (reads)"
    )
    parser.add_argument(
        "--read-profile", default="", help="reads: profile the servers into PREFIX.<db>.*.txt"
    )
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--title", default="Enterprise benchmarks")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = Report(scale=args.scale)
    for db_kind in [d.strip() for d in args.db.split(",") if d.strip()]:
        print(f"== {db_kind}, scale {args.scale}, seed {args.seed}", flush=True)
        asyncio.run(run_db(db_kind, args, report))
    print()
    print(report.markdown())
    if args.write_docs:
        report.write_docs(args.title)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
