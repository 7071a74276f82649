"""FastStream transport for the checkpointed consumer.

One batch subscriber per consumer group per process (BROKER.md: two subscribers of one group
in one app can wedge Tansu's group coordinator). Offsets come from our database: on every
assignment the consumer seeks to the stored positions; Kafka's committed offsets are written
too, after our commit, but only so that standard lag tools can see progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

from shared.contracts.topics import dlq_topic
from shared.db import Database
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.consumer import CheckpointedConsumer, Record

DEAD_LETTER_MAX_BYTES = 64 * 1024
"""A dead letter carries at most this much of the record; the rest is on the source topic."""

log = logging.getLogger(__name__)

TopicIds = Callable[[Sequence[str]], Awaitable[dict[str, str]]]


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: CheckpointedSubscriber) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # After a broker that lost its data, the group is re-joined before the topic watch
        # ticks: learn the topics' current ids first, so offsets stored for the lost topics
        # are not applied to the new ones (that skipped the new log's first records).
        try:
            await self.runner.refresh_topic_ids()
        except Exception as exc:
            log.warning("%s: topic check on assignment failed: %s", self.runner.consumer.name, exc)
        await self.runner.seek_to_stored(assigned)


class CheckpointedSubscriber:
    """Wires a :class:`CheckpointedConsumer` to a FastStream batch subscriber."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        consumer: CheckpointedConsumer,
        topics: Sequence[str],
        group_id: str,
        profile: KafkaClientProfile,
        topic_ids: TopicIds | None = None,
        max_records: int = 5000,
        retry_seconds: float = 1.0,
        topic_check_seconds: float = 5.0,
    ) -> None:
        self.consumer = consumer
        self.broker = broker
        if consumer.dead_letter_sink is None:
            consumer.dead_letter_sink = self.publish_dead_letter
        self.topics = list(topics)
        self.topic_ids = topic_ids
        self.retry_seconds = retry_seconds
        self.topic_check_seconds = topic_check_seconds
        self.failures = 0
        self.failures_in_a_row = 0
        self.batches = 0
        self._watch: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.subscriber = broker.subscriber(
            *self.topics,
            batch=True,
            group_id=group_id,
            max_records=max_records,
            batch_timeout_ms=100,
            ack_policy=AckPolicy.MANUAL,
            listener=_SeekToStored(self),
            decoder=_raw_records,
            title=f"{consumer.name} projection",
            **profile.consumer_kwargs(),
        )
        self.subscriber(self._handle)

    @property
    def kafka(self) -> AIOKafkaConsumer | None:
        return getattr(self.subscriber, "consumer", None)

    async def refresh_topic_ids(self) -> bool:
        """Re-read the broker's topic ids; True when one changed (the topic was recreated)."""
        if self.topic_ids is None:
            return False
        current = await self.topic_ids(self.topics)
        changed = any(self.consumer.topic_ids.get(t) not in (None, i) for t, i in current.items())
        self.consumer.topic_ids.update(current)
        return changed

    async def start_watch(self) -> None:
        """Poll topic ids so a broker that lost its data is noticed and re-read from 0."""
        await self.refresh_topic_ids()

        async def watch() -> None:
            while True:
                await asyncio.sleep(self.topic_check_seconds)
                try:
                    if await self.refresh_topic_ids() and self.kafka is not None:
                        assigned = self.kafka.assignment()
                        log.warning(
                            "%s: a topic was recreated; re-reading from the start",
                            self.consumer.name,
                        )
                        await self.seek_to_stored(set(assigned))
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("%s: topic check failed: %s", self.consumer.name, exc)

        self._watch = asyncio.create_task(watch(), name=f"{self.consumer.name}-topic-watch")

    async def stop_watch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None

    async def seek_to_stored(self, partitions: set[TopicPartition]) -> None:
        kafka = self.kafka
        if kafka is None or not partitions:
            return
        for topic in {tp.topic for tp in partitions}:
            stored = await self.consumer.stored_offsets(topic)
            for tp in (p for p in partitions if p.topic == topic):
                if tp.partition in stored:
                    kafka.seek(tp, stored[tp.partition])
                else:
                    await kafka.seek_to_beginning(tp)

    @property
    def stuck(self) -> bool:
        """Batches keep failing (database or broker trouble): records wait, nothing applies."""
        return self.failures_in_a_row >= 3

    async def publish_dead_letter(self, record: Record, reason: str) -> None:
        """Send an unreadable or unappliable record to ``<topic>.dlq`` with the reason."""
        headers = {
            "error": reason[:1000],
            "source-topic": record.topic,
            "source-partition": str(record.partition),
            "source-offset": str(record.offset),
            "consumer": self.consumer.name,
        }
        value = record.value or b""
        if len(value) > DEAD_LETTER_MAX_BYTES:
            # Too large to publish (the producer's request limit): a record that cannot be
            # dead-lettered would stop the consumer. The original stays on the source topic.
            headers["truncated-from"] = str(len(value))
            value = value[:DEAD_LETTER_MAX_BYTES]
        await self.broker.publish(
            value, topic=dlq_topic(record.topic), key=record.key, headers=headers
        )

    async def switch_database(self, db: Database) -> None:
        """Follow a read model to another slot (shared/readmodel): between batches, point the
        consumer at ``db`` and seek every assigned partition to that slot's stored offsets. A
        batch fetched before the seek is recognised by its offsets and re-read."""
        async with self._lock:
            self.consumer.db = db
            if self.kafka is not None:
                await self.seek_to_stored(set(self.kafka.assignment()))

    async def _handle(self, records: list[Any]) -> None:
        async with self._lock:
            await self._handle_locked(records)

    async def _handle_locked(self, records: list[Any]) -> None:
        try:
            result = await self.consumer.process(records)
        except Exception as exc:
            # Not a poison message (those are dead-lettered inside): the database or broker
            # failed. Rewind to what is stored and try again after a pause; nothing is skipped.
            self.failures += 1
            self.failures_in_a_row += 1
            log.warning("%s: batch failed (%s); retrying", self.consumer.name, exc)
            await asyncio.sleep(self.retry_seconds)
            await self.seek_to_stored({TopicPartition(r.topic, r.partition) for r in records})
            return
        self.batches += 1
        self.failures_in_a_row = 0
        if result.rewind:
            await self.seek_to_stored({TopicPartition(t, p) for t, p in result.rewind})
            records = [r for r in records if (r.topic, r.partition) not in result.rewind]
        await self._commit_for_observers(records)

    async def _commit_for_observers(self, records: Sequence[Record]) -> None:
        kafka = self.kafka
        if kafka is None:
            return
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            if tp not in offsets or offsets[tp].offset <= r.offset:
                offsets[tp] = OffsetAndMetadata(r.offset + 1, "")
        try:
            await kafka.commit(offsets)
        except Exception as exc:  # informational only: the database holds the truth
            log.debug("%s: offset commit for observers failed: %s", self.consumer.name, exc)


async def _raw_records(message: Any) -> Any:
    # Hand the aiokafka records through untouched: the checkpointed consumer decodes each one
    # itself so that one bad record goes to the DLQ instead of failing the whole batch.
    return list(message.raw_message)
