"""Event signatures (shared/signing.py): what a consumer accepts and what it refuses, each
tried the way an attacker on the broker would."""

from __future__ import annotations

import dataclasses
import os
import pickle
import stat
from pathlib import Path

import pytest

from shared.eventstore.rows import GENESIS, link_hash
from shared.messaging.consumer import SimpleRecord
from shared.settings import Settings
from shared.signing import (
    HASH,
    KEY_ID,
    POSITION,
    PREV_HASH,
    SIGNATURE,
    Keyring,
    RefusedRecord,
    SigningKey,
    Verifier,
    create_key_pair,
    load_signing_key,
)

TOPIC = "suxing.pledges"
VALUE = b'{"event_id":"x","data":{"pledge":"\xe5\xae\x9a\xe8\xaf\xba"}}'


def signed(key: SigningKey, *, topic: str = TOPIC, value: bytes = VALUE) -> SimpleRecord:
    link = link_hash(GENESIS, value)
    headers = [
        ("content-type", b"application/json"),
        ("type", b"PledgeApproved"),
        ("version", b"1"),
        ("event_id", b"6f1c2b1e-0000-4000-8000-000000000001"),
        *key.headers(
            topic=topic,
            key=b"b-1",
            type_="PledgeApproved",
            version=1,
            event_id="6f1c2b1e-0000-4000-8000-000000000001",
            position=7,
            prev_hash=GENESIS,
            hash_=link,
        ),
    ]
    return SimpleRecord(topic, 0, 0, b"b-1", value, tuple(headers))


def with_header(record: SimpleRecord, name: str, value: bytes) -> SimpleRecord:
    headers = tuple((n, value if n == name else v) for n, v in record.headers)
    return dataclasses.replace(record, headers=headers)


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def test_a_record_signed_by_the_topics_service_passes(keys: Path) -> None:
    key = create_key_pair(keys, "pledges.k1")
    Verifier(Keyring(keys)).check(signed(key))


def test_unsigned_records_are_refused(keys: Path) -> None:
    create_key_pair(keys, "pledges.k1")
    bare = SimpleRecord(TOPIC, 0, 0, b"b-1", VALUE, (("type", b"PledgeApproved"),))
    with pytest.raises(RefusedRecord, match=r"^unsigned"):
        Verifier(Keyring(keys)).check(bare)


def test_another_services_key_cannot_publish_on_the_topic(keys: Path) -> None:
    reviews = create_key_pair(keys, "reviews.k1")
    with pytest.raises(RefusedRecord, match=r"^forged origin: signed with reviews"):
        Verifier(Keyring(keys)).check(signed(reviews))


def test_a_key_nobody_trusts_is_refused(keys: Path, tmp_path: Path) -> None:
    create_key_pair(keys, "pledges.k1")
    stranger = create_key_pair(tmp_path / "elsewhere", "pledges.k9")
    with pytest.raises(RefusedRecord, match=r"^unknown signing key pledges.k9"):
        Verifier(Keyring(keys)).check(signed(stranger))


def test_a_key_id_claiming_a_trusted_name_with_another_key_is_forged(
    keys: Path, tmp_path: Path
) -> None:
    create_key_pair(keys, "pledges.k1")
    impostor = create_key_pair(tmp_path / "elsewhere", "pledges.k1")
    with pytest.raises(RefusedRecord, match=r"^forged: the signature"):
        Verifier(Keyring(keys)).check(signed(impostor))


@pytest.mark.parametrize(
    ("field", "replacement"),
    [
        ("type", b"CommitteeMemberAppointed"),
        ("version", b"2"),
        ("event_id", b"6f1c2b1e-0000-4000-8000-000000000002"),
        (POSITION, b"8"),
        (PREV_HASH, b"1" * 64),
        (HASH, b"2" * 64),
    ],
)
def test_every_signed_header_is_covered(keys: Path, field: str, replacement: bytes) -> None:
    key = create_key_pair(keys, "pledges.k1")
    with pytest.raises(RefusedRecord, match=r"^forged: the signature"):
        Verifier(Keyring(keys)).check(with_header(signed(key), field, replacement))


def test_the_key_and_the_topic_are_covered(keys: Path) -> None:
    key = create_key_pair(keys, "pledges.k1")
    verifier = Verifier(Keyring(keys), {TOPIC: "pledges", "suxing.pledges.copy": "pledges"})
    with pytest.raises(RefusedRecord, match=r"^forged"):
        verifier.check(dataclasses.replace(signed(key), key=b"b-2"))
    with pytest.raises(RefusedRecord, match=r"^forged"):
        verifier.check(dataclasses.replace(signed(key), topic="suxing.pledges.copy"))


