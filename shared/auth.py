"""Who is calling, and may they do this.

Tokens are JWTs. In the embedded profile the services share an HS256 secret and
``suxing token`` issues tokens; in production an identity provider signs them (RS256/ES256)
and the services hold only its public key. Every refusal is a ``DomainError`` whose message
is shown to the person as it stands, so it is in Chinese and names what to do next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import uuid4

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.algorithms import get_default_algorithms
from jwt.types import Options
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import Forbidden, Unauthenticated
from shared.labels import LabelledEnum

DEFAULT_ISSUER = "suxing"
DEFAULT_AUDIENCE = "suxing"
DEFAULT_TTL = timedelta(hours=8)
LEEWAY = timedelta(seconds=30)
# RFC 7518 §3.2: an HS256 key shorter than the hash output weakens the MAC.
MIN_SECRET_BYTES = 32


class Role(LabelledEnum):
    MEMBER = "member", "党员"
    EMPLOYEE = "employee", "员工"
    BRANCH_COMMITTEE = "branch_committee", "支委会成员"
    # Oversees the branches of its unit (the token's ``unit``): reads their results, cards
    # and statistics, decides objections and committee members' own cases (docs/identity.md).
    UNIT_COMMITTEE = "unit_committee", "二级党委成员"
    ORG_ADMIN = "org_admin", "组织部管理员"
    OPERATOR = "operator", "运维人员"


class Principal(BaseModel):
    """The authenticated person. Lengths match ``shared.contracts.envelope`` (Actor, Org)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    roles: frozenset[Role] = frozenset()
    unit_id: str | None = Field(default=None, max_length=64)
    branch_id: str | None = Field(default=None, max_length=64)

    def has(self, role: Role) -> bool:
        return role in self.roles


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone (UTC)")
    return now


def _check_secret(secret: str) -> None:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the HS256 token secret must be at least {MIN_SECRET_BYTES} bytes; generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )


class TokenIssuer:
    """Signs HS256 tokens for the embedded profile and the ``suxing token`` CLI."""

    def __init__(
        self,
        secret: str,
        *,
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
        ttl: timedelta = DEFAULT_TTL,
    ) -> None:
        _check_secret(secret)
        if ttl <= timedelta(0):
            raise ValueError("token ttl must be positive")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl

    def issue(self, principal: Principal, *, now: datetime | None = None) -> str:
        issued_at = int(_utc(now).timestamp())
        claims = {
            "sub": principal.person_id,
            "name": principal.name,
            # Sorted so the same principal always yields the same claims.
            "roles": sorted(role.value for role in principal.roles),
            "unit": principal.unit_id,
            "branch": principal.branch_id,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued_at,
            "exp": issued_at + int(self._ttl.total_seconds()),
            "jti": uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")


_DECODE_OPTIONS: Options = {
    "require": ["exp", "iat", "sub", "aud", "iss"],
    # PyJWT would compare against its own reading of the wall clock; the times are checked
    # in ``TokenVerifier._check_times`` against the injected ``now`` instead.
    "verify_exp": False,
    "verify_iat": False,
    "verify_nbf": False,
    "enforce_minimum_key_length": True,
}

# Most specific first: InvalidSignatureError is a DecodeError.
_REJECTIONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "令牌无效：签名不正确，请重新登录"),
    (jwt.InvalidAlgorithmError, "令牌无效：签名算法不被接受，请重新登录"),
    (jwt.InvalidAudienceError, "令牌无效：该令牌不是签发给本系统的，请重新登录"),
    (jwt.InvalidIssuerError, "令牌无效：签发方不受信任，请重新登录"),
    (jwt.MissingRequiredClaimError, "令牌无效：缺少必要的身份信息，请重新登录"),
    (jwt.DecodeError, "令牌无效：格式不正确，请重新登录"),
)
EXPIRED = "登录已过期，请重新登录"
NOT_YET_VALID = "令牌尚未生效，请稍后重试或重新登录"
MALFORMED_IDENTITY = "令牌无效：身份信息格式不正确，请重新登录"
_KNOWN_ROLES = frozenset(role.value for role in Role)


