"""The authorization matrix, generated from each running service's OpenAPI document (so a new
route is in it the day it exists): every operation × every role × own/other branch, plus no
token and bad tokens. What is allowed for whom, command by command, is pinned by the
services' own tests (tests/integration/*/test_authorization.py); here the invariants that
must hold everywhere:

- no cell answers 5xx;
- without a token, or with an expired, forged, ``alg: none``, foreign-audience or tampered
  one, every secured operation answers 401 with a Chinese reason and changes nothing;
- a branch role (member, employee, committee) of the *other* branch cannot change branch
  b-f0's things: every write is refused (403/404) and the logs do not move.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from shared.auth import Principal, Role, TokenIssuer
from shared.settings import DEFAULT_SECRET
from tests.faults.figures import record
from tests.faults.stack import ADMIN, YEAR
from tests.security.conftest import Seeded
from tests.security.matrix import OTHER, OWN, Operation, caller, operations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]
SERVICES = ("pledges", "reviews", "scoring")
BRANCH_ROLES = (Role.MEMBER, Role.EMPLOYEE, Role.BRANCH_COMMITTEE)
STATE_BEFORE_SCOPE = {
    # An objection is always the caller's own; the domain first asks whether the branch's
    # results are in their notice period (409 before publication), then whether the caller
    # is among them (404). Either way nothing is recorded (the log check below).
    "scoring POST /branches/{branch_id}/results/{year}/objections",
}


def all_operations(seeded: Seeded) -> list[Operation]:
    ops: list[Operation] = []
    policy = httpx.get(
        f"{seeded.stack.url('scoring')}/policies/{YEAR}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    ).json()
    for name in SERVICES:
        spec = httpx.get(f"{seeded.stack.url(name)}/openapi.json", timeout=30).json()
        ops.extend(operations(name, spec, policy))
    return ops


def log_sizes(seeded: Seeded) -> dict[str, int]:
    return {
        name: seeded.stack.services[name].sql("SELECT count(*) FROM es_events")[0][0]
        for name in SERVICES
    }


def send(seeded: Seeded, op: Operation, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=30) as http:
        return http.send(op.request(seeded.stack.url(op.service), headers))


def bad_tokens() -> dict[str, str]:
    someone = Principal(
        person_id="sec-f0",
        name="书记0",
        roles=frozenset({Role.ORG_ADMIN, Role.BRANCH_COMMITTEE}),
        branch_id="b-f0",
    )
    good = TokenIssuer(DEFAULT_SECRET).issue(someone)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    now = datetime.now(UTC)

    def b64(data: dict[str, object]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    tampered = {**claims, "roles": ["operator", "org_admin"], "sub": "ops"}
    return {
        "expired": TokenIssuer(DEFAULT_SECRET).issue(someone, now=now - timedelta(days=2)),
        "forged (another secret)": TokenIssuer("x" * 40).issue(someone),
        "alg none": b64({"alg": "none", "typ": "JWT"}) + "." + payload + ".",
        "alg HS512": jwt.encode(claims, DEFAULT_SECRET, algorithm="HS512"),
        "foreign audience": jwt.encode(
            {**claims, "aud": "another-system"}, DEFAULT_SECRET, algorithm="HS256"
        ),
        "tampered claims": header + "." + b64(tampered) + "." + signature,
        "garbage": "not-a-token",
    }


def test_every_operation_refuses_a_missing_or_bad_token(seeded: Seeded) -> None:
    ops = all_operations(seeded)
    secured = [op for op in ops if op.secured]
    assert len(secured) >= 40, [op.name for op in ops]
    before = log_sizes(seeded)
    cells: Counter[str] = Counter()
    for op in secured:
        for label, value in {"no token": None, **bad_tokens()}.items():
            headers = {} if value is None else {"Authorization": f"Bearer {value}"}
            response = send(seeded, op, headers)
            cells[f"{label}: {response.status_code}"] += 1
            assert response.status_code == 401, (op.name, label, response.text)
            message = response.json()["message"]
            assert "登录" in message or "令牌" in message, (op.name, label, message)
    # Public pages answer anyone, and a forged token there gets nothing beyond the public view.
    public = [op for op in ops if not op.secured]
    for op in public:
        anonymous = send(seeded, op, {})
        assert anonymous.status_code < 500, op.name
        forged = {"Authorization": f"Bearer {bad_tokens()['forged (another secret)']}"}
        with_forged = send(seeded, op, forged)
        assert with_forged.status_code in (anonymous.status_code, 401), op.name
        if with_forged.status_code == anonymous.status_code == 200:
            assert len(with_forged.content) == len(anonymous.content), op.name
    assert log_sizes(seeded) == before
    record(
        "authentication matrix",
        {"secured_operations": len(secured), "public_operations": len(public), **cells},
    )


def test_the_other_branch_cannot_change_this_branch_and_nothing_answers_5xx(
    seeded: Seeded,
) -> None:
    ops = all_operations(seeded)
    before = log_sizes(seeded)
    matrix: dict[str, dict[str, int]] = {}
    wrongly_allowed: list[str] = []
    for op in ops:
        if not op.secured or not op.write:
            continue
        for role in BRANCH_ROLES:
            response = send(seeded, op, {"Authorization": f"Bearer {caller(role, OTHER)}"})
            matrix.setdefault(op.name, {})[f"{role.value}@other"] = response.status_code
            assert response.status_code < 500, (op.name, role, response.text)
            refusals = (403, 404, 409) if op.name in STATE_BEFORE_SCOPE else (403, 404)
            if response.status_code not in refusals:
                wrongly_allowed.append(f"{op.name} by {role.value} of b-f1: {response.status_code}")
    assert not wrongly_allowed, "\n".join(wrongly_allowed)
    assert log_sizes(seeded) == before, "a refused call left an event"

    # The rest of the matrix (own branch, organization-wide roles, reads): never a 5xx, and
    # any refusal comes with a Chinese reason. Reads first, then writes (they change state).
    statuses: Counter[int] = Counter()
    for op in sorted(ops, key=lambda o: o.write):
        for role in Role:
            for side in (OWN, OTHER):
                if op.write and side == OTHER and role in BRANCH_ROLES:
                    continue
                response = send(seeded, op, {"Authorization": f"Bearer {caller(role, side)}"})
                cell = f"{role.value}@{'own' if side == OWN else 'other'}"
                matrix.setdefault(op.name, {})[cell] = response.status_code
                statuses[response.status_code] += 1
                assert response.status_code < 500, (op.name, cell, response.text)
                if response.status_code in (401, 403, 404, 409, 422):
                    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["message"])
    record(
        "authorization matrix",
        {
            "operations": len(ops),
            "cells": sum(len(row) for row in matrix.values()),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "other_branch_refusals": sum(
                1
                for row in matrix.values()
                for cell, s in row.items()
                if cell.endswith("@other") and s in (403, 404)
            ),
        },
    )
