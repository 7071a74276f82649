from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shared.auth import (
    EXPIRED,
    MALFORMED_IDENTITY,
    NOT_YET_VALID,
    CurrentPrincipal,
    OptionalPrincipal,
    Principal,
    Role,
    TokenIssuer,
    TokenVerifier,
    require_branch_role,
    require_role,
    require_self,
)
from shared.errors import DomainError, Forbidden, Unauthenticated

pytestmark = pytest.mark.unit

SECRET = "embedded-profile-secret-of-32-bytes-or-more"
NOW = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

SECRETARY = Principal(
    person_id="p-0001",
    name="王建国",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE}),
    unit_id="u-07",
    branch_id="b-101",
)
MEMBER = Principal(
    person_id="p-0002",
    name="李秀英",
    roles=frozenset({Role.MEMBER, Role.EMPLOYEE}),
    unit_id="u-07",
    branch_id="b-101",
)
ORG_ADMIN = Principal(person_id="p-0900", name="张伟", roles=frozenset({Role.ORG_ADMIN}))


def issue(principal: Principal = SECRETARY, *, now: datetime = NOW, **options: Any) -> str:
    return TokenIssuer(SECRET, **options).issue(principal, now=now)


def verifier(**options: Any) -> TokenVerifier:
    return TokenVerifier(SECRET, algorithm="HS256", **options)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def craft(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """Build a token by hand, as an attacker would, bypassing PyJWT's own safeguards."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = (
        b"" if key is None else hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    )
    return f"{signing_input}.{b64url(signature)}"


def valid_claims(**overrides: Any) -> dict[str, Any]:
    iat = int(NOW.timestamp())
    claims: dict[str, Any] = {
        "sub": "p-0002",
        "name": "李秀英",
        "roles": ["member"],
        "unit": "u-07",
        "branch": "b-101",
        "iss": "suxing",
        "aud": "suxing",
        "iat": iat,
        "exp": iat + 3600,
        "jti": "j-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def refusal(token: str, *, check: TokenVerifier | None = None, now: datetime = NOW) -> str:
    with pytest.raises(Unauthenticated) as caught:
        (check or verifier()).verify(token, now=now)
    return caught.value.message


# Tokens


def test_issued_token_verifies_to_the_same_principal() -> None:
    assert verifier().verify(issue(), now=NOW + timedelta(minutes=5)) == SECRETARY


def test_issued_token_carries_the_agreed_claims() -> None:
    claims = jwt.decode(issue(ttl=timedelta(hours=2)), options={"verify_signature": False})

    assert claims["sub"] == "p-0001"
    assert claims["name"] == "王建国"
    assert claims["roles"] == ["branch_committee", "employee", "member"]
    assert (claims["unit"], claims["branch"]) == ("u-07", "b-101")
    assert (claims["iss"], claims["aud"]) == ("suxing", "suxing")
    assert claims["exp"] - claims["iat"] == 7200
    assert claims["jti"]


def test_expired_token_is_refused_after_the_leeway() -> None:
    token = issue(ttl=timedelta(hours=1))

    assert verifier().verify(token, now=NOW + timedelta(hours=1, seconds=29)) == SECRETARY
    assert (
        refusal(token, now=NOW + timedelta(hours=1, seconds=31))
        == EXPIRED
        == "登录已过期，请重新登录"
    )


def test_token_issued_in_the_future_is_refused_beyond_the_leeway() -> None:
    assert verifier().verify(issue(now=NOW + timedelta(seconds=20)), now=NOW) == SECRETARY
    assert refusal(issue(now=NOW + timedelta(seconds=60)), now=NOW) == NOT_YET_VALID


def test_token_not_valid_before_a_later_time_is_refused() -> None:
    nbf = int(NOW.timestamp()) + 600
    token = jwt.encode(valid_claims(nbf=nbf), SECRET, algorithm="HS256")

    assert refusal(token) == NOT_YET_VALID


def test_token_signed_with_another_secret_is_refused() -> None:
    other = TokenIssuer("another-secret-that-is-also-long-enough").issue(SECRETARY, now=NOW)

    assert refusal(other) == "令牌无效：签名不正确，请重新登录"


def test_token_for_another_audience_is_refused() -> None:
    assert refusal(issue(audience="hr-system")) == "令牌无效：该令牌不是签发给本系统的，请重新登录"


def test_token_from_another_issuer_is_refused() -> None:
    assert refusal(issue(issuer="someone-else")) == "令牌无效：签发方不受信任，请重新登录"


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
def test_token_missing_a_required_claim_is_refused(claim: str) -> None:
    token = jwt.encode(valid_claims(**{claim: None}), SECRET, algorithm="HS256")

    assert refusal(token) == "令牌无效：缺少必要的身份信息，请重新登录"


def test_garbage_is_refused_without_leaking_parser_details() -> None:
    assert refusal("not-a-token") == "令牌无效：格式不正确，请重新登录"


def test_unsigned_alg_none_token_is_refused() -> None:
    token = craft({"alg": "none", "typ": "JWT"}, valid_claims(), key=None)

    assert token.endswith(".")
    assert refusal(token) == "令牌无效：签名算法不被接受，请重新登录"


def test_token_with_another_hmac_algorithm_is_refused_even_with_the_right_secret() -> None:
    token = jwt.encode(valid_claims(), SECRET + "-padding-for-hs512-length-rules!", "HS512")

    assert refusal(token) == "令牌无效：签名算法不被接受，请重新登录"


def test_unknown_roles_grant_nothing() -> None:
    token = jwt.encode(valid_claims(roles=["member", "auditor"]), SECRET, algorithm="HS256")

    assert verifier().verify(token, now=NOW).roles == frozenset({Role.MEMBER})


@pytest.mark.parametrize(
    "overrides",
    [{"roles": "member"}, {"name": ""}, {"exp": "tomorrow"}, {"sub": "p" * 65}],
)
def test_malformed_identity_is_refused(overrides: dict[str, Any]) -> None:
    token = jwt.encode(valid_claims(**overrides), SECRET, algorithm="HS256")

    assert refusal(token) == MALFORMED_IDENTITY


def test_short_secrets_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenIssuer("short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenVerifier("short", algorithm="HS256")


def test_clock_without_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        TokenIssuer(SECRET).issue(SECRETARY, now=datetime(2024, 3, 1, 8, 0))


def test_private_key_is_never_accepted_as_the_verification_key() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----\n"

    with pytest.raises(ValueError, match="not its private key"):
        TokenVerifier(pem, algorithm="RS256")


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[Any, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def test_identity_provider_rs256_token_verifies(rsa_keys: tuple[Any, str]) -> None:
    private, public_pem = rsa_keys
    token = jwt.encode(valid_claims(), private, algorithm="RS256")

    principal = TokenVerifier(public_pem, algorithm="RS256").verify(token, now=NOW)

    assert (principal.person_id, principal.name) == ("p-0002", "李秀英")


def test_hs256_token_signed_with_the_public_key_is_refused(rsa_keys: tuple[Any, str]) -> None:
    _, public_pem = rsa_keys
    forged = craft({"alg": "HS256", "typ": "JWT"}, valid_claims(), key=public_pem.encode())

    check = TokenVerifier(public_pem, algorithm="RS256")

    assert refusal(forged, check=check) == "令牌无效：签名算法不被接受，请重新登录"


def test_identity_provider_es256_token_verifies() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    token = jwt.encode(valid_claims(), private, algorithm="ES256")

    assert TokenVerifier(public_pem, algorithm="ES256").verify(token, now=NOW).person_id == "p-0002"


# FastAPI edge


def in_process_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://suxing")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.token_verifier = verifier()

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"person_id": principal.person_id}

    @app.get("/board")
    async def board(principal: OptionalPrincipal) -> dict[str, str | None]:
        return {"person_id": principal.person_id if principal else None}

    async with in_process_client(app) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_request_without_a_token_is_asked_to_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/me")

    assert (response.status_code, response.json()) == (401, {"detail": "请先登录"})


async def test_request_with_another_scheme_is_asked_to_log_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert (response.status_code, response.json()) == (401, {"detail": "请先登录"})


async def test_request_with_a_valid_token_reaches_the_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/me", headers=bearer(issue(now=datetime.now(UTC))))

    assert (response.status_code, response.json()) == (200, {"person_id": "p-0001"})


async def test_request_with_an_expired_token_is_told_so(client: httpx.AsyncClient) -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    response = await client.get("/me", headers=bearer(issue(now=yesterday)))

    assert (response.status_code, response.json()) == (401, {"detail": EXPIRED})


async def test_public_endpoint_serves_anonymous_and_identified_callers(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.get("/board")
    identified = await client.get("/board", headers=bearer(issue(now=datetime.now(UTC))))

    assert anonymous.json() == {"person_id": None}
    assert identified.json() == {"person_id": "p-0001"}


async def test_public_endpoint_still_refuses_a_bad_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/board", headers=bearer("not-a-token"))

    assert (response.status_code, response.json()) == (
        401,
        {"detail": "令牌无效：格式不正确，请重新登录"},
    )


async def test_app_without_a_verifier_fails_loudly() -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> str:
        return principal.person_id

    async with in_process_client(app) as http:
        with pytest.raises(RuntimeError, match=r"app\.state\.token_verifier"):
            await http.get("/me", headers=bearer(issue()))


# Authorization


def test_require_role_passes_a_holder_of_any_listed_role() -> None:
    require_role(MEMBER, Role.BRANCH_COMMITTEE, Role.EMPLOYEE, action="提交需求")


def test_require_role_names_the_required_roles_and_the_action() -> None:
    with pytest.raises(Forbidden) as one:
        require_role(MEMBER, Role.ORG_ADMIN, action="调整评分政策")
    with pytest.raises(Forbidden) as several:
        require_role(ORG_ADMIN, Role.MEMBER, Role.EMPLOYEE, Role.OPERATOR, action="参与群众评议")

    assert one.value.message == "只有组织部管理员可以调整评分政策"
    assert several.value.message == "只有党员、员工或运维人员可以参与群众评议"


def test_require_branch_role_passes_the_committee_of_that_branch() -> None:
    require_branch_role(SECRETARY, Role.BRANCH_COMMITTEE, "b-101", action="审核承诺")


@pytest.mark.parametrize(
    ("principal", "branch_id"),
    [(SECRETARY, "b-102"), (MEMBER, "b-101"), (ORG_ADMIN, "b-101")],
    ids=["committee-of-another-branch", "plain-member", "org-admin-not-allowed"],
)
def test_require_branch_role_refuses_others(principal: Principal, branch_id: str) -> None:
    with pytest.raises(Forbidden) as caught:
        require_branch_role(principal, Role.BRANCH_COMMITTEE, branch_id, action="审核承诺")

    assert caught.value.message == "只有本支部的支委会成员可以审核承诺"


def test_require_branch_role_lets_the_org_admin_in_only_when_allowed() -> None:
    require_branch_role(
        ORG_ADMIN, Role.BRANCH_COMMITTEE, "b-101", action="查看台账", allow_org_admin=True
    )
    with pytest.raises(Forbidden) as caught:
        require_branch_role(
            MEMBER, Role.BRANCH_COMMITTEE, "b-101", action="查看台账", allow_org_admin=True
        )

    assert caught.value.message == "只有本支部的支委会成员或组织部管理员可以查看台账"


def test_require_self_passes_the_person_themselves() -> None:
    require_self(MEMBER, "p-0002", action="撤回承诺")


def test_require_self_refuses_acting_for_someone_else() -> None:
    with pytest.raises(Forbidden) as caught:
        require_self(SECRETARY, "p-0002", action="撤回承诺")

    assert caught.value.message == "只有本人可以撤回承诺"
