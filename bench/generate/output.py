"""Writing a generated enterprise into the services' event stores, and the CLI."""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Sequence

from bench.generate.company import counts, generate
from bench.generate.model import Enterprise


async def write_events(enterprise: Enterprise, db_urls: dict[str, str], *, batch: int = 500) -> int:
    """Append the planned events with the event store, one database per service (``db_urls``
    maps ``pledges``/``reviews`` to a SQLAlchemy async URL), in transactions of ``batch``
    events, with their outbox rows so each service's relay publishes them later. Returns the
    number of events written. The databases must be empty (every stream starts at 0)."""
    from shared.contracts.envelope import Actor, Org
    from shared.db import Database
    from shared.eventstore import EventStore, Metadata, kernel_metadata

    written = 0
    correlation = uuid.UUID(int=enterprise.seed)
    for topic, url in db_urls.items():
        items = [item for item in enterprise.events if item.topic == topic]
        database = Database(url)
        await database.create_all([kernel_metadata])
        store = EventStore()
        versions: dict[str, int] = {}
        try:
            for start in range(0, len(items), batch):
                async with database.transaction() as session:
                    for item in items[start : start + batch]:
                        version = versions.get(item.stream, 0)
                        meta = Metadata(
                            actor=Actor(ref="bench", role="generator"),
                            org=Org(unit=item.unit, branch=item.branch),
                            occurred_at=item.occurred_at,
                            correlation_id=correlation,
                            year=item.year,
                        )
                        await store.append(
                            session,
                            stream=item.stream,
                            expected_version=version,
                            events_=[item.event],
                            meta=meta,
                            partition_key=item.key,
                        )
                        versions[item.stream] = version + 1
            written += len(items)
        finally:
            await database.dispose()
    return written


async def write_all_bulk(enterprise: Enterprise, db_urls: dict[str, str]) -> int:
    """Like :func:`write_events`, through the bulk path (bench/generate/bulk.py)."""
    from bench.generate.bulk import write_bulk

    written = 0
    for topic, url in db_urls.items():
        items = [item for item in enterprise.events if item.topic == topic]
        written += await write_bulk(items, url, seed=enterprise.seed)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pledges-db", help="also append the pledges events to this database")
    parser.add_argument("--reviews-db", help="also append the reviews events to this database")
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="append through EventStore.append (slow) instead of the bulk path",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    enterprise = generate(args.seed, scale=args.scale)
    elapsed = time.perf_counter() - started
    table = counts(enterprise)
    width = max(len(name) for name in table)
    print(f"seed {args.seed}, scale {args.scale}, year {enterprise.year}")
    for name, value in table.items():
        print(f"{name:<{width}}  {value:>10,}")
    print(f"generated in {elapsed:.1f} s")
    urls = {"pledges": args.pledges_db, "reviews": args.reviews_db}
    urls = {topic: url for topic, url in urls.items() if url}
    if urls:
        started = time.perf_counter()
        if args.one_by_one:
            written = asyncio.run(write_events(enterprise, urls))
        else:
            written = asyncio.run(write_all_bulk(enterprise, urls))
        print(f"wrote {written:,} events in {time.perf_counter() - started:.1f} s")
    return 0
