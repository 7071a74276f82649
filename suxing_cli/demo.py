"""The demo company ``suxing up`` loads into an empty database, through the real HTTP APIs:
one unit, two branches, their people, this year's plans and needs, pledges in every state of
the six-step lifecycle, review periods with some ballots. Nothing here writes to a database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta, timezone
from typing import Any

import httpx

from shared import clock as business_clock
from shared.auth import Principal, Role, TokenIssuer
from shared.settings import Settings

BEIJING = timezone(timedelta(hours=8))
ROSTER = """unit_id,unit_name,branch_id,branch_name,person_id,name,kind,post,committee_position
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0001,王建国,member,队长,secretary
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0002,李秀英,member,技术员,member
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0003,张伟,member,采油工,
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0004,刘洋,member,采油工,
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0005,陈静,probationary,资料员,
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0101,赵磊,employee,采油工,
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0102,孙丽,employee,采油工,
u-demo,示范采油厂党委,b-demo-1,采油一队党支部,d-0103,周强,employee,维修工,
u-demo,示范采油厂党委,b-demo-2,作业二队党支部,d-0201,吴军,member,队长,secretary
u-demo,示范采油厂党委,b-demo-2,作业二队党支部,d-0202,郑敏,member,工程师,
u-demo,示范采油厂党委,b-demo-2,作业二队党支部,d-0203,冯涛,member,作业工,
u-demo,示范采油厂党委,b-demo-2,作业二队党支部,d-0301,许亮,employee,作业工,
u-demo,示范采油厂党委,b-demo-2,作业二队党支部,d-0302,马超,employee,司机,
"""
SIGN_INS = (
    ("d-0001", "王建国", "采油一队支部书记（支委会）"),
    ("d-0004", "刘洋", "党员"),
    ("d-0103", "周强", "员工"),
    ("org-admin", "组织部管理员", "组织部"),
)


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    branch_id: str
    unit_id: str
    kind: str
    committee: bool

    def principal(self) -> Principal:
        roles = {Role.EMPLOYEE}
        if self.kind in ("member", "probationary"):
            roles.add(Role.MEMBER)
        if self.committee:
            roles.add(Role.BRANCH_COMMITTEE)
        return Principal(
            person_id=self.person_id,
            name=self.name,
            roles=frozenset(roles),
            unit_id=self.unit_id,
            branch_id=self.branch_id,
        )


PEOPLE = {
    row["person_id"]: Person(
        row["person_id"],
        row["name"],
        row["branch_id"],
        row["unit_id"],
        row["kind"],
        bool(row["committee_position"]),
    )
    for row in csv.DictReader(io.StringIO(ROSTER))
}


class DemoError(RuntimeError):
    pass


class Demo:
    """Calls the services as the people of the demo company would."""

    def __init__(self, urls: dict[str, str], settings: Settings) -> None:
        self.urls = urls
        self.issuer = TokenIssuer(
            settings.jwt_secret, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        self.http = httpx.Client(timeout=60)
        business_clock.configure(settings.clock_file)
        self.today = business_clock.now().astimezone(BEIJING).date()
        self.year = self.today.year

    def call(self, who: str, method: str, service: str, path: str, body: Any = None) -> Any:
        if who == "operator":
            principal = Principal(
                person_id="demo", name="演示数据", roles=frozenset({Role.OPERATOR})
            )
        elif who == "org-admin":
            # Stands in for the unit committee on a committee member's own pledge.
            principal = Principal(
                person_id="org-admin", name="组织部管理员", roles=frozenset({Role.ORG_ADMIN})
            )
        else:
            principal = PEOPLE[who].principal()
        headers = {"Authorization": f"Bearer {self.issuer.issue(principal)}"}
        if isinstance(body, str):
            headers["Content-Type"] = "text/csv; charset=utf-8"
            response = self.http.request(
                method, self.urls[service] + path, content=body.encode(), headers=headers
            )
        else:
            response = self.http.request(
                method, self.urls[service] + path, json=body, headers=headers
            )
        if response.status_code >= 400:
            raise DemoError(f"{method} {path} as {who}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    # Pledges

    def pledge(self, member: str, item: str, area: str, **extra: Any) -> str:
        body = {
            "member_id": member,
            "year": self.year,
            "area": area,
            "item": item,
            "content": f"{item}，按月推进并在台账中记录",
            "quantity": extra.pop("quantity", "全年4次"),
            "quality_standard": "按期完成，经党支部验收合格",
            "due_date": f"{self.year}-12-31",
            **extra,
        }
        return str(self.call(member, "POST", "pledges", "/pledges", body)["id"])

    def step(self, who: str, pledge_id: str, step: str, body: Any = None) -> None:
        self.call(who, "POST", "pledges", f"/pledges/{pledge_id}/{step}", body or {})

    def publish(self, secretary: str, pledge_id: str, paired: bool) -> None:
        published = min(self.today, date(self.year, 3, 1))
        if paired:
            agreement = {
                "signed_on": published.isoformat(),
                "problem": "结对帮助解决岗位难题",
                "q1": "摸清情况",
                "q2": "制定措施",
                "q3": "落实措施",
                "q4": "总结验收",
                "final_goal": "问题得到解决，员工满意",
            }
            self.step(secretary, pledge_id, "agreement", agreement)
        body = {"channels": ["staff_meeting", "notice_board"], "published_on": str(published)}
        self.step(secretary, pledge_id, "publication", body)

    def ledger(self, secretary: str, pledge_id: str, months: int, last: str = "on_track") -> None:
        current = self.today.month
        first = min(self.today, date(self.year, 3, 1)).month
        for month in range(max(first, current - months + 1), current + 1):
            assessment = last if month == current else "on_track"
            body = {"month": f"{self.year}-{month:02d}", "assessment": assessment, "note": None}
            if month < current - 1:
                # Its time (the end of the next month) has passed: a late entry, with why.
                body["late_reason"] = "补录系统启用前的纸质台账"
            self.step(secretary, pledge_id, "ledger", body)

    def ballots(self, period_id: str, role: str, voters: list[str], rated: list[str]) -> None:
        for n, voter in enumerate(voters):
            scores = [
                {
                    "member_id": member,
                    "score": 84 + (n * 3 + i * 5) % 15,
                    "comment": "带头作用明显，工作扎实" if role == "branch" else None,
                }
                for i, member in enumerate(rated)
                if member != voter
            ]
            self.call(
                voter, "PUT", "reviews", f"/periods/{period_id}/ballots/{role}", {"scores": scores}
            )

    def period(
        self, secretary: str, branch: str, kind: str, period: str, year: int | None = None
    ) -> str:
        body = period_body(self.today, branch, kind, period, year or self.year)
        return str(self.call(secretary, "POST", "reviews", "/periods", body)["id"])

    def close(self, secretary: str, period_id: str) -> None:
        self.call(secretary, "POST", "reviews", f"/periods/{period_id}/close")


_FIRST_MONTH = {"Q1": 1, "Q2": 4, "Q3": 7, "Q4": 10, "H1": 1, "H2": 7}


def period_body(today: date, branch: str, kind: str, period: str, year: int) -> dict[str, Any]:
    """Opening a branch's period of ``year``. A period that is over already gets a window
    from its first day to the end of this year, as an organizer catching up on a late review
    would open it, so the demo's ballots fall inside it."""
    body: dict[str, Any] = {
        "period_id": f"rp-{year}-{kind}-{period.lower()}-{branch}",
        "kind": kind,
        "period": period,
        "year": year,
        "scope_level": "branch",
        "scope_id": branch,
    }
    first_month = _FIRST_MONTH[period]
    last_month = first_month + (2 if period.startswith("Q") else 5)
    if (year, last_month) < (today.year, today.month):
        body["opens_on"] = date(year, first_month, 1).isoformat()
        body["closes_on"] = date(today.year, 12, 31).isoformat()
    return body


