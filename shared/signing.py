"""Signed events: every record a Suxing service publishes says, provably, who published it.

The broker is not a trust boundary (the embedded broker cannot authenticate anyone, and even
a real Kafka's ACLs stop at who may write, not at what they write). So each service signs
what its relay publishes with its own Ed25519 key, and every consumer checks, before
decoding, that the record was signed by the service that owns the topic.

What is signed (:func:`signed_message`): the topic, the record key, the routing headers (type,
version, event id) and the event's place in its service's log: its position and its stream's
hash chain link (``prev_hash``, ``hash``). The value itself is covered through the chain:
``hash = sha256(prev_hash + value)`` (shared/eventstore/rows.py), which the verifier
recomputes, so one signature over a short message proves the exact wire bytes.

Keys live in files, never in a database (a database writer must not be able to sign):
``<service>.<id>.key`` (PKCS#8 PEM, mode 0600) and ``<service>.<id>.pub`` in one directory
(``SUXING_KEYS_DIR``; in production a mounted secret for the service's own key and the other
services' public keys beside it). The key id on the wire is ``<service>.<id>``. Rotation: put
a new pair in the directory (``suxing keys new``) and restart the service; a consumer that
meets an unknown key id reads the directory again, so it never needs a restart.

What a consumer refuses, each with a reason that lands in the dead-letter topic and
``cp_dead_letters``: unsigned records, unknown key ids, a key of another service than the
topic's owner, a signature that does not match, a value that does not hash to its chain link.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from shared.contracts.topics import SERVICES, service_topic

KEY_ID = "suxing-key-id"
SIGNATURE = "suxing-signature"
POSITION = "suxing-position"
PREV_HASH = "suxing-prev-hash"
HASH = "suxing-hash"
SIGNED_HEADERS = (KEY_ID, SIGNATURE, POSITION, PREV_HASH, HASH)
"""The headers a signed record carries beside content-type, type, version and event_id."""

_ID = re.compile(r"^[a-z]{1,32}\.[A-Za-z0-9_-]{1,40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DOMAIN = b"suxing-event/1"


class RefusedRecord(ValueError):
    """A record that does not prove its origin (goes to the dead-letter topic)."""


def signed_message(
    *,
    topic: str,
    key: bytes,
    type_: str,
    version: int,
    event_id: str,
    position: int,
    prev_hash: str,
    hash_: str,
) -> bytes:
    """The bytes a signature covers: every field length-prefixed, so no two different records
    can sign the same bytes by moving a separator."""
    parts = (
        _DOMAIN,
        topic.encode(),
        key,
        type_.encode(),
        str(version).encode(),
        event_id.encode(),
        str(position).encode(),
        prev_hash.encode(),
        hash_.encode(),
    )
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def value_hash(prev_hash: str, value: bytes) -> str:
    """The chain link a value must have: the event store's ``link_hash``."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(value)
    return digest.hexdigest()


@dataclass(frozen=True)
class SigningKey:
    """A service's private key and its id on the wire (``<service>.<id>``)."""

    key_id: str
    private: Ed25519PrivateKey

    @property
    def service(self) -> str:
        return self.key_id.split(".", 1)[0]

    def headers(
        self,
        *,
        topic: str,
        key: bytes,
        type_: str,
        version: int,
        event_id: str,
        position: int,
        prev_hash: str,
        hash_: str,
    ) -> list[tuple[str, bytes]]:
        """The signature headers of one record (added to its routing headers)."""
        signature = self.private.sign(
            signed_message(
                topic=topic,
                key=key,
                type_=type_,
                version=version,
                event_id=event_id,
                position=position,
                prev_hash=prev_hash,
                hash_=hash_,
            )
        )
        return [
            (KEY_ID, self.key_id.encode()),
            (SIGNATURE, base64.b64encode(signature)),
            (POSITION, str(position).encode()),
            (PREV_HASH, prev_hash.encode()),
            (HASH, hash_.encode()),
        ]


# Key files.


