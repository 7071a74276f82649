"""Writing straight to the topics, as a misbehaving producer or another system would."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.messaging.clients import KafkaClientProfile
from tests.support.kafka import Seen


async def produce(
    bootstrap: str, topic: str, records: Sequence[tuple[bytes | None, bytes, list[Any]]]
) -> None:
    kwargs = KafkaClientProfile.embedded(bootstrap).producer_kwargs()
    kwargs["max_request_size"] = 4 * 1024 * 1024
    producer = AIOKafkaProducer(**kwargs)
    await producer.start()
    try:
        pending = [
            await producer.send(topic, value, key=key, headers=headers)
            for key, value, headers in records
        ]
        for future in pending:
            await future
    finally:
        await producer.stop()


def poison_records(template: Seen) -> dict[str, tuple[bytes | None, bytes, list[Any]]]:
    """One of each kind of bad message, built from a real PledgeDeclared record."""
    assert template.envelope is not None and template.raw is not None
    real = json.loads(template.raw)
    key = template.key

    def variant(**changes: Any) -> bytes:
        body = {**real, "event_id": str(uuid.uuid4()), **changes}
        return json.dumps(body, ensure_ascii=False).encode()

    fresh = f"pledge-poison-{uuid.uuid4().hex[:8]}"
    return {
        "malformed JSON": (key, b'{"event_id": "not closed', []),
        "not JSON at all": (key, "\x00\xff党员".encode("utf-8", "replace") + b"\xff\xfe", []),
        "unknown type": (key, variant(type="PledgeTeleported", stream=fresh, sequence=1), []),
        "future version": (key, variant(version=99, stream=fresh + "-v", sequence=1), []),
        "oversize": (
            key,
            variant(
                stream=fresh + "-big",
                sequence=1,
                data={**real["data"], "content": "长" * 600_000},
            ),
            [],
        ),
        "another system": (
            b"order-17",
            json.dumps({"orderId": 17, "sku": "A-1", "qty": 3, "ts": 1700000000}).encode(),
            [("content-type", b"application/json")],
        ),
        "envelope without data": (key, variant(data=None, stream=fresh + "-n", sequence=1), []),
    }
