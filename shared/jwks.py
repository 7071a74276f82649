"""Tokens signed by the identity provider with any of its published keys (JWKS, RFC 7517).

An identity provider rotates its signing keys: it publishes the current ones (and, for a
while, the previous ones) as a JSON Web Key Set, and names the key in each token's ``kid``
header. ``SUXING_JWT_JWKS`` is that set, as a file the platform keeps current (a mounted
ConfigMap) or an ``https://`` URL. A token whose ``kid`` is not in the set makes the set be
read again (at most every ``refresh_seconds``), so a rotation needs no restart.

Only signature keys of RS256 and ES256 are used; the algorithm comes from the key, never
from the token, so a token cannot choose a weaker one or confuse a public key with a secret.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt

from shared.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, TokenVerifier
from shared.errors import Unauthenticated

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
UNKNOWN_KEY = "令牌无效：签名密钥不在身份认证系统公布的密钥中，请重新登录"
NO_KEY_ID = "令牌无效：没有注明签名密钥（kid），请重新登录"
FETCH_TIMEOUT_SECONDS = 5.0


class KeySet:
    """The identity provider's signature keys by key id, read from a file or a URL."""

    def __init__(self, source: str, *, refresh_seconds: float = 30.0) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._keys = self._read()  # a set that cannot be read stops the start, named
        self._loaded_at = time.monotonic()

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def _raw(self) -> bytes:
        if self.source.startswith("https://") or self.source.startswith("http://"):
            with urllib.request.urlopen(self.source, timeout=FETCH_TIMEOUT_SECONDS) as reply:
                data: bytes = reply.read(1024 * 1024)
                return data
        return Path(self.source).read_bytes()

    def _read(self) -> dict[str, tuple[Any, str]]:
        try:
            document = json.loads(self._raw())
            entries = document["keys"]
            if not isinstance(entries, list):
                raise TypeError("'keys' is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"SUXING_JWT_JWKS {self.source}: cannot read a key set: {exc}"
            ) from exc
        keys: dict[str, tuple[Any, str]] = {}
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid:
                log.warning("JWKS %s: a key without kid is ignored", self.source)
                continue
            if "d" in entry or "k" in entry:
                raise ValueError(
                    f"SUXING_JWT_JWKS {self.source}: key {kid} is private or symmetric; "
                    "publish only the public keys"
                )
            try:
                jwk = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError as exc:
                log.warning("JWKS %s: key %s is ignored: %s", self.source, kid, exc)
                continue
            algorithm = jwk.algorithm_name
            if algorithm not in ALGORITHMS:
                log.warning("JWKS %s: key %s (%s) is not RS256/ES256", self.source, kid, algorithm)
                continue
            keys[kid] = (jwk.key, algorithm)
        if not keys:
            raise ValueError(f"SUXING_JWT_JWKS {self.source}: no RS256 or ES256 signature key")
        return keys

    def key_for(self, kid: str) -> tuple[Any, str] | None:
        found = self._keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            if time.monotonic() - self._loaded_at >= self.refresh_seconds:
                self._loaded_at = time.monotonic()
                try:
                    self._keys = self._read()
                except ValueError as exc:  # keep the keys we have; say why
                    log.warning("%s", exc)
            return self._keys.get(kid)


class KeySetVerifier(TokenVerifier):
    """A :class:`TokenVerifier` whose key is chosen by the token's ``kid`` from a key set."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

    def _key_for(self, token: str) -> tuple[Any, str]:
        kid = jwt.get_unverified_header(token).get("kid")  # DecodeError: "格式不正确"
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated(NO_KEY_ID)
        found = self._keys.key_for(kid)
        if found is None:
            raise Unauthenticated(UNKNOWN_KEY)
        return found
