"""What every page shares: the signed-in person (from the token cookie), the service
clients bound to their token, rendering, and keeping a form's values and errors together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.portal.clients import ServiceError
from services.portal.clients.pledges import PledgesClient
from services.portal.clients.reviews import ReviewsClient
from services.portal.clients.scoring import ScoringClient
from shared import clock as business_clock
from shared.auth import Principal, Role, TokenVerifier
from shared.contracts.pledges import LedgerAssessment, PublicationChannel, ResponsibilityArea
from shared.errors import Unauthenticated

if TYPE_CHECKING:
    from services.portal.years import YearView

COOKIE = "suxing_token"
OWN_CASE = (
    "这是您本人的承诺：定诺、退回修改、台账记录和验收须由本支部其他支委会成员或所属二级党委决定。"
)
BEIJING = timezone(timedelta(hours=8))
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


def _beijing(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{moment.astimezone(BEIJING):%Y-%m-%d %H:%M}"


CONFIRMATIONS = {
    "approval": "我已确认：通过定诺后承诺成为支部的承诺，党员不能再撤回，随后签订结对协议并公开",
    "publish": "我已确认：公示后本支部本年度的评议结果向全体员工公开并进入公示期，不能撤回",
    "carry-over": "我已确认：结转后本承诺在原年度以“已结转”结束（计为已签订、未完成），不再验收",
    "close": "我已确认：结束后不能再投票，本期随即计票，结果进入积分卡，不能撤回",
}
"""Irreversible steps: the form asks to tick what will happen, and the portal refuses the
step without it (no script needed)."""
NOT_CONFIRMED = "请先勾选确认：这一步不能撤回"


templates.env.filters["beijing"] = _beijing
templates.env.globals.update(
    AREAS=[(a.value, a.label) for a in ResponsibilityArea],
    CHANNELS=[(c.value, c.label) for c in PublicationChannel],
    ASSESSMENTS=[(a.value, a.label) for a in LedgerAssessment],
    ROLE_LABELS={r.value: r.label for r in Role},
    OWN_CASE=OWN_CASE,
    CONFIRMATIONS=CONFIRMATIONS,
)


def local_path(target: str) -> bool:
    """A path on this site to send a browser back to: "/x", never "//host" or "/\\host"
    (which browsers read as another site), nor anything with a backslash or a control
    character."""
    return (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(ch >= " " for ch in target)
    )


def this_year() -> int:
    return business_clock.now().astimezone(BEIJING).year


def today() -> str:
    return f"{business_clock.now().astimezone(BEIJING):%Y-%m-%d}"


class SignInRequired(Exception):
    """Raised by pages that need a signed-in person; the app redirects to the sign-in page."""


@dataclass
class NotPermitted(Exception):
    """Raised by pages the signed-in person may not open; the app answers 403 with the
    message and shows nothing else of the page."""

    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class PageError:
    """A refusal shown on the error page (its ``message``)."""

    message: str


NOT_COMMITTEE = "您没有权限查看支委会页面：只有本支部支委会成员可以进入。"
NOT_ORGANIZER = "您没有权限管理全公司和二级党委的评议期：只有组织部和二级党委委员可以进入。"


@dataclass
class Api:
    pledges: PledgesClient
    reviews: ReviewsClient
    scoring: ScoringClient


@dataclass
class Form:
    """A form as the person filled it in, with what the service said about it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    @classmethod
    def failed(cls, values: dict[str, Any], error: ServiceError) -> Form:
        """A refusal about fields reads "未能提交：<reasons>" without the API's field paths;
        each reason also stands next to its field."""
        message = error.message
        if error.fields:
            reasons = dict.fromkeys(error.fields.values())
            message = "未能提交：" + "；".join(reasons)
        return cls(values=values, errors=dict(error.fields), message=message)


@dataclass
class Ctx:
    request: Request
    user: Principal | None
    api: Api
    years: YearView | None = None
    """The year the page shows (services/portal/years.py), once the page has decided it."""

    def link(self, path: str) -> str:
        """``path`` keeping the year the person chose, if they chose one."""
        return self.years.link(path) if self.years is not None else path

    @property
    def me(self) -> Principal:
        if self.user is None:
            raise SignInRequired
        return self.user

    def is_(self, role: str) -> bool:
        return self.user is not None and self.user.has(Role(role))

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("form", Form())
        return templates.TemplateResponse(
            self.request,
            template,
            {
                "user": self.user,
                "ctx": self,
                "done": self.request.query_params.get("done"),
                "year": self.years.shown if self.years is not None else this_year(),
                "years": self.years,
                "status_code": status_code,
                **values,
            },
            status_code=status_code,
        )


def redirect(path: str, done: str | None = None) -> RedirectResponse:
    if done:
        path += ("&" if "?" in path else "?") + "done=" + quote(done)
    return RedirectResponse(path, status_code=303)


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None  # set by the enterprise's sign-in gateway
    return request.cookies.get(COOKIE)


def _clients(request: Request, token: str | None) -> Api:
    http: dict[str, httpx.AsyncClient] = request.app.state.http
    return Api(
        PledgesClient(http["pledges"], token),
        ReviewsClient(http["reviews"], token),
        ScoringClient(http["scoring"], token),
    )


async def context(request: Request) -> Ctx:
    token = _token_of(request)
    user = None
    if token:
        verifier: TokenVerifier = request.app.state.verifier
        try:
            user = verifier.verify(token, now=datetime.now(UTC))
        except Unauthenticated:
            token = None
    return Ctx(request, user, _clients(request, token if user else None))


async def signed_in(request: Request) -> Ctx:
    ctx = await context(request)
    if ctx.user is None:
        raise SignInRequired
    return ctx


async def committee_member(request: Request) -> Ctx:
    """The committee's pages are for the branch committee of the person's own branch; the
    organization department has its own pages (/org) and no branch."""
    ctx = await signed_in(request)
    if not ctx.is_("branch_committee") or ctx.me.branch_id is None:
        raise NotPermitted(NOT_COMMITTEE)
    return ctx


async def period_organizer(request: Request) -> Ctx:
    """The company's and the units' review periods are organized by the organization
    department (any scope) and a unit committee (its own unit)."""
    ctx = await signed_in(request)
    if ctx.is_("org_admin") or (ctx.is_("unit_committee") and ctx.me.unit_id is not None):
        return ctx
    raise NotPermitted(NOT_ORGANIZER)


Page = Annotated[Ctx, Depends(context)]
Signed = Annotated[Ctx, Depends(signed_in)]
Committee = Annotated[Ctx, Depends(committee_member)]
Organizer = Annotated[Ctx, Depends(period_organizer)]


def service_api(request: Request) -> Api:
    """The portal's own reader (the embedded profile's directory token) for public pages."""
    return _clients(request, request.app.state.reader_token)
