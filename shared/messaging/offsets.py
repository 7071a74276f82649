"""Where each partition really ends.

BROKER.md: Tansu answers ListOffsets(LATEST) with the base offset of the last batch + 1, so
the reported high watermark can be too low. Reading from that point on and taking the last
record's offset + 1 gives the true end on Tansu and changes nothing on Apache Kafka.
"""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, TopicPartition


def true_end_offsets(bootstrap: str, topic: str, **client_settings: Any) -> dict[int, int]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
        **client_settings,
    )
    try:
        partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return {}
        reported = consumer.end_offsets(tps)
        ends: dict[int, int] = {}
        for tp in tps:
            end = int(reported[tp])
            if end == 0:
                ends[tp.partition] = 0
                continue
            consumer.assign([tp])
            consumer.seek(tp, end - 1)
            last = end - 1
            while True:
                batch = consumer.poll(timeout_ms=500, max_records=10_000)
                records = batch.get(tp, [])
                if not records:
                    break
                last = max(last, records[-1].offset)
            ends[tp.partition] = last + 1
        return ends
    finally:
        consumer.close()
