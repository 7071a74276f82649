"""Production tokens verified with the identity provider's published keys (SUXING_JWT_JWKS),
tried as the provider rotates its keys and as an attacker forges tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import ValidationError

from shared.errors import Unauthenticated
from shared.jwks import KeySet, KeySetVerifier
from shared.service import token_verifier
from shared.settings import DEFAULT_SECRET, Settings

pytestmark = pytest.mark.unit

Private = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "sub": "sec-a",
        "name": "王建国",
        "roles": ["branch_committee"],
        "branch": "b-a",
        "iss": "suxing",
        "aud": "suxing",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    return {**base, **changes}


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private: Private, kid: str, **extra: Any) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else None
    if algorithm is not None:
        public = json.loads(algorithm.to_jwk(private.public_key()))
    else:
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    return {**public, "kid": kid, "use": "sig", **extra}


def sign(private: Private, kid: str | None, **changes: Any) -> str:
    algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims(**changes), private, algorithm=algorithm, headers=headers)


def hs256_with(secret: bytes) -> str:
    """An HS256 token made by hand (PyJWT refuses to use a public key as a secret)."""

    def part(data: dict[str, Any]) -> bytes:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=")

    head = part({"alg": "HS256", "typ": "JWT", "kid": "k-2026-01"}) + b"." + part(claims())
    mac = hmac.new(secret, head, hashlib.sha256).digest()
    return (head + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def write_set(path: Path, *keys: dict[str, Any]) -> None:
    path.write_text(json.dumps({"keys": list(keys)}))


@pytest.fixture
def provider(tmp_path: Path) -> tuple[Path, rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]:
    first, second = rsa_key(), ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "jwks.json"
    write_set(path, jwk(first, "k-2026-01"), jwk(second, "k-ec"))
    return path, first, second


def production(**given: Any) -> Settings:
    return Settings(
        profile="production",
        database_url="postgresql+asyncpg://db/suxing",
        broker_url="kafka:9092",
        kafka_security_protocol="PLAINTEXT",
        **given,
    )


def test_tokens_of_each_published_key_are_accepted(provider: Any) -> None:
    path, first, second = provider
    verifier = token_verifier(production(jwt_jwks=str(path)))
    assert isinstance(verifier, KeySetVerifier)
    for private, kid in ((first, "k-2026-01"), (second, "k-ec")):
        assert verifier.verify(sign(private, kid)).person_id == "sec-a"


def test_a_rotation_is_picked_up_without_a_restart(provider: Any) -> None:
    path, first, _ = provider
    keys = KeySet(str(path), refresh_seconds=0)
    verifier = KeySetVerifier(keys)
    rotated = rsa_key()
    with pytest.raises(Unauthenticated, match="不在身份认证系统公布的密钥中"):
        verifier.verify(sign(rotated, "k-2026-02"))
    write_set(path, jwk(first, "k-2026-01"), jwk(rotated, "k-2026-02"))
    assert verifier.verify(sign(rotated, "k-2026-02")).name == "王建国"
    # A retired key stops working once the provider stops publishing it (the next unknown
    # kid re-reads the set).
    write_set(path, jwk(rotated, "k-2026-02"))
    with pytest.raises(Unauthenticated):
        verifier.verify(sign(rsa_key(), "k-never-published"))
    assert keys.key_ids == ["k-2026-02"]
    with pytest.raises(Unauthenticated, match="不在身份认证系统公布的密钥中"):
        verifier.verify(sign(first, "k-2026-01"))


@pytest.mark.parametrize(
    "forge",
    [
        # Someone else's key under a published kid.
        lambda first, second: sign(rsa_key(), "k-2026-01"),
        # No kid: the verifier does not guess.
        lambda first, second: sign(first, None),
        # The EC key's kid on an RSA signature: the algorithm comes from the key.
        lambda first, second: sign(first, "k-ec"),
        # Key confusion: HS256 "signed" with the published RSA key's text as the secret.
        lambda first, second: hs256_with(json.dumps(jwk(first, "k-2026-01")).encode()),
        # alg none.
        lambda first, second: jwt.encode(claims(), None, "none", {"kid": "k-2026-01"}),
        # Another audience, signed properly.
        lambda first, second: sign(first, "k-2026-01", aud="other-system"),
        "not a token",
    ],
)
def test_forged_tokens_are_refused(provider: Any, forge: Any) -> None:
    path, first, second = provider
    verifier = token_verifier(production(jwt_jwks=str(path)))
    token = forge if isinstance(forge, str) else forge(first, second)
    with pytest.raises(Unauthenticated):
        verifier.verify(token)


def test_a_set_with_private_or_no_usable_keys_stops_the_start(tmp_path: Path) -> None:
    private = tmp_path / "private.json"
    leaked = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key()))
    private.write_text(json.dumps({"keys": [{**leaked, "kid": "oops"}]}))
    with pytest.raises(ValueError, match="private or symmetric"):
        KeySet(str(private))
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": [{"kty": "oct", "kid": "s", "use": "enc"}]}))
    with pytest.raises(ValueError, match="no RS256 or ES256 signature key"):
        KeySet(str(empty))
    with pytest.raises(ValueError, match="cannot read a key set"):
        KeySet(str(tmp_path / "absent.json"))


def test_settings_take_one_provider_key_source(provider: Any) -> None:
    path, _, _ = provider
    with pytest.raises(ValidationError, match="not both"):
        production(jwt_jwks=str(path), jwt_public_key="-----BEGIN PUBLIC KEY-----")
    # With a key set, production needs no HS256 secret.
    assert production(jwt_jwks=str(path)).jwt_secret == DEFAULT_SECRET


@pytest.fixture
def served(provider: Any) -> Iterator[tuple[str, list[int]]]:
    """The key set over real HTTP, counting fetches."""
    path = provider[0]
    fetches: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(1)
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", fetches
    finally:
        server.shutdown()
        server.server_close()


def test_a_key_set_url_is_fetched_at_start_and_again_for_an_unknown_key(
    provider: Any, served: tuple[str, list[int]]
) -> None:
    path, first, _ = provider
    url, fetches = served
    verifier = KeySetVerifier(KeySet(url, refresh_seconds=0))
    assert len(fetches) == 1
    for _ in range(5):  # known keys need no fetch
        verifier.verify(sign(first, "k-2026-01"))
    assert len(fetches) == 1
    rotated = rsa_key()
    write_set(path, jwk(first, "k-2026-01"), jwk(rotated, "k-2026-02"))
    assert verifier.verify(sign(rotated, "k-2026-02")).person_id == "sec-a"
    assert len(fetches) == 2


def test_unknown_key_ids_do_not_hammer_the_provider(provider: Any) -> None:
    path, first, _ = provider
    keys = KeySet(str(path), refresh_seconds=3600)
    verifier = KeySetVerifier(keys)
    rotated = rsa_key()
    write_set(path, jwk(first, "k-2026-01"), jwk(rotated, "k-2026-02"))
    # Within the refresh interval an unknown kid is refused without re-reading.
    with pytest.raises(Unauthenticated):
        verifier.verify(sign(rotated, "k-2026-02"))
    assert keys.key_ids == ["k-2026-01", "k-ec"]
