"""AsyncAPI 3.0 documents of the topics, generated from the event registry (one per service).

Each document describes what a code generator needs: one message per published event type
and version, with its own payload schema (the envelope whose ``data`` is that event's schema,
``type`` and ``version`` fixed), the headers the relay really sends (routing and the
signature headers, shared/signing.py), the record key and how topics are partitioned, the
correlation id's place in the payload, the servers and their security. The service's own
topic is a ``send`` operation; the topics it consumes are ``receive`` operations, with the
messages of their owners. Private events (never published) do not appear.

Written to docs/asyncapi/ by ``python -m shared.contracts.catalogue --write``.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from shared.contracts.catalogue import meaning
from shared.contracts.compat import published
from shared.contracts.envelope import Envelope
from shared.contracts.registry import REGISTRY, EventRegistry
from shared.contracts.topics import SERVICES, service_topic
from shared.signing import HASH, KEY_ID, POSITION, PREV_HASH, SIGNATURE

_KERNEL = "*"


def _owner(model: type) -> str:
    module = model.__module__.rsplit(".", 1)[-1]
    return module if module in SERVICES else _KERNEL


def message_name(type_name: str, version: int) -> str:
    return f"{type_name}.v{version}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _lift(schema: dict[str, Any], shared: dict[str, Any]) -> dict[str, Any]:
    """Move a model schema's ``$defs`` into the document's components (refs rewritten), so
    every ``$ref`` resolves from the document root as AsyncAPI tools expect."""
    schema = json.loads(json.dumps(schema))
    definitions = schema.pop("$defs", {})

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                    out[key] = "#/components/schemas/" + value.removeprefix("#/$defs/")
                else:
                    out[key] = rewrite(value)
            return out
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    for name, definition in definitions.items():
        definition = rewrite(definition)
        known = shared.get(name)
        if known is not None and known != definition:
            raise ValueError(f"two different schemas are named {name!r}")
        shared[name] = definition
    result: dict[str, Any] = rewrite(schema)
    return result


HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "Kafka record headers, all UTF-8 text. content-type, type, version and event_id route "
        "and filter without parsing the value; the suxing-* headers prove the record's origin "
        "(docs/signing.md): verify the Ed25519 signature with the owner's public key named by "
        "suxing-key-id, and that sha256(suxing-prev-hash + value) is suxing-hash."
    ),
    "properties": {
        "content-type": {"type": "string", "const": "application/json"},
        "type": {"type": "string", "description": "The event type (also in the value)."},
        "version": {
            "type": "string",
            "pattern": "^[1-9][0-9]*$",
            "description": "The event version, as decimal text (also in the value).",
        },
        "event_id": {
            "type": "string",
            "format": "uuid",
            "description": "The event's id (also in the value): deduplicate by it.",
        },
        KEY_ID: {
            "type": "string",
            "pattern": "^[a-z]{1,32}\\.[A-Za-z0-9_-]{1,40}$",
            "description": "The signing key, <service>.<id>; the service must own the topic.",
        },
        SIGNATURE: {
            "type": "string",
            "contentEncoding": "base64",
            "description": "Ed25519 signature over the topic, key, type, version, event id, "
            "position, prev hash and hash (shared/signing.py, signed_message).",
        },
        POSITION: {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "The event's position in the service's log, as decimal text.",
        },
        PREV_HASH: {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "The chain hash of the service's previous event in its log.",
        },
        HASH: {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "sha256 of the previous hash (hex text) and this record's value.",
        },
    },
    "required": [
        "content-type",
        "type",
        "version",
        "event_id",
        KEY_ID,
        SIGNATURE,
        POSITION,
        PREV_HASH,
        HASH,
    ],
}

KEY = {
    "type": "string",
    "description": (
        "The stream's home branch id (fixed at the stream's first event), UTF-8. Every topic "
        "has the same partition count and the default murmur2 partitioner, so a branch's "
        "events are in the same partition number on every topic (co-partitioned), and a "
        "stream's events are in one partition in sequence order."
    ),
}


def _message(type_name: str, version: int, model: type, term: str) -> dict[str, Any]:
    summary = meaning(model)
    return {
        "name": message_name(type_name, version),
        "title": f"{type_name} v{version}" + (f" ({term})" if term else ""),
        "summary": summary or type_name,
        "contentType": "application/json",
        "headers": {
            "allOf": [
                {"$ref": "#/components/schemas/RecordHeaders"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": type_name},
                        "version": {"const": str(version)},
                    },
                },
            ]
        },
        "correlationId": {
            "description": "The command that caused the event; shared by its effects.",
            "location": "$message.payload#/correlation_id",
        },
        "payload": {
            "allOf": [
                _ref("Envelope"),
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": type_name},
                        "version": {"const": version},
                        "data": _ref(message_name(type_name, version)),
                    },
                },
            ]
        },
        "bindings": {"kafka": {"bindingVersion": "0.5.0", "key": KEY}},
    }


def render(
    service: str, consumes: tuple[str, ...] = (), registry: EventRegistry = REGISTRY
) -> dict[str, Any]:
    """The AsyncAPI document of ``service``: its topic (send) and ``consumes`` (receive)."""
    schemas: dict[str, Any] = {"RecordHeaders": HEADERS}
    schemas["Envelope"] = _lift(published(Envelope.model_json_schema()), schemas)
    messages: dict[str, Any] = {}
    by_topic: dict[str, list[str]] = {}
    by_message: set[str] = set()
    for type_name, version, model in registry.types():
        if model.private:
            continue
        owner = _owner(model)
        topics = (
            [service_topic(s) for s in SERVICES] if owner == _KERNEL else [service_topic(owner)]
        )
        name = message_name(type_name, version)
        schemas[name] = _lift(published(model.model_json_schema()), schemas)
        by_message.add(name.replace(".", "_"))
        messages[name.replace(".", "_")] = _message(
            type_name, version, model, str(getattr(model, "term", ""))
        )
        for topic in topics:
            by_topic.setdefault(topic, []).append(name.replace(".", "_"))
    own = service_topic(service)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in (own, *[t for t in consumes if t != own]):
        channel = topic.replace(".", "_")
        owner = topic.split(".", 1)[1]
        channels[channel] = {
            "address": topic,
            "title": f"{owner} events",
            "description": (
                f"Every published event of the {owner} service, in the Suxing envelope "
                "(docs/events/), keyed by the stream's home branch. Kept forever "
                "(retention.ms=-1): a subscriber may start at offset 0. At least once: "
                "deduplicate by event_id. In order per stream (sequence 1, 2, 3…). Records "
                f"that fail verification go to {topic}.dlq with the reason."
            ),
            "messages": {
                m: {"$ref": f"#/components/messages/{m}"} for m in sorted(by_topic.get(topic, []))
            },
            "bindings": {
                "kafka": {
                    "bindingVersion": "0.5.0",
                    "topic": topic,
                    "topicConfiguration": {"retention.ms": -1, "cleanup.policy": ["delete"]},
                }
            },
        }
        if topic == own:
            operations[f"publish_{owner}"] = {
                "action": "send",
                "title": f"The {owner} service's relay publishes its log",
                "channel": {"$ref": f"#/channels/{channel}"},
            }
        if topic in consumes:
            operations[f"consume_{owner}"] = {
                "action": "receive",
                "title": f"The {service} service consumes the {owner} events",
                "channel": {"$ref": f"#/channels/{channel}"},
                "bindings": {
                    "kafka": {
                        "bindingVersion": "0.5.0",
                        "groupId": {"type": "string", "const": f"suxing-{service}"},
                    }
                },
            }
    used = {m for channel in channels.values() for m in channel["messages"]}
    messages = {m: body for m, body in messages.items() if m in used}
    schemas = {
        name: schema
        for name, schema in schemas.items()
        if name.replace(".", "_") in used or name.replace(".", "_") not in by_message
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Suxing {service} events",
            "version": "1",
            "description": (
                f"What the {service} service publishes and consumes. Generated from the event "
                "registry (shared/contracts/asyncapi.py); the compatibility rules are in "
                "docs/compatibility.md, the catalogue of meanings in docs/events/README.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "The embedded default (suxing up): plaintext on loopback only.",
            },
            "production": {
                "host": "suxing-kafka-bootstrap:9093",
                "protocol": "kafka-secure",
                "description": "TLS with SCRAM-SHA-512 users per service (docs/deploy.md).",
                "security": [{"$ref": "#/components/securitySchemes/scram"}],
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "A KafkaUser per service; ACLs in deploy/base/kafka-users.yaml.",
                }
            },
        },
    }


def render_all(registry: EventRegistry = REGISTRY) -> dict[str, dict[str, Any]]:
    """Every service's document by file name."""
    documents = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app")
        consumes = tuple(getattr(app, "CONSUMES", ()))
        documents[f"{service}.json"] = render(service, consumes, registry)
    return documents