def review_slots(today: date) -> dict[str, tuple[int, str]]:
    """The (year, period) the demo votes in: the quarter and half-year under way (left
    open) and the ones just before (closed; in a year's first quarter or half, last
    year's). A period accepts ballots only within its window, and only last year, this year
    and next year can be opened."""
    quarter, half = (today.month - 1) // 3 + 1, 1 if today.month <= 6 else 2
    return {
        "past_quarter": (today.year, f"Q{quarter - 1}") if quarter > 1 else (today.year - 1, "Q4"),
        "past_half": (today.year, "H1") if half == 2 else (today.year - 1, "H2"),
        "quarter": (today.year, f"Q{quarter}"),
        "half": (today.year, f"H{half}"),
    }


def is_empty(urls: dict[str, str]) -> bool:
    """No branch on the roster yet: a fresh database."""
    branches = httpx.get(f"{urls['pledges']}/public/branches", timeout=10).json()
    return isinstance(branches, list) and not branches


def load(urls: dict[str, str], settings: Settings) -> None:
    """Load the demo company. Call only on an empty database (``is_empty``)."""
    demo = Demo(urls, settings)
    year = demo.year
    demo.call("operator", "POST", "pledges", "/roster/import", ROSTER)
    needs: dict[str, list[str]] = {}
    for branch, secretary, staff in (
        ("b-demo-1", "d-0001", ("d-0101", "d-0102", "d-0103")),
        ("b-demo-2", "d-0201", ("d-0301", "d-0302")),
    ):
        plan = {
            "title": f"{year}年党员塑形工程活动方案",
            "summary": "围绕安全生产和服务员工群众开展承诺践诺活动",
            "meeting_date": f"{year}-01-15",
        }
        demo.call(secretary, "PUT", "pledges", f"/branches/{branch}/plans/{year}", plan)
        problems = (
            ("夜班交接缺少照明，巡检不安全", "safety"),
            ("新员工不熟悉抽油机保养规程", "production"),
            ("职工子女假期无人照看", "service"),
        )
        needs[branch] = []
        for employee, (problem, area) in zip(staff, problems, strict=False):
            body = {
                "branch_id": branch,
                "year": year,
                "employee_id": employee,
                "problem": problem,
                "suggested_area": area,
            }
            need = str(demo.call(employee, "POST", "pledges", "/needs", body)["id"])
            demo.call(secretary, "POST", "pledges", f"/needs/{need}/classification", {"area": area})
            needs[branch].append(need)
    areas = {
        "d-0001": "safety", "d-0002": "production", "d-0003": "service", "d-0004": "management",
        "d-0005": "political", "d-0201": "safety", "d-0202": "production", "d-0203": "hardship",
    }  # fmt: skip
    for person, area in areas.items():
        demo.call(person, "PUT", "pledges", f"/members/{person}/areas/{year}", {"area": area})
    b1, b2 = needs["b-demo-1"], needs["b-demo-2"]
    # Branch 1: a pledge in every state of the lifecycle. No one judges their own case: the
    # secretary's pledge is decided by 李秀英, the other member of the committee.
    p = demo.pledge("d-0001", "夜班巡检照明改造", "safety", need_ids=[b1[0]],
                    paired_employee_id="d-0101", quantity="12处照明点")  # fmt: skip
    demo.step("d-0002", p, "approval")
    demo.publish("d-0001", p, paired=True)
    demo.ledger("d-0002", p, 3, last="done")
    demo.step("d-0001", p, "acceptance-request", {"summary": "12处照明点已全部安装并通过验收"})
    demo.step("d-0002", p, "acceptance", {"comment": "经现场查验，达到质量标准"})
    p = demo.pledge("d-0002", "抽油机保养师带徒", "production", need_ids=[b1[1]])
    demo.step("d-0001", p, "approval")
    demo.publish("d-0001", p, paired=False)
    demo.ledger("d-0001", p, 2)
    p = demo.pledge("d-0002", "编写岗位操作卡", "production", quantity="20张操作卡")
    demo.step("d-0001", p, "approval")
    demo.publish("d-0001", p, paired=False)
    demo.ledger("d-0001", p, 1, last="behind")
    demo.step("d-0002", p, "acceptance-request", {"summary": "已编写20张操作卡"})
    demo.step("d-0001", p, "return", {"reasons": ["操作卡尚未经过班组试用，请试用后再申请验收"]})
    p = demo.pledge("d-0003", "假期职工子女托管", "service", need_ids=[b1[2]],
                    paired_employee_id="d-0102")  # fmt: skip
    demo.step("d-0001", p, "approval")
    demo.publish("d-0001", p, paired=True)
    demo.ledger("d-0001", p, 1)
    demo.step("d-0003", p, "acceptance-request", {"summary": "暑假托管30人次，寒假方案已确定"})
    p = demo.pledge("d-0004", "班组成本核算", "management", quantity="每月1次")
    demo.step("d-0001", p, "revision-request", {"reasons": ["请写明节约成本的具体目标"]})
    p = demo.pledge("d-0005", "青年理论学习小组", "political")
    demo.step("d-0001", p, "approval")
    p = demo.pledge("d-0003", "困难职工走访", "service", paired_employee_id="d-0103")
    demo.step("d-0001", p, "approval")
    demo.step("d-0001", p, "agreement", {
        "signed_on": str(demo.today), "problem": "家庭困难", "q4": "每月走访一次",
        "final_goal": "困难得到缓解",
    })  # fmt: skip
    demo.pledge("d-0004", "设备巡检记录电子化", "management")  # awaiting approval
    p = demo.pledge("d-0004", "节能降耗小改小革", "management")
    demo.step("d-0004", p, "withdrawal", {"reason": "与其他承诺重复"})
    # Branch 2: fewer, so the statistics differ between the branches.
    # Its secretary is its only committee member: the unit committee decides his pledge.
    p = demo.pledge("d-0201", "作业现场安全喊话", "safety", need_ids=[b2[0]])
    demo.step("org-admin", p, "approval")
    demo.publish("d-0201", p, paired=False)
    demo.ledger("org-admin", p, 2)
    demo.pledge("d-0203", "困难职工帮扶", "hardship")
    # Reviews: closed periods with enough ballots for results, open ones for newcomers.
    members = ["d-0001", "d-0002", "d-0003", "d-0004"]
    everyone = [*members, "d-0005", "d-0101", "d-0102"]
    slots = review_slots(demo.today)
    past_quarter, past_half = slots["past_quarter"], slots["past_half"]
    quarter, half = slots["quarter"][1], slots["half"][1]
    peer = demo.period("d-0001", "b-demo-1", "peer", past_quarter[1], past_quarter[0])
    demo.ballots(peer, "peer", members, [*members, "d-0005"])
    demo.close("d-0001", peer)
    mass = demo.period("d-0001", "b-demo-1", "mass", past_half[1], past_half[0])
    demo.ballots(mass, "all_staff", everyone, [*members, "d-0005"])
    demo.close("d-0001", mass)
    branch = demo.period("d-0001", "b-demo-1", "branch", past_half[1], past_half[0])
    demo.ballots(branch, "branch", ["d-0001", "d-0002"], [*members, "d-0005"])
    demo.close("d-0001", branch)
    peer = demo.period("d-0001", "b-demo-1", "peer", quarter)
    demo.ballots(peer, "peer", ["d-0002"], members)
    mass = demo.period("d-0001", "b-demo-1", "mass", half)
    demo.ballots(mass, "all_staff", ["d-0101", "d-0102"], [*members, "d-0005"])
    demo.period("d-0201", "b-demo-2", "peer", quarter)