def test_a_changed_value_under_valid_headers_is_out_of_chain(keys: Path) -> None:
    key = create_key_pair(keys, "pledges.k1")
    record = dataclasses.replace(signed(key), value=VALUE.replace(b"x", b"y"))
    with pytest.raises(RefusedRecord, match=r"^out of chain"):
        Verifier(Keyring(keys)).check(record)


def test_duplicated_or_garbled_signature_headers_are_refused(keys: Path) -> None:
    key = create_key_pair(keys, "pledges.k1")
    record = signed(key)
    doubled = dataclasses.replace(record, headers=(*record.headers, (KEY_ID, b"pledges.k1")))
    with pytest.raises(RefusedRecord, match="appears twice"):
        Verifier(Keyring(keys)).check(doubled)
    with pytest.raises(RefusedRecord, match="unreadable"):
        Verifier(Keyring(keys)).check(with_header(record, SIGNATURE, b"not base64!"))
    with pytest.raises(RefusedRecord, match="no Suxing service publishes"):
        Verifier(Keyring(keys)).check(dataclasses.replace(record, topic="other"))


def test_rotation_a_new_key_is_trusted_without_restarting_the_consumer(keys: Path) -> None:
    old = create_key_pair(keys, "pledges.20260101000000-aaaaaa")
    verifier = Verifier(Keyring(keys))
    verifier.check(signed(old))
    new = create_key_pair(keys, "pledges.20261205000000-bbbbbb")  # after the verifier started
    verifier.check(signed(new))
    verifier.check(signed(old))  # what the old key signed still verifies (rebuilds)
    assert load_signing_key(keys, "pledges").key_id == new.key_id  # the newest signs


def test_key_files_are_private_and_never_replaced(keys: Path) -> None:
    create_key_pair(keys, "pledges.k1")
    mode = stat.S_IMODE(os.stat(keys / "pledges.k1.key").st_mode)
    assert mode == 0o600
    before = (keys / "pledges.k1.key").read_bytes()
    with pytest.raises(FileExistsError):
        create_key_pair(keys, "pledges.k1")
    assert (keys / "pledges.k1.key").read_bytes() == before
    assert sorted(p.name for p in keys.iterdir()) == ["pledges.k1.key", "pledges.k1.pub"]


def test_the_embedded_profile_creates_a_key_and_production_refuses_without_one(
    keys: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUXING_KEYS_DIR", raising=False)
    with pytest.raises(ValueError, match="no signing key for pledges"):
        load_signing_key(keys, "pledges")
    created = Settings(service="pledges", keys_dir=keys).signing_key()
    assert created.service == "pledges" and (keys / f"{created.key_id}.pub").is_file()
    with pytest.raises(ValueError, match="SUXING_KEYS_DIR"):
        Settings(
            profile="production",
            service="pledges",
            database_url="postgresql+asyncpg://db/pledges",
            broker_url="kafka:9092",
            kafka_security_protocol="PLAINTEXT",
            jwt_public_key="-----BEGIN PUBLIC KEY-----",
        )


def test_a_keyring_travels_to_worker_processes(keys: Path) -> None:
    key = create_key_pair(keys, "pledges.k1")
    copy = pickle.loads(pickle.dumps(Verifier(Keyring(keys))))
    copy.check(signed(key))
    assert copy.keyring.key_ids() == ["pledges.k1"]


@pytest.mark.parametrize("owner", ["pledges", "reviews", "scoring"])
def test_on_every_topic_only_its_owner_signs(keys: Path, owner: str) -> None:
    topic = f"suxing.{owner}"
    verifier = Verifier(Keyring(keys))
    for service in ("pledges", "reviews", "scoring"):
        record = signed(create_key_pair(keys, f"{service}.{owner}-t"), topic=topic)
        if service == owner:
            verifier.check(record)
        else:
            with pytest.raises(RefusedRecord, match=rf"^forged origin: signed with {service}"):
                verifier.check(record)
    unsigned = SimpleRecord(topic, 0, 0, b"b-1", VALUE, (("type", b"X"),))
    with pytest.raises(RefusedRecord, match=r"^unsigned"):
        verifier.check(unsigned)
