"""Topic administration with kafka-python's admin client (3.0 API).

Works against Apache Kafka and the embedded Tansu broker alike; where Tansu differs, the
difference is handled here and commented. Every helper opens its own short-lived admin client
and always closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import kafka.errors as kafka_errors
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec

from shared.contracts.topics import TopicSpec

__all__ = [
    "PartitionDescription",
    "TopicAdminError",
    "TopicDescription",
    "describe_topics",
    "ensure_topics",
    "kafka_admin",
    "topic_ids",
]

log = logging.getLogger(__name__)

_NIL_UUID = "00000000-0000-0000-0000-000000000000"


class TopicAdminError(RuntimeError):
    """A topic cannot be created, or exists in a shape that does not fit its spec."""


def _tolerate_unknown_acl_operations(admin: Any) -> None:
    # Tansu fills `authorized_operations` in DescribeGroups with bits that are no ACL operation
    # kafka-python knows (e.g. 15), and kafka-python's conversion raises ValueError, failing
    # the whole describe_groups call. Fall back to the raw value only when that conversion
    # fails, so Apache Kafka keeps the library's normal output. We never read the field.
    convert = admin._process_acl_operations

    def tolerant(obj: dict[str, Any]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = convert(obj)
        except ValueError:
            return obj
        return result

    admin._process_acl_operations = tolerant


def kafka_admin(bootstrap: str, **client_settings: Any) -> KafkaAdminClient:
    """A connected ``KafkaAdminClient``; the caller must ``close()`` it (or use ``with``).

    ``client_settings`` are passed through (``request_timeout_ms``, security settings, ...).
    """
    settings: dict[str, Any] = {"client_id": "suxing-admin"}
    settings.update(client_settings)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, **settings)
    _tolerate_unknown_acl_operations(admin)
    return admin


@contextmanager
def _admin(bootstrap: str, client_settings: dict[str, Any]) -> Iterator[Any]:
    admin = kafka_admin(bootstrap, **client_settings)
    try:
        yield admin
    finally:
        admin.close()


def _error_name(code: int) -> str:
    return str(kafka_errors.for_code(code).__name__)


def _present_topics(admin: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Metadata of the named topics that exist, by name."""
    if not names:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for topic in admin.describe_topics(list(names)):
        if topic["error_code"] == kafka_errors.UnknownTopicOrPartitionError.errno:
            continue
        found[topic["name"]] = topic
    return found