def new_key_id(service: str) -> str:
    """A fresh key id: the service, the date (so the newest sorts last) and a random tail."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{service}.{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


def create_key_pair(directory: Path, key_id: str) -> SigningKey:
    """Write ``<key_id>.pub`` then ``<key_id>.key`` (0600, never over an existing file or
    through a symlink). The public half comes first: a consumer can always verify what the
    key signs."""
    if not _ID.match(key_id):
        raise ValueError(f"not a key id: {key_id!r} (expected <service>.<id>)")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_new(directory / f"{key_id}.pub", public_pem, 0o644)
    _write_new(directory / f"{key_id}.key", private_pem, 0o600)
    return SigningKey(key_id, private)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, flags, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if the name exists: never replaces a key
    finally:
        tmp.unlink()


def load_signing_key(
    directory: Path, service: str, key_id: str | None = None, *, create: bool = False
) -> SigningKey:
    """The service's signing key: ``key_id`` if given, else the newest ``<service>.*.key`` in
    ``directory``; with ``create`` (the embedded profile) a new pair when there is none."""
    if key_id is not None:
        if not key_id.startswith(f"{service}."):
            raise ValueError(f"signing key {key_id!r} is not a key of the {service} service")
        path = directory / f"{key_id}.key"
        if not path.is_file():
            raise ValueError(f"signing key {key_id!r} not found: {path}")
        return _read_private(path, key_id)
    found = sorted(directory.glob(f"{service}.*.key")) if directory.is_dir() else []
    found = [p for p in found if _ID.match(p.name[: -len(".key")])]
    if found:
        path = found[-1]
        return _read_private(path, path.name[: -len(".key")])
    if not create:
        raise ValueError(
            f"no signing key for {service} in {directory}: create one with "
            f"`suxing keys new --service {service}` (or mount it there)"
        )
    return create_key_pair(directory, new_key_id(service))


def _read_private(path: Path, key_id: str) -> SigningKey:
    if path.is_symlink() and not path.resolve().is_file():
        raise ValueError(f"signing key {path} is a dangling link")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey(key_id, key)


def _read_public(path: Path) -> Ed25519PublicKey | None:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError):
        return None
    return key if isinstance(key, Ed25519PublicKey) else None


class Keyring:
    """The public keys a consumer trusts, by key id, read from ``<service>.<id>.pub`` files.

    A key id it does not know makes it read the directory again, so a key added while
    consumers run (rotation, or a service started after its consumers) is found without a
    restart. A key's public file is written before the key can sign anything
    (:func:`create_key_pair`), so a record from a real key never misses it."""

    def __init__(
        self, directory: Path | None = None, keys: Mapping[str, Ed25519PublicKey] | None = None
    ) -> None:
        self.directory = directory
        self._keys: dict[str, Ed25519PublicKey] = dict(keys or {})
        self._lock = threading.Lock()
        if directory is not None:
            self.reload()

    def __getstate__(self) -> dict[str, Any]:
        # Worker processes of a fold get the directory and the raw keys, not the lock.
        raw = {
            kid: key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            for kid, key in self._keys.items()
        }
        return {"directory": self.directory, "raw": raw}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.directory = state["directory"]
        self._keys = {
            kid: Ed25519PublicKey.from_public_bytes(raw) for kid, raw in state["raw"].items()
        }
        self._lock = threading.Lock()

    def reload(self) -> None:
        with self._lock:
            if self.directory is None or not self.directory.is_dir():
                return
            for path in self.directory.glob("*.pub"):
                kid = path.name[: -len(".pub")]
                if kid in self._keys or not _ID.match(kid):
                    continue
                key = _read_public(path)
                if key is not None:
                    self._keys[kid] = key

    def get(self, key_id: str) -> Ed25519PublicKey | None:
        key = self._keys.get(key_id)
        if key is None and self.directory is not None:
            self.reload()
            key = self._keys.get(key_id)
        return key

    def key_ids(self) -> list[str]:
        return sorted(self._keys)


class _Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def topic_owners(services: Iterable[str] = SERVICES) -> dict[str, str]:
    """Each event topic and the one service allowed to publish on it."""
    return {service_topic(service): service for service in services}


class Verifier:
    """Checks that a record was published by the service that owns its topic."""

    def __init__(self, keyring: Keyring, owners: Mapping[str, str] | None = None) -> None:
        self.keyring = keyring
        self.owners = dict(owners if owners is not None else topic_owners())

    def check(self, record: _Record) -> None:
        """Returns when the record proves its origin; raises :class:`RefusedRecord`."""
        owner = self.owners.get(record.topic)
        if owner is None:
            raise RefusedRecord(f"refused: no Suxing service publishes on {record.topic}")
        found: dict[str, bytes] = {}
        for name, raw in record.headers or ():
            if name in SIGNED_HEADERS:
                if name in found:
                    raise RefusedRecord(f"refused: header {name} appears twice")
                found[name] = raw
        if SIGNATURE not in found or KEY_ID not in found:
            raise RefusedRecord(
                f"unsigned: no {SIGNATURE} header (every event on {record.topic} is signed "
                f"by {owner})"
            )
        missing = [name for name in SIGNED_HEADERS if name not in found]
        if missing:
            raise RefusedRecord(f"refused: signed record without {', '.join(missing)}")
        try:
            key_id = found[KEY_ID].decode("ascii")
            prev_hash = found[PREV_HASH].decode("ascii")
            hash_ = found[HASH].decode("ascii")
            position = int(found[POSITION])
            signature = base64.b64decode(found[SIGNATURE], validate=True)
            headers = {name: raw.decode() for name, raw in record.headers or ()}
            type_ = headers["type"]
            version = int(headers["version"])
            event_id = headers["event_id"]
        except (UnicodeDecodeError, ValueError, KeyError) as exc:
            raise RefusedRecord(f"refused: unreadable signature headers ({exc})") from None
        if not _ID.match(key_id):
            raise RefusedRecord(f"refused: malformed key id {key_id[:80]!r}")
        signer = key_id.split(".", 1)[0]
        if signer != owner:
            raise RefusedRecord(
                f"forged origin: signed with {signer}'s key {key_id}, but only {owner} "
                f"publishes on {record.topic}"
            )
        public = self.keyring.get(key_id)
        if public is None:
            raise RefusedRecord(f"unknown signing key {key_id} (not among the trusted keys)")
        if not (_HEX64.match(prev_hash) and _HEX64.match(hash_)):
            raise RefusedRecord("refused: malformed chain hashes")
        message = signed_message(
            topic=record.topic,
            key=record.key or b"",
            type_=type_,
            version=version,
            event_id=event_id,
            position=position,
            prev_hash=prev_hash,
            hash_=hash_,
        )
        try:
            public.verify(signature, message)
        except InvalidSignature:
            raise RefusedRecord(
                f"forged: the signature of {key_id} does not match this record"
            ) from None
        if record.value is None or value_hash(prev_hash, record.value) != hash_:
            raise RefusedRecord(
                f"out of chain: the value does not hash to its chain link (position {position})"
            )


class UnprovenLog(RuntimeError):
    """A fold's chain proof failed: some applied record is not on a signed chain. The fold
    is redone with every record's signature checked (:class:`Verifier`), which dead-letters
    exactly the records that fail."""


class ChainProof:
    """Proves a whole log's records with one signature per stream, for a rebuild's fold.

    Every event carries its stream's hash chain (``suxing-prev-hash``, ``suxing-hash``:
    ``hash = sha256(prev_hash + value)``, and an event's ``prev_hash`` is its stream
    predecessor's ``hash``). A fold applies each stream's records in sequence order, so it can
    check, record by record and cheaply, that each value hashes to its link and that each
    link continues the one before it; the signature of the last applied record of each stream
    then proves every link below it (a SHA-256 chain cannot be re-routed), and with them every
    value. That is one Ed25519 verification per stream instead of one per record (~65 µs
    each here: the company-year has ~750,000 records; docs/benchmarks.md).

    What is not applied (a duplicate, an event held back) or cannot be linked cheaply is
    checked on its own with the :class:`Verifier`, exactly as the live consumer does, so a
    forged copy is dead-lettered with the same reason. When a link does not continue its
    predecessor or a stream's last signature fails, :meth:`finish` raises
    :class:`UnprovenLog`: a forged record may have been applied, and the caller folds again
    with every record verified. An honest log never takes that path."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self._last: dict[tuple[str, str], tuple[str, Any]] = {}
        self.broken: str | None = None
        self.anchors = 0

    def link(self, record: _Record) -> tuple[str, str] | None:
        """The record's (prev_hash, hash) when its value hashes to its link and its headers
        name the topic's owner; None when it must be verified on its own."""
        owner = self.verifier.owners.get(record.topic)
        if owner is None or record.value is None:
            return None
        found: dict[str, bytes] = {}
        for name, raw in record.headers or ():
            if name in SIGNED_HEADERS:
                if name in found:
                    return None
                found[name] = raw
        if len(found) != len(SIGNED_HEADERS):
            return None
        try:
            key_id = found[KEY_ID].decode("ascii")
            prev_hash = found[PREV_HASH].decode("ascii")
            hash_ = found[HASH].decode("ascii")
        except UnicodeDecodeError:
            return None
        if key_id.split(".", 1)[0] != owner or not _ID.match(key_id):
            return None
        if not (_HEX64.match(prev_hash) and _HEX64.match(hash_)):
            return None
        if value_hash(prev_hash, record.value) != hash_:
            return None
        return prev_hash, hash_

    def applied(self, record: _Record, stream: str, link: tuple[str, str]) -> None:
        """``record`` (linked) was applied as the next event of ``stream``."""
        key = (record.topic, stream)
        previous = self._last.get(key)
        if previous is not None and link[0] != previous[0] and self.broken is None:
            self.broken = (
                f"stream {stream} on {record.topic}: an event does not continue the chain of "
                "the one before it"
            )
        self._last[key] = (link[1], record)

    def finish(self) -> None:
        """Verify each stream's last applied record; raises :class:`UnprovenLog`."""
        if self.broken is not None:
            raise UnprovenLog(self.broken)
        for (topic, stream), (_, record) in self._last.items():
            self.anchors += 1
            try:
                self.verifier.check(record)
            except RefusedRecord as exc:
                raise UnprovenLog(f"stream {stream} on {topic}: {exc}") from None
