"""Requests for every operation of every service's OpenAPI document, aimed at branch b-f0's
resources, so a matrix of callers can be run over all of them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.auth import Role
from tests.faults.stack import YEAR, token

OWN, OTHER = 0, 1
SKIP = {"/metrics", "/health/live", "/health/ready"}
# Path and query values naming branch b-f0's things (the fixture declares pledge sec-0-0-0).
VALUES: dict[str, Any] = {
    "branch_id": "b-f0",
    "branch": "b-f0",
    "person_id": "m-f0-0",
    "member_id": "m-f0-0",
    "employee_id": "e-f0",
    "pledge_id": "sec-0-0-0",
    "need_id": "need-sec-0",
    "period_id": "rp-sec",
    "objection_id": "ob-sec",
    "year": YEAR,
    "month": f"{YEAR}-03",
    "role": "peer",
    "fmt": "csv",
    "unit_id": "u-f",
    "id": "b-f0",
    "scope": "branch",
    "period": "H1",
    "on": f"{YEAR}-06-30",
}


@dataclass(frozen=True)
class Operation:
    service: str
    method: str
    path: str
    secured: bool
    body: Any
    content_type: str | None

    @property
    def write(self) -> bool:
        return self.method != "GET"

    @property
    def name(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    def url(self) -> str:
        path = self.path
        for key, value in VALUES.items():
            path = path.replace("{" + key + "}", str(value))
        return path

    def request(self, base: str, headers: dict[str, str]) -> httpx.Request:
        all_headers = dict(headers)
        kwargs: dict[str, Any] = {}
        if self.content_type == "text/csv":
            kwargs["content"] = self.body.encode()
            all_headers["Content-Type"] = "text/csv"
        elif self.body is not None:
            kwargs["json"] = self.body
        return httpx.Request(self.method, base + self.url(), headers=all_headers, **kwargs)


def _example(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    examples = schema.get("examples")
    if examples:
        return copy.deepcopy(examples[0])
    return {}


def _aim(body: Any) -> Any:
    """Point an example body's references at branch b-f0's things."""
    if isinstance(body, dict):
        return {
            k: (VALUES[k] if k in VALUES and isinstance(v, str | int) else _aim(v))
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [_aim(v) for v in body]
    if isinstance(body, str) and body.startswith("2024-"):
        return str(YEAR) + body[4:]  # the examples' dates, moved into this year
    return body


ROSTER_LINE = (
    "unit_id,unit_name,branch_id,branch_name,person_id,name,kind,committee_position\n"
    "u-f,试验厂党委,b-f0,试验0队党支部,m-f0-9,新党员,member,\n"
)


def _quarter() -> str:
    return f"Q{(datetime.now(UTC).month - 1) // 3 + 1}"


# Bodies the OpenAPI examples do not give (or give for another year), valid for b-f0.
BODIES: dict[tuple[str, str, str], Any] = {
    ("reviews", "POST", "/periods"): {
        "period_id": "rp-matrix",
        "kind": "peer",
        "period": _quarter(),
        "year": YEAR,
        "scope_level": "branch",
        "scope_id": "b-f0",
    },
    ("reviews", "PUT", "/periods/{period_id}/ballots/{role}"): {
        "scores": [{"member_id": "m-f0-0", "score": 90}]
    },
    ("scoring", "POST", "/branches/{branch_id}/results/{year}/objections"): {
        "reason": "互评得分统计有误"
    },
    (
        "scoring",
        "POST",
        "/branches/{branch_id}/results/{year}/objections/{objection_id}/decision",
    ): {
        "outcome": "confirmed",
        "reason": "复核无误",
    },
}
"""``POST /policies`` takes the policy in force, fetched at run time (``policy_body``)."""


def operations(
    service: str, spec: dict[str, Any], policy: dict[str, Any] | None = None
) -> list[Operation]:
    ops = []
    for path, methods in spec["paths"].items():
        if path in SKIP:
            continue
        for method, op in methods.items():
            body, content_type = None, None
            if "requestBody" in op:
                content_type, media = next(iter(op["requestBody"]["content"].items()))
                if content_type == "text/csv":
                    body = ROSTER_LINE
                elif (service, method.upper(), path) in BODIES:
                    body = BODIES[(service, method.upper(), path)]
                elif (service, method.upper(), path) == ("scoring", "POST", "/policies"):
                    body = {"year": YEAR, "policy_id": "pol-matrix", **(policy or {})}
                    body["policy_id"] = "pol-matrix"
                else:
                    body = _aim(_example(spec, media.get("schema", {})))
            ops.append(
                Operation(
                    service=service,
                    method=method.upper(),
                    path=path,
                    secured=bool(op.get("security")),
                    body=body,
                    content_type=content_type,
                )
            )
    return ops


PEOPLE = {
    Role.MEMBER: "m-f{}-1",
    Role.EMPLOYEE: "e-f{}",
    Role.BRANCH_COMMITTEE: "sec-f{}",
    Role.UNIT_COMMITTEE: "uc-f{}",
    Role.ORG_ADMIN: "admin-f{}",
    Role.OPERATOR: "ops-f{}",
}


def caller(role: Role, side: int) -> str:
    """One role only, held by that role's person of branch b-f0 (own) or b-f1 (other)."""
    return token(PEOPLE[role].format(side), role, branch=f"b-f{side}")