def ensure_topics(bootstrap: str, specs: Sequence[TopicSpec], **client_settings: Any) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names it created.

    Idempotent: existing topics are left alone (their configs are not altered). An existing
    topic with fewer partitions than its spec raises :class:`TopicAdminError`: adding
    partitions would move keys to other partitions and break per-stream order and
    co-partitioning, and Tansu cannot do it anyway (no CreatePartitions), so it takes a
    person. One with more partitions is accepted with a warning.

    Create topics explicitly before services start: Tansu auto-creates an unknown topic on
    first use with 4 partitions and default configs.
    """
    if not specs:
        return []
    by_name = {spec.name: spec for spec in specs}
    if len(by_name) != len(specs):
        raise ValueError("ensure_topics: duplicate topic names in specs")

    with _admin(bootstrap, client_settings) as admin:
        request = {
            spec.name: {
                "num_partitions": spec.partitions,
                "replication_factor": spec.replication_factor,
                "configs": dict(spec.configs),
            }
            for spec in specs
        }
        response = admin.create_topics(request, raise_errors=False)

        created: list[str] = []
        failures: list[str] = []
        for result in response["topics"]:
            code = result["error_code"]
            if code == 0:
                created.append(result["name"])
            elif code != kafka_errors.TopicAlreadyExistsError.errno:
                message = result.get("error_message") or ""
                failures.append(f"{result['name']}: {_error_name(code)} {message}".rstrip())
        if failures:
            raise TopicAdminError("cannot create topics: " + "; ".join(failures))

        # CreateTopics only says the controller accepted them; wait until every topic has a
        # leader, so that a producer started right after this call does not race a topic that
        # is not there yet (on Tansu, it would auto-create one with the wrong shape).
        admin.wait_for_topics(list(by_name))

        existing = _present_topics(admin, [n for n in by_name if n not in created])
        short: list[str] = []
        for name, topic in existing.items():
            have = len(topic["partitions"])
            want = by_name[name].partitions
            if have < want:
                short.append(f"{name} has {have} partitions, needs {want}")
            elif have > want:
                log.warning(
                    "topic %s has %d partitions, more than the %d expected: it is not "
                    "co-partitioned with the other topics",
                    name,
                    have,
                    want,
                )
        if short:
            raise TopicAdminError(
                "existing topics have fewer partitions than required ("
                + "; ".join(short)
                + "). Partitions are not added automatically because that remaps keys; "
                "recreate the topics (and republish) or adjust the configured partition count."
            )

    order = {spec.name: i for i, spec in enumerate(specs)}
    created.sort(key=order.__getitem__)
    if created:
        log.info("created topics: %s", ", ".join(created))
    return created


def topic_ids(bootstrap: str, names: Sequence[str], **client_settings: Any) -> dict[str, str]:
    """The broker's topic id (a UUID string) of each named topic that exists.

    A topic that is deleted and created again gets a new id, and so does every topic after the
    embedded broker restarts (it keeps nothing): remember the ids, compare them later, and a
    change means the broker lost the log. Missing topics are absent from the result, and so
    are topics whose broker reports no id (Kafka older than 2.8).
    """
    with _admin(bootstrap, client_settings) as admin:
        present = _present_topics(admin, names)
    ids: dict[str, str] = {}
    for name in names:
        topic = present.get(name)
        if topic is None:
            continue
        topic_id = topic.get("topic_id")
        if topic_id is None or str(topic_id) == _NIL_UUID:
            continue
        ids[name] = str(topic_id)
    return ids


@dataclass(frozen=True)
class PartitionDescription:
    partition: int
    leader: int
    replicas: tuple[int, ...]
    in_sync_replicas: tuple[int, ...]
    earliest_offset: int
    #: ListOffsets(LATEST). On Tansu this is WRONG once a partition holds more than one batch:
    #: it is the base offset of the last batch + 1, not the true end. Do not compute lag
    #: from it there; use our own positions or read the last batch.
    latest_offset: int

    @property
    def records_upper_bound(self) -> int:
        """``latest - earliest``: exact on Kafka (without compaction or transactions),
        too low on Tansu (see ``latest_offset``)."""
        return self.latest_offset - self.earliest_offset


@dataclass(frozen=True)
class TopicDescription:
    name: str
    topic_id: str | None
    partitions: tuple[PartitionDescription, ...]
    #: Every config the broker reports for the topic, defaults included: Tansu reports even
    #: the configs we set at creation as defaults, so filtering on "modified" would hide them.
    #: None values are sensitive configs the broker does not reveal.
    configs: dict[str, str | None]

    @property
    def partition_count(self) -> int:
        return len(self.partitions)


def describe_topics(
    bootstrap: str, names: Sequence[str] | None = None, **client_settings: Any
) -> dict[str, TopicDescription]:
    """Partitions, per-partition earliest/latest offsets and configs of the named topics.

    ``names=None`` describes every non-internal topic. Missing topics are absent from the
    result; the others keep the order of ``names`` (sorted by name for ``None``).

    Caveat (Tansu): ``latest_offset`` is unreliable, see :class:`PartitionDescription`.
    """
    with _admin(bootstrap, client_settings) as admin:
        if names is None:
            metadata = [t for t in admin.describe_topics() if not t.get("is_internal", False)]
            present = {t["name"]: t for t in sorted(metadata, key=lambda t: str(t["name"]))}
        else:
            present = _present_topics(admin, names)
            present = {n: present[n] for n in names if n in present}
        if not present:
            return {}

        failed = {
            n: _error_name(t["error_code"]) for n, t in present.items() if t["error_code"] != 0
        }
        if failed:
            # Any other error (leader not available, not authorized) leaves no partitions to
            # read offsets from; say which topic instead of failing inside ListOffsets.
            raise TopicAdminError(
                "cannot describe topics: "
                + "; ".join(f"{name}: {error}" for name, error in failed.items())
            )

        partitions = [
            TopicPartition(name, p["partition_index"])
            for name, topic in present.items()
            for p in topic["partitions"]
        ]
        earliest = admin.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in partitions})
        latest = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
        config_response = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in present],
            config_filter="all",
        )

    topic_configs: dict[str, dict[str, Any]] = config_response.get("topic", {})
    result: dict[str, TopicDescription] = {}
    for name, topic in present.items():
        parts = tuple(
            PartitionDescription(
                partition=p["partition_index"],
                leader=p["leader_id"],
                replicas=tuple(p.get("replica_nodes") or ()),
                in_sync_replicas=tuple(p.get("isr_nodes") or ()),
                earliest_offset=earliest[TopicPartition(name, p["partition_index"])].offset,
                latest_offset=latest[TopicPartition(name, p["partition_index"])].offset,
            )
            for p in sorted(topic["partitions"], key=lambda p: int(p["partition_index"]))
        )
        topic_id = topic.get("topic_id")
        result[name] = TopicDescription(
            name=name,
            topic_id=None if topic_id is None or str(topic_id) == _NIL_UUID else str(topic_id),
            partitions=parts,
            configs={
                key: None if entry.get("value") is None else str(entry["value"])
                for key, entry in sorted(topic_configs.get(name, {}).items())
            },
        )
    return result
