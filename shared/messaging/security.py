"""How every Kafka client of a process authenticates and encrypts: one settings block.

The same :class:`KafkaSecurity` configures the three client libraries Suxing uses: aiokafka
(the relay, rebuilds, ``verify-log``), FastStream (the services' consumers) and kafka-python
(topic administration, end offsets, ``suxing tail``). Each library spells the settings its
own way; the translations live here so that a service cannot encrypt its producer and forget
its admin client.

The embedded broker (Tansu) can neither authenticate nor encrypt (BROKER.md): in the
embedded profile the block stays PLAINTEXT, origin is proved by the event signatures
(shared/signing.py), and TLS is exercised through a TLS terminator in front of the broker
(tests/e2e/test_tls_transport.py). Against Apache Kafka the production setting is
``SASL_SSL`` with a user per service (docs/deploy.md).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

__all__ = ["KafkaSecurity", "Mechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
Mechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
PROTOCOLS: tuple[str, ...] = get_args(SecurityProtocol)
MECHANISMS: tuple[str, ...] = get_args(Mechanism)
_FASTSTREAM_SASL = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


@dataclass(frozen=True)
class KafkaSecurity:
    """Security protocol, SASL credentials and TLS files of one process's Kafka clients.

    Frozen and picklable (a rebuild hands it to its worker processes); the TLS context is
    built where a client is built, from the files, never stored.
    """

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: Mechanism | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    check_hostname: bool = True

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is inconsistent in these settings, in words an operator can act on."""
        if self.protocol not in PROTOCOLS:
            return f"Kafka security protocol {self.protocol!r} is not one of {', '.join(PROTOCOLS)}"
        if self.uses_sasl:
            if self.sasl_mechanism not in MECHANISMS:
                return (
                    f"{self.protocol} needs SUXING_KAFKA_SASL_MECHANISM, one of "
                    f"{', '.join(MECHANISMS)} (got {self.sasl_mechanism!r})"
                )
            if not self.username or not self.password:
                return (
                    f"{self.protocol} needs SUXING_KAFKA_USERNAME and the password "
                    "(SUXING_KAFKA_PASSWORD_FILE or SUXING_KAFKA_PASSWORD)"
                )
        elif self.sasl_mechanism or self.username or self.password:
            return (
                f"SASL settings are given but the security protocol is {self.protocol}: "
                "use SASL_SSL (or SASL_PLAINTEXT) or remove them"
            )
        tls_files = [f for f in (self.ca_file, self.cert_file, self.key_file) if f is not None]
        if not self.uses_tls and tls_files:
            return (
                f"TLS files are given but the security protocol is {self.protocol}: "
                "use SSL or SASL_SSL, or remove them"
            )
        if self.key_file is not None and self.cert_file is None:
            return "SUXING_KAFKA_KEY_FILE needs SUXING_KAFKA_CERT_FILE (the client certificate)"
        for path in tls_files:
            if not path.is_file():
                return f"Kafka TLS file not found: {path}"
        return None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client TLS context: the CA file (or the system's CAs), hostname checking unless
        turned off, and the client certificate for mutual TLS; None without TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        context.check_hostname = self.check_hostname
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file is not None:
            context.load_cert_chain(
                str(self.cert_file),
                str(self.key_file) if self.key_file is not None else None,
            )
        return context

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and the admin."""
        if self.protocol == "PLAINTEXT":
            return {}
        settings: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            settings["ssl_context"] = self.ssl_context()
        if self.uses_sasl:
            settings["sasl_mechanism"] = self.sasl_mechanism
            settings["sasl_plain_username"] = self.username
            settings["sasl_plain_password"] = self.password
        return settings

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's ``KafkaAdminClient`` and ``KafkaConsumer``."""
        if self.protocol == "PLAINTEXT":
            return {}
        settings: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            # kafka-python takes a context too; one built the same way keeps the three
            # libraries' TLS identical (CA, hostname check, client certificate).
            settings["ssl_context"] = self.ssl_context()
            settings["ssl_check_hostname"] = self.check_hostname
        if self.uses_sasl:
            settings["sasl_mechanism"] = self.sasl_mechanism
            settings["sasl_plain_username"] = self.username
            settings["sasl_plain_password"] = self.password
        return settings

    def faststream(self) -> BaseSecurity | None:
        """The ``security=`` object of FastStream's ``KafkaBroker``."""
        if self.protocol == "PLAINTEXT":
            return None
        context = self.ssl_context()
        if self.uses_sasl:
            assert self.sasl_mechanism is not None
            assert self.username is not None and self.password is not None
            kind = _FASTSTREAM_SASL[self.sasl_mechanism]
            return kind(self.username, self.password, ssl_context=context, use_ssl=self.uses_tls)
        return BaseSecurity(ssl_context=context, use_ssl=True)

    def describe(self) -> str:
        """One line for logs and ``suxing`` output, without any secret."""
        parts: list[str] = [self.protocol]
        if self.uses_sasl:
            parts.append(f"{self.sasl_mechanism} as {self.username}")
        if self.uses_tls:
            parts.append(f"CA {self.ca_file or 'system'}")
            if self.cert_file is not None:
                parts.append(f"client certificate {self.cert_file}")
            if not self.check_hostname:
                parts.append("hostname not checked")
        return ", ".join(parts)
