"""Signing in. Embedded profile: pick a person from the roster and the portal signs a token
with the embedded secret. Production: the enterprise's identity provider issues the token;
its sign-in gateway either sends it as ``Authorization: Bearer`` on every request or posts it
once to ``/signin/token`` (form field ``token``), which keeps it in an httponly cookie."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.portal.clients import ServiceError
from services.portal.web import COOKIE, Page, local_path, redirect, service_api
from shared.auth import Principal, Role, TokenIssuer
from shared.errors import Unauthenticated

router = APIRouter()
ORG_ADMIN = {"person_id": "org-admin", "name": "组织部管理员"}


def roles_of(person: dict[str, Any]) -> frozenset[Role]:
    """What the roster says a person may do: everyone is staff; party members are members;
    a committee position makes a member of the branch committee."""
    roles = {Role.EMPLOYEE}
    if person["is_party_member"]:
        roles.add(Role.MEMBER)
    if person["committee_position"]:
        roles.add(Role.BRANCH_COMMITTEE)
    return frozenset(roles)


def _safe(target: str | None) -> str:
    return target if target and local_path(target) else "/"


def _signed(target: str, token: str, secure: bool) -> Response:
    response = RedirectResponse(_safe(target), status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(ctx: Page, request: Request, next: str | None = None) -> HTMLResponse:
    issuer: TokenIssuer | None = request.app.state.issuer
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    error = None
    if issuer is not None:
        api = service_api(request)
        try:
            names = {b["branch_id"]: b["name"] for b in await api.pledges.branches()}
            for person in await api.pledges.people():
                if person["departed_on"] is None:
                    person["role_labels"] = [r.label for r in sorted(roles_of(person))]
                    groups[names.get(person["branch_id"], person["branch_id"])].append(person)
        except ServiceError as exc:
            error = exc.message
    return ctx.render(
        "signin.html", groups=dict(groups), embedded=issuer is not None, next=next, error=error
    )


@router.post("/signin")
async def signin(
    request: Request,
    person_id: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    issuer: TokenIssuer | None = request.app.state.issuer
    if issuer is None:
        return redirect("/signin", "请通过企业统一身份认证登录")
    if person_id == ORG_ADMIN["person_id"]:
        principal = Principal(**ORG_ADMIN, roles=frozenset({Role.ORG_ADMIN}))
    else:
        people = await service_api(request).pledges.people()
        person = {p["person_id"]: p for p in people}.get(person_id)
        if person is None or person["departed_on"] is not None:
            return redirect("/signin", "花名册中没有此人，请重新选择")
        principal = Principal(
            person_id=person["person_id"],
            name=person["name"],
            roles=roles_of(person),
            unit_id=person["unit_id"],
            branch_id=person["branch_id"],
        )
    return _signed(next or "/", issuer.issue(principal), request.url.scheme == "https")


@router.post("/signin/token")
async def signin_with_token(
    request: Request, token: Annotated[str, Form()], next: Annotated[str | None, Form()] = None
) -> Response:
    """Where the identity provider's gateway posts the token it issued."""
    try:
        request.app.state.verifier.verify(token)
    except Unauthenticated as exc:
        return redirect("/signin", exc.message)
    return _signed(next or "/", token, request.url.scheme == "https")


@router.get("/", response_class=HTMLResponse)
async def home(ctx: Page) -> Response:
    if ctx.user is None:
        return redirect("/signin")
    return ctx.render("home.html")


@router.post("/signout")
async def signout() -> Response:
    response = redirect("/signin", "已退出登录")
    response.delete_cookie(COOKIE)
    return response
