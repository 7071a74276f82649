"""One validated settings class for every Suxing process, built at start-up (never at import)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contracts.topics import SERVICES
from shared.messaging.clients import KafkaClientProfile
from shared.messaging.security import KafkaSecurity, Mechanism, SecurityProtocol
from shared.signing import Keyring, SigningKey, Verifier, load_signing_key

DEFAULT_SECRET = "suxing-embedded-dev-secret-change-me"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SERVICE_PORTS = {"pledges": 8101, "reviews": 8102, "scoring": 8103, "portal": 8100}


class Settings(BaseSettings):
    """Environment variables with the ``SUXING_`` prefix, e.g. ``SUXING_DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="SUXING_", extra="ignore")

    profile: Literal["embedded", "production"] = "embedded"
    service: str = Field(default="pledges", description="which service this process runs")
    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; embedded default: SQLite in data_dir"
    )
    broker_url: str | None = Field(default=None, description="Kafka bootstrap servers")
    broker_bin: str | None = Field(default=None, description="Tansu binary override")
    topic_partitions: int = Field(default=3, ge=1, le=256)
    topic_replication: int = Field(default=1, ge=1, le=5)
    group_suffix: str = Field(default="", description="appended to consumer group ids (tests)")
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)
    jwt_secret: str = DEFAULT_SECRET
    jwt_public_key: str | None = Field(
        default=None, description="identity provider's PEM public key (production)"
    )
    jwt_jwks: str | None = Field(
        default=None,
        description="identity provider's JSON Web Key Set: a file kept current by the "
        "platform, or an https:// URL; tokens name their key (kid), rotation needs no restart",
    )
    jwt_issuer: str = "suxing"
    jwt_audience: str = "suxing"
    broker_idempotence: bool | None = Field(
        default=None,
        description="idempotent Kafka producer; default: on in production, off in embedded "
        "(Tansu refuses aiokafka's InitProducerId)",
    )
    kafka_security_protocol: SecurityProtocol | None = Field(
        default=None,
        description="how every Kafka client authenticates and encrypts; embedded default "
        "PLAINTEXT (Tansu can do nothing else), production must say it (SASL_SSL for Kafka)",
    )
    kafka_sasl_mechanism: Mechanism | None = None
    kafka_username: str | None = Field(default=None, description="this service's Kafka user")
    kafka_password: SecretStr | None = Field(
        default=None, description="prefer SUXING_KAFKA_PASSWORD_FILE (a mounted secret)"
    )
    kafka_password_file: Path | None = None
    kafka_ca_file: Path | None = Field(
        default=None, description="CA bundle that signed the brokers' certificates"
    )
    kafka_cert_file: Path | None = Field(default=None, description="client certificate (mTLS)")
    kafka_key_file: Path | None = None
    kafka_check_hostname: bool = True
    log_level: str = "INFO"
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="larger request bodies get 413"
    )
    pledges_url: str | None = Field(default=None, description="the portal's pledges service")
    reviews_url: str | None = Field(default=None, description="the portal's reviews service")
    scoring_url: str | None = Field(default=None, description="the portal's scoring service")
    seal_interval_seconds: float = Field(
        default=3600, ge=0, description="how often the log is sealed (0 = never)"
    )
    clock_file: str | None = Field(
        default=None,
        description="embedded only: a file holding the business time (ISO-8601 with offset) "
        "for demonstrations and end-to-end tests of the year's edges (shared/clock.py)",
    )
    keys_dir: Path | None = Field(
        default=None,
        description="event signing keys (shared/signing.py): this service's <service>.<id>.key "
        "and every service's .pub; embedded default: data_dir/keys, created as needed",
    )
    signing_key_id: str | None = Field(
        default=None,
        description="the key this service signs with (<service>.<id>); default: the newest",
    )
    signin_gateways: str | None = Field(
        default=None,
        description="portal, production: comma-separated origins (https://sso.example.com) of "
        "the sign-in gateways allowed to post a token to /signin/token; unset, that entry "
        "takes no post (the gateway may still forward Authorization: Bearer)",
    )
    operator_token: SecretStr | None = Field(
        default=None,
        description="the operator's token (role operator or org_admin) that data-changing CLI "
        "commands record as who ran them; required by the production profile",
    )
    metrics_token: str | None = Field(
        default=None,
        description="bearer token Prometheus sends to /metrics; production without one "
        "refuses to serve /metrics (the embedded profile serves it to anyone on loopback)",
    )
    review_key_retention_days: float = Field(
        default=30,
        ge=0,
        le=366,
        description=(
            "reviews: days after a period closes (objections, finalization) before its "
            "pseudonym key is destroyed; 0 destroys it at the next sweep after closing"
        ),
    )

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.profile != "production":
            return self
        if self.clock_file:
            raise ValueError(
                "the production profile refuses SUXING_CLOCK_FILE: decisions run on real time"
            )
        missing = []
        if self.service == "portal":
            # The portal has no database and no broker: it calls the three services.
            for name in ("pledges", "reviews", "scoring"):
                if not getattr(self, f"{name}_url"):
                    missing.append(f"SUXING_{name.upper()}_URL")
        else:
            if not self.database_url:
                missing.append("SUXING_DATABASE_URL")
            if not self.broker_url:
                missing.append("SUXING_BROKER_URL")
        if missing:
            raise ValueError(
                "the production profile needs explicit settings: " + ", ".join(missing)
            )
        if self.jwt_public_key is not None and self.jwt_jwks is not None:
            raise ValueError("set SUXING_JWT_PUBLIC_KEY or SUXING_JWT_JWKS, not both")
        provider = self.jwt_public_key is not None or self.jwt_jwks is not None
        if not provider and self.jwt_secret == DEFAULT_SECRET:
            raise ValueError(
                "the production profile refuses the default SUXING_JWT_SECRET: set "
                "SUXING_JWT_JWKS or SUXING_JWT_PUBLIC_KEY (identity provider) or a strong "
                "SUXING_JWT_SECRET"
            )
        if self.service != "portal" and self.kafka_security_protocol is None:
            raise ValueError(
                "the production profile needs SUXING_KAFKA_SECURITY_PROTOCOL: SASL_SSL for "
                "Apache Kafka (docs/deploy.md); PLAINTEXT only where the network is trusted, "
                "and then said explicitly"
            )
        if self.service != "portal" and self.keys_dir is None:
            missing_keys = "SUXING_KEYS_DIR (the service's signing key and the trusted public keys)"
            raise ValueError("the production profile needs explicit settings: " + missing_keys)
        if not provider and len(self.jwt_secret) < 32:
            raise ValueError("SUXING_JWT_SECRET must be at least 32 characters in production")
        return self

    @property
    def embedded(self) -> bool:
        return self.profile == "embedded"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').as_posix()}"

    def listening_refusal(self) -> str | None:
        """Why this process must not listen where it is told to, or None. The embedded profile
        signs anyone in from the portal's picker, serves /metrics to anyone and creates its
        own keys: it is for one machine, so it listens on loopback only (a container started
        without SUXING_PROFILE=production would otherwise be an open door)."""
        if self.embedded and self.host not in LOOPBACK:
            return (
                f"the embedded profile listens on loopback only, not on {self.host}: set "
                "SUXING_PROFILE=production (with its settings) to serve a network"
            )
        return None

    def gateway_origins(self) -> frozenset[str] | None:
        """Production's sign-in gateway origins (possibly none); None in the embedded
        profile, where ``/signin/token`` is an ordinary same-origin form."""
        if self.embedded:
            return None
        return frozenset(
            origin_of(item) for item in (self.signin_gateways or "").split(",") if item.strip()
        )

    def resolved_keys_dir(self) -> Path:
        return self.keys_dir if self.keys_dir is not None else self.data_dir / "keys"

    def signing_key(self) -> SigningKey:
        """This service's event signing key; the embedded profile creates one if none exists,
        production refuses to start without it."""
        return load_signing_key(
            self.resolved_keys_dir(), self.service, self.signing_key_id, create=self.embedded
        )

    def verifier(self) -> Verifier:
        """Checks the origin of every consumed record against the trusted public keys."""
        return Verifier(Keyring(self.resolved_keys_dir()))

    def resolved_port(self) -> int:
        return self.port or SERVICE_PORTS.get(self.service, 8100)

    def service_url(self, name: str) -> str:
        """Where the portal reaches a service: ``SUXING_<NAME>_URL`` or its default port."""
        explicit = {
            "pledges": self.pledges_url,
            "reviews": self.reviews_url,
            "scoring": self.scoring_url,
        }.get(name)
        return (explicit or f"http://127.0.0.1:{SERVICE_PORTS[name]}").rstrip("/")

    def kafka_security(self) -> KafkaSecurity:
        """The SUXING_KAFKA_* block, checked (a ValueError names what is inconsistent)."""
        password = self.kafka_password.get_secret_value() if self.kafka_password else None
        if self.kafka_password_file is not None:
            if password is not None:
                raise ValueError(
                    "set SUXING_KAFKA_PASSWORD_FILE or SUXING_KAFKA_PASSWORD, not both"
                )
            try:
                password = self.kafka_password_file.read_text("utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(
                    f"cannot read SUXING_KAFKA_PASSWORD_FILE {self.kafka_password_file}: "
                    f"{exc.strerror}"
                ) from exc
        return KafkaSecurity(
            protocol=self.kafka_security_protocol or "PLAINTEXT",
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_username,
            password=password,
            ca_file=self.kafka_ca_file,
            cert_file=self.kafka_cert_file,
            key_file=self.kafka_key_file,
            check_hostname=self.kafka_check_hostname,
        )

    def kafka(self) -> KafkaClientProfile:
        if not self.broker_url:
            raise ValueError("SUXING_BROKER_URL is not set (suxing up sets it in embedded mode)")
        client_id = f"suxing-{self.service}"
        security = self.kafka_security()
        if self.embedded:
            profile = KafkaClientProfile.embedded(self.broker_url, client_id, security)
        else:
            profile = KafkaClientProfile(
                bootstrap=self.broker_url, client_id=client_id, security=security
            )
        if self.broker_idempotence is not None:
            profile = dataclasses.replace(profile, enable_idempotence=self.broker_idempotence)
        return profile

    def group_id(self, consumer: str) -> str:
        return f"suxing.{consumer}{self.group_suffix}"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased, as browsers send ``Origin``."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def known_service(name: str) -> bool:
    return name in SERVICES
