"""A real consumer process for kill -9 tests: ``python -m tests.support.counter_consumer``.

Runs the checkpointed FastStream subscriber with the test projection until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.eventstore import StoredEvent, kernel_metadata
from shared.messaging import admin
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.consumer import CheckpointedConsumer
from shared.messaging.subscriber import CheckpointedSubscriber
from tests.support.events import TEST_REGISTRY
from tests.support.projection import apply, test_metadata


async def main(args: argparse.Namespace) -> None:
    db = Database(args.db)
    await db.create_all([kernel_metadata, test_metadata])
    profile = KafkaClientProfile.embedded(args.bootstrap)
    broker = KafkaBroker(args.bootstrap)

    async def slow_apply(session: AsyncSession, batch: Sequence[StoredEvent]) -> None:
        await apply(session, batch)
        # Widen the window between applying and committing, where a kill hurts most.
        await asyncio.sleep(args.delay)

    consumer = CheckpointedConsumer(name=args.name, db=db, registry=TEST_REGISTRY, apply=slow_apply)

    async def ids(names: list[str]) -> dict[str, str]:
        return await asyncio.to_thread(admin.topic_ids, args.bootstrap, names)

    runner = CheckpointedSubscriber(
        broker=broker,
        consumer=consumer,
        topics=[args.topic],
        group_id=args.group,
        profile=profile,
        topic_ids=ids,
        max_records=args.max_records,
    )
    await runner.start_watch()
    await broker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--name", default="counter")
    parser.add_argument("--max-records", type=int, default=50)
    parser.add_argument("--delay", type=float, default=0.0)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args()))