class _IdentityClaims(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sub: str
    name: str
    roles: list[str] = []
    unit: str | None = None
    branch: str | None = None


def _timestamp(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


class TokenVerifier:
    """Checks a token and says who it belongs to. ``key`` is the shared secret for HS256, or
    the identity provider's PEM public key for RS256/ES256.

    The accepted algorithm is fixed here, never read from the token, so neither ``alg: none``
    nor an HS256 token "signed" with the public key (key confusion) can get through.
    """

    def __init__(
        self,
        key: str,
        *,
        algorithm: Literal["HS256", "RS256", "ES256"],
        issuer: str = DEFAULT_ISSUER,
        audience: str = DEFAULT_AUDIENCE,
    ) -> None:
        if algorithm == "HS256":
            _check_secret(key)
        elif "PRIVATE KEY" in key:
            raise ValueError(
                "give the services the identity provider's public key, not its private key"
            )
        implementation = get_default_algorithms().get(algorithm)
        if algorithm not in ("HS256", "RS256", "ES256") or implementation is None:
            raise ValueError(
                f"token algorithm {algorithm!r} is not available; "
                "RS256 and ES256 need the 'cryptography' package"
            )
        try:
            prepared = implementation.prepare_key(key)
        except (jwt.InvalidKeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the {algorithm} verification key cannot be used: {exc}") from exc
        weakness = implementation.check_key_length(prepared)
        if weakness:
            raise ValueError(weakness)
        self._key: Any = prepared
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience

    def _key_for(self, token: str) -> tuple[Any, str]:
        """The key and the one algorithm this token must be verified with."""
        return self._key, self._algorithm

    def verify(self, token: str, *, now: datetime | None = None) -> Principal:
        try:
            key, algorithm = self._key_for(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options=_DECODE_OPTIONS,
            )
        except jwt.PyJWTError as exc:
            message = next((m for kind, m in _REJECTIONS if isinstance(exc, kind)), None)
            raise Unauthenticated(message or "令牌无效，请重新登录") from exc
        # Only after the signature holds: a forged token must not learn it is "expired".
        self._check_times(claims, _utc(now))
        try:
            identity = _IdentityClaims.model_validate(claims)
            return Principal(
                person_id=identity.sub,
                name=identity.name,
                # A role this system does not know grants nothing here; the identity
                # provider may serve other applications with roles of their own.
                roles=frozenset(Role(r) for r in identity.roles if r in _KNOWN_ROLES),
                unit_id=identity.unit,
                branch_id=identity.branch,
            )
        except ValidationError as exc:
            raise Unauthenticated(MALFORMED_IDENTITY) from exc

    @staticmethod
    def _check_times(claims: dict[str, Any], now: datetime) -> None:
        current = now.timestamp()
        leeway = LEEWAY.total_seconds()
        expires, issued = _timestamp(claims["exp"]), _timestamp(claims["iat"])
        not_before = _timestamp(claims.get("nbf", issued))
        if expires is None or issued is None or not_before is None:
            raise Unauthenticated(MALFORMED_IDENTITY)
        if current > expires + leeway:
            raise Unauthenticated(EXPIRED)
        if max(issued, not_before) > current + leeway:
            raise Unauthenticated(NOT_YET_VALID)


# FastAPI edge. HTTPBearer only parses the header and documents the scheme in OpenAPI;
# auto_error is off so the refusal is ours, in Chinese, mapped like every DomainError.
_bearer_scheme = HTTPBearer(auto_error=False)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)]
VerifierGetter = Callable[[Request], TokenVerifier]


def bearer_principal(
    get_verifier: VerifierGetter,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal]]:
    """A dependency that requires a valid bearer token. The verifier is looked up per request
    because it is built from settings at start-up, after this module is imported."""

    async def principal(request: Request, credentials: BearerCredentials) -> Principal:
        if credentials is None:
            raise Unauthenticated("请先登录")
        return get_verifier(request).verify(credentials.credentials)

    return principal


def optional_bearer_principal(
    get_verifier: VerifierGetter,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Principal | None]]:
    """For public pages: no token means anonymous, but a bad token is still refused, so a
    person whose login expired is told so instead of silently seeing the public view."""

    async def principal(request: Request, credentials: BearerCredentials) -> Principal | None:
        if credentials is None:
            return None
        return get_verifier(request).verify(credentials.credentials)

    return principal


def verifier_from_app_state(request: Request) -> TokenVerifier:
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("create_app must set app.state.token_verifier to a TokenVerifier")
    return verifier


current_principal = bearer_principal(verifier_from_app_state)
optional_principal = optional_bearer_principal(verifier_from_app_state)
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


# Authorization. ``action`` is a verb phrase ("审核承诺") completing "只有…可以{action}".
def _either(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else "、".join(labels[:-1]) + "或" + labels[-1]


def require_role(principal: Principal, role: Role, /, *others: Role, action: str) -> None:
    """The principal must hold at least one of the roles."""
    wanted = (role, *others)
    if principal.roles.isdisjoint(wanted):
        raise Forbidden(f"只有{_either([r.label for r in wanted])}可以{action}")


def require_branch_role(
    principal: Principal,
    role: Role,
    branch_id: str,
    *,
    action: str,
    allow_org_admin: bool = False,
) -> None:
    """The principal holds ``role`` in the branch acted on; the organization department
    passes for any branch only where the caller allows it."""
    if allow_org_admin and principal.has(Role.ORG_ADMIN):
        return
    if principal.has(role) and principal.branch_id is not None and principal.branch_id == branch_id:
        return
    who = f"本支部的{role.label}"
    if allow_org_admin:
        who += f"或{Role.ORG_ADMIN.label}"
    raise Forbidden(f"只有{who}可以{action}")


def require_self(principal: Principal, person_id: str, *, action: str) -> None:
    """Acting for oneself: nobody declares, withdraws or signs in another person's name."""
    if principal.person_id != person_id:
        raise Forbidden(f"只有本人可以{action}")
