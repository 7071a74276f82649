"""Prometheus metrics of one service process: event log, outbox, relay, consumer.

Values that live in the database (log size, backlog, dead letters) are read when ``/metrics``
is scraped; counters that live in memory come from the relay's and consumer's stats. Each app
has its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from shared.contracts import REGISTRY
from shared.eventstore.relay import outbox_backlog
from shared.eventstore.tables import dead_letters, events

if TYPE_CHECKING:
    from shared.service import Runtime
    from shared.settings import Settings


@dataclass
class Snapshot:
    log_position: int = 0
    outbox_backlog: int = 0
    outbox_oldest_age: float = 0.0
    dead_letters: int = 0
    consumer_lag: dict[tuple[str, int], int] = field(default_factory=dict)


class RuntimeCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.snapshot = Snapshot()

    async def refresh(self) -> None:
        runtime = self.runtime
        async with runtime.db.reading() as session:
            # The latest *published* event: a private event (a ballot) moving this gauge
            # would tell anyone scraping it when each ballot was cast.
            position = await session.scalar(
                select(func.coalesce(func.max(events.c.position), 0)).where(
                    events.c.type.not_in(REGISTRY.private_types())
                )
            )
            backlog, oldest = await outbox_backlog(session)
        async with runtime.read_db().reading() as session:
            dead = await session.scalar(select(func.count()).select_from(dead_letters))
        lag: dict[tuple[str, int], int] = {}
        subscriber = runtime.subscriber
        kafka = subscriber.kafka if subscriber is not None else None
        if kafka is not None:
            for tp in kafka.assignment():
                high = kafka.highwater(tp)
                position_ = await kafka.position(tp) if high is not None else None
                if high is not None and position_ is not None:
                    lag[(tp.topic, tp.partition)] = max(0, high - position_)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        self.snapshot = Snapshot(int(position or 0), backlog, age, int(dead or 0), lag)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        service = self.runtime.spec.name
        snap = self.snapshot

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            metric = GaugeMetricFamily(name, doc, labels=["service"])
            metric.add_metric([service], value)
            return metric

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            metric = CounterMetricFamily(name, doc, labels=["service"])
            metric.add_metric([service], value)
            return metric

        yield gauge(
            "suxing_event_log_position",
            "Position of the latest stored event that is published (private events such as "
            "ballots are left out: their timing belongs to the reviewer)",
            snap.log_position,
        )
        yield gauge("suxing_outbox_backlog", "Stored events not yet published", snap.outbox_backlog)
        yield gauge(
            "suxing_outbox_oldest_age_seconds",
            "Age of the oldest unpublished event",
            snap.outbox_oldest_age,
        )
        relay = self.runtime.relay.stats
        yield counter("suxing_relay_published", "Events the relay published", relay.published)
        yield counter(
            "suxing_relay_republished_after_reset",
            "Events re-queued because the broker lost a topic",
            relay.republished_after_reset,
        )
        yield gauge(
            "suxing_dead_letters",
            "Records this service's consumer dead-lettered",
            snap.dead_letters,
        )
        consumer = self.runtime.consumer
        if consumer is None:
            return
        stats = consumer.stats
        yield counter("suxing_consumer_batches", "Batches processed", stats.batches)
        yield counter("suxing_consumer_records", "Records received", stats.records)
        yield counter("suxing_consumer_applied", "Events applied to projections", stats.applied)
        yield counter("suxing_consumer_duplicates", "Redelivered events skipped", stats.duplicates)
        yield counter("suxing_consumer_apply_seconds", "Time spent applying batches", stats.seconds)
        yield gauge(
            "suxing_consumer_last_batch_seconds",
            "Duration of the last batch",
            stats.last_batch_seconds,
        )
        lag = GaugeMetricFamily(
            "suxing_consumer_lag",
            "Records behind the broker's high watermark (Tansu under-reports it)",
            labels=["service", "topic", "partition"],
        )
        for (topic, partition), value in sorted(snap.consumer_lag.items()):
            lag.add_metric([service, topic, str(partition)], value)
        yield lag


class Metrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.collector = RuntimeCollector(runtime)
        self.registry.register(self.collector)

    async def render(self) -> bytes:
        await self.collector.refresh()
        return generate_latest(self.registry)


def metrics_refusal(settings: Settings, authorization: str | None) -> tuple[int, str] | None:
    """Why ``/metrics`` is not served to this caller, as (status, message), or None.

    With ``SUXING_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>`` is served. In
    production without a token nothing is served (the figures describe the organization's
    activity); the embedded profile serves everyone, as it listens on loopback."""
    token = settings.metrics_token
    if not token:
        if settings.embedded:
            return None
        return 403, "生产环境中 /metrics 需要令牌：请设置 SUXING_METRICS_TOKEN 并在抓取时携带"
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        return 401, "访问 /metrics 需要有效的令牌（Authorization: Bearer）"
    return None
