"""The verifier a service builds from its settings: the shared secret in the embedded
profile, the identity provider's public key (RSA or EC) when one is configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.auth import Principal, Role, TokenIssuer
from shared.errors import Unauthenticated
from shared.service import token_verifier
from shared.settings import DEFAULT_SECRET, Settings

pytestmark = pytest.mark.unit


def _claims() -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sub": "sec-a",
        "name": "王建国",
        "roles": ["branch_committee"],
        "branch": "b-a",
        "iss": "suxing",
        "aud": "suxing",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }


def _production(public_pem: bytes) -> Settings:
    return Settings(
        profile="production",
        database_url="postgresql+asyncpg://db/suxing",
        broker_url="kafka:9092",
        kafka_security_protocol="PLAINTEXT",
        jwt_public_key=public_pem.decode(),
    )


def _pem(private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_embedded_profile_accepts_tokens_from_suxing_token():
    principal = Principal(person_id="m-a", name="李秀英", roles=frozenset({Role.MEMBER}))
    token = TokenIssuer(DEFAULT_SECRET).issue(principal)
    assert token_verifier(Settings()).verify(token) == principal


@pytest.mark.parametrize(
    ("private", "algorithm"),
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
    ],
    ids=["rsa", "ec"],
)
def test_production_verifies_the_identity_providers_signature(private: Any, algorithm: str):
    verifier = token_verifier(_production(_pem(private)))

    principal = verifier.verify(jwt.encode(_claims(), private, algorithm=algorithm))

    assert (principal.person_id, principal.branch_id) == ("sec-a", "b-a")
    forged = TokenIssuer("x" * 40).issue(principal)
    with pytest.raises(Unauthenticated):
        verifier.verify(forged)


def test_a_public_key_that_is_not_pem_is_refused_at_start_up():
    with pytest.raises(ValueError, match="not a PEM public key"):
        token_verifier(
            _production(b"-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----")
        )
