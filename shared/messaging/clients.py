"""Kafka client settings per profile (BROKER.md: what the embedded broker needs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.messaging.security import KafkaSecurity


@dataclass(frozen=True)
class KafkaClientProfile:
    bootstrap: str
    # Tansu holds a group join for ~session_timeout/2, so the embedded profile keeps it short;
    # Apache Kafka refuses sessions under 6 s by default.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    # aiokafka's idempotent producer cannot start against Tansu (InitProducerId v0 fails).
    enable_idempotence: bool = True
    client_id: str = "suxing"
    # How every client of the process authenticates and encrypts (SUXING_KAFKA_*).
    security: KafkaSecurity = field(default_factory=KafkaSecurity)

    @classmethod
    def embedded(
        cls, bootstrap: str, client_id: str = "suxing", security: KafkaSecurity | None = None
    ) -> KafkaClientProfile:
        return cls(
            bootstrap=bootstrap,
            session_timeout_ms=3_000,
            heartbeat_interval_ms=1_000,
            enable_idempotence=False,
            client_id=client_id,
            security=security or KafkaSecurity(),
        )

    def producer_kwargs(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap,
            "client_id": self.client_id,
            "acks": "all",
            "enable_idempotence": self.enable_idempotence,
            "linger_ms": 5,
            "max_batch_size": 512 * 1024,
            "request_timeout_ms": 30_000,
            **self.security.aiokafka(),
        }

    def consumer_kwargs(self) -> dict[str, Any]:
        return {
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            # Never "latest": our offsets live in the database, and Tansu's wrong high
            # watermark makes "latest" re-deliver old records anyway.
            "auto_offset_reset": "earliest",
        }
