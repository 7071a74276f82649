"""The topics of the shared event log. Every topic has the same partition count, so they are
co-partitioned by the message key (the stream's home branch id)."""

from __future__ import annotations

from dataclasses import dataclass, field

TOPIC_PREFIX = "suxing"
SERVICES = ("pledges", "reviews", "scoring")


def service_topic(service: str) -> str:
    """The topic a service's relay publishes its events to."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{TOPIC_PREFIX}.{service}"


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = 1
    # Retention forever: the log is the source of truth and rebuilds start from offset 0.
    configs: dict[str, str] = field(default_factory=lambda: {"retention.ms": "-1"})


def all_topics(partitions: int, replication_factor: int = 1) -> list[TopicSpec]:
    """Every event topic and its dead-letter topic."""
    specs: list[TopicSpec] = []
    for service in SERVICES:
        topic = service_topic(service)
        specs.append(TopicSpec(topic, partitions, replication_factor))
        specs.append(TopicSpec(dlq_topic(topic), partitions, replication_factor))
    return specs
