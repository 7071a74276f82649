"""One Kafka security block (SUXING_KAFKA_*) builds the same TLS and SASL settings into all
three client libraries. The embedded broker cannot authenticate (BROKER.md), so SASL is
checked here by building real clients from the settings and reading back what each one was
given; TLS is also run for real through a terminator (tests/e2e/test_tls_transport.py)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faststream.kafka import KafkaBroker
from kafka import KafkaConsumer
from pydantic import ValidationError

from shared.messaging.clients import KafkaClientProfile
from shared.messaging.security import KafkaSecurity
from shared.settings import Settings
from tests.support.tls import Pki, make_pki

# The clients are only built, never connected: an address nothing listens on.
NOWHERE = "127.0.0.1:9"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def sasl_ssl(pki: Pki, mechanism: str = "SCRAM-SHA-512") -> KafkaSecurity:
    return KafkaSecurity(
        protocol="SASL_SSL",
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        username="suxing-pledges",
        password="s3cret-pledges",
        ca_file=pki.ca,
        cert_file=pki.client_cert,
        key_file=pki.client_key,
    )


def trusts(context: ssl.SSLContext, common_name: str) -> bool:
    return any(
        ("commonName", common_name) in (field for rdn in cert["subject"] for field in rdn)
        for cert in context.get_ca_certs()
    )


def assert_tls(context: Any) -> None:
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert trusts(context, "Suxing test CA")
    assert not trusts(context, "Someone else's CA")


# -- the settings block ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"protocol": "SASL_SSL"}, "SUXING_KAFKA_SASL_MECHANISM"),
        ({"protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256"}, "SUXING_KAFKA_USERNAME"),
        ({"protocol": "SASL_PLAINTEXT", "sasl_mechanism": "GSSAPI"}, "one of PLAIN"),
        ({"protocol": "PLAINTEXT", "username": "u", "password": "p"}, "SASL settings"),
        ({"protocol": "SASL_PLAIN"}, "is not one of"),
        ({"protocol": "PLAINTEXT", "ca_file": Path("/etc/hostname")}, "TLS files"),
        ({"protocol": "SSL", "ca_file": Path("/nonexistent/ca.pem")}, "not found"),
        ({"protocol": "SSL", "key_file": Path("/etc/hostname")}, "SUXING_KAFKA_CERT_FILE"),
    ],
)
def test_inconsistent_settings_are_refused_by_name(given: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        KafkaSecurity(**given)


def test_plaintext_adds_nothing_to_any_client() -> None:
    security = KafkaSecurity()
    assert security.aiokafka() == {} and security.kafka_python() == {}
    assert security.faststream() is None and security.ssl_context() is None


def test_the_description_never_shows_a_secret(pki: Pki) -> None:
    security = sasl_ssl(pki)
    for text in (security.describe(), repr(security)):
        assert "s3cret" not in text
    assert "SCRAM-SHA-512 as suxing-pledges" in security.describe()


def test_settings_read_the_block_from_the_environment(
    pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = tmp_path / "kafka-password"
    password.write_text("s3cret-from-a-secret\n")
    for name, value in {
        "SUXING_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "SUXING_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "SUXING_KAFKA_USERNAME": "suxing-reviews",
        "SUXING_KAFKA_PASSWORD_FILE": str(password),
        "SUXING_KAFKA_CA_FILE": str(pki.ca),
    }.items():
        monkeypatch.setenv(name, value)
    profile = Settings(service="reviews", broker_url=NOWHERE).kafka()
    security = profile.security
    assert (security.protocol, security.sasl_mechanism) == ("SASL_SSL", "SCRAM-SHA-256")
    assert security.username == "suxing-reviews"
    assert security.password == "s3cret-from-a-secret"  # the file's newline is not part of it
    assert security.ca_file == pki.ca and security.cert_file is None


def test_a_password_in_two_places_or_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    both = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_username="u",
        kafka_password="p",  # type: ignore[arg-type]
        kafka_password_file=tmp_path / "p",
    )
    with pytest.raises(ValueError, match="not both"):
        both.kafka_security()
    missing = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="PLAIN",
        kafka_username="u",
        kafka_password_file=tmp_path / "absent",
    )
    with pytest.raises(ValueError, match="cannot read SUXING_KAFKA_PASSWORD_FILE"):
        missing.kafka_security()


def test_production_must_say_how_it_reaches_kafka(tmp_path: Path) -> None:
    explicit = {
        "profile": "production",
        "service": "pledges",
        "database_url": "postgresql+asyncpg://db/pledges",
        "broker_url": "kafka:9093",
        "jwt_secret": "x" * 40,
        "keys_dir": tmp_path,
    }
    with pytest.raises(ValidationError, match="SUXING_KAFKA_SECURITY_PROTOCOL"):
        Settings(**explicit)  # type: ignore[arg-type]
    said = Settings(**explicit, kafka_security_protocol="PLAINTEXT")  # type: ignore[arg-type]
    assert said.kafka_security().protocol == "PLAINTEXT"
    # The embedded profile keeps PLAINTEXT without being told (Tansu can do nothing else).
    assert Settings(broker_url=NOWHERE).kafka().security.protocol == "PLAINTEXT"


# -- the three client libraries, built from the block ------------------------------------


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_aiokafka_clients_get_sasl_and_tls(pki: Pki, mechanism: str) -> None:
    profile = KafkaClientProfile(bootstrap=NOWHERE, security=sasl_ssl(pki, mechanism))
    producer = AIOKafkaProducer(**profile.producer_kwargs())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=NOWHERE, **profile.security.aiokafka(), group_id=None
    )
    try:
        for client in (producer.client, consumer._client):
            assert client._security_protocol == "SASL_SSL"
            assert client._sasl_mechanism == mechanism
            assert client._sasl_plain_username == "suxing-pledges"
            assert client._sasl_plain_password == "s3cret-pledges"
            assert_tls(client._ssl_context)
    finally:
        await consumer.stop()
        await producer.stop()


def test_faststream_broker_gets_sasl_and_tls(pki: Pki) -> None:
    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        security = sasl_ssl(pki, mechanism)
        broker = KafkaBroker(NOWHERE, security=security.faststream())
        given = broker.config.broker_config.builder.keywords
        assert given["security_protocol"] == "SASL_SSL"
        assert given["sasl_mechanism"] == mechanism
        assert (given["sasl_plain_username"], given["sasl_plain_password"]) == (
            "suxing-pledges",
            "s3cret-pledges",
        )
        assert_tls(given["ssl_context"])
    tls_only = KafkaSecurity(protocol="SSL", ca_file=pki.ca)
    given = KafkaBroker(NOWHERE, security=tls_only.faststream()).config.broker_config.builder
    assert given.keywords["security_protocol"] == "SSL"
    assert_tls(given.keywords["ssl_context"])
    sasl_plain = KafkaSecurity(
        protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN", username="u", password="p"
    )
    given = KafkaBroker(NOWHERE, security=sasl_plain.faststream()).config.broker_config.builder
    assert given.keywords["security_protocol"] == "SASL_PLAINTEXT"
    assert given.keywords["ssl_context"] is None


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_clients_get_sasl_and_tls(pki: Pki, mechanism: str) -> None:
    security = sasl_ssl(pki, mechanism)
    # api_version given: kafka-python would otherwise probe the (absent) broker at once.
    consumer = KafkaConsumer(
        bootstrap_servers=NOWHERE, api_version=(2, 8), **security.kafka_python()
    )
    try:
        config = consumer.config
        assert config["security_protocol"] == "SASL_SSL"
        assert config["sasl_mechanism"] == mechanism
        assert (config["sasl_plain_username"], config["sasl_plain_password"]) == (
            "suxing-pledges",
            "s3cret-pledges",
        )
        assert config["ssl_check_hostname"] is True
        assert_tls(config["ssl_context"])
    finally:
        consumer.close()


def test_a_client_certificate_is_presented(pki: Pki) -> None:
    """Mutual TLS: the client certificate and key are loaded into the context (a context
    without them would fail a broker that requires client authentication)."""
    context = sasl_ssl(pki).ssl_context()
    assert context is not None
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    server.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    server.verify_mode = ssl.CERT_REQUIRED
    client_side, server_side = ssl.MemoryBIO(), ssl.MemoryBIO()
    back_client, back_server = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(back_client, client_side, server_hostname="localhost")
    serving = server.wrap_bio(back_server, server_side, server_side=True)

    def pump() -> None:
        # client writes into client_side; the server reads it from back_server, and so on.
        data = client_side.read()
        if data:
            back_server.write(data)
        data = server_side.read()
        if data:
            back_client.write(data)

    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client), ("server", serving)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            pump()
        if all(done.values()):
            break
    assert all(done.values())
    peer = serving.getpeercert()
    assert peer is not None
    assert ("commonName", "suxing-client") in (f for rdn in peer["subject"] for f in rdn)
