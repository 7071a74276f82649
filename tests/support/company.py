"""A small company for the organization's statistics (issue 15): two units, three branches,
pledges in several areas and states (one withdrawn, some not yet approved), pairings, four
review periods of different scopes and some ballots.

The expected figures are computed here from the declared data by plain rules written for the
test (DOMAIN.md sections 2-4), not by the services' code, so the services are checked against
an independent reading of the rules:

- a pledge is signed (定诺) once approved: approved and every later state, never declared,
  sent back for revision or withdrawn;
- eligible reviewers, per role, among the people of a branch the period covers who have not
  departed: peer, full members (probationary members do not vote under the default policy);
  all staff, everyone; paired, employees with a signed pairing agreement of the year; branch,
  the committee;
- voted: the eligible reviewers with a ballot in that role (one who voted and then departed
  counts neither as eligible nor as voted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.auth import Principal, Role, TokenIssuer
from shared.contracts import Event
from shared.contracts import pledges as pl
from shared.settings import DEFAULT_SECRET

FULL, PROBATIONARY, NON_MEMBER = (
    pl.Membership.FULL_MEMBER,
    pl.Membership.PROBATIONARY_MEMBER,
    pl.Membership.NON_MEMBER,
)
A = pl.ResponsibilityArea

UNITS: dict[str, tuple[str, dict[str, str]]] = {
    "u1": ("第一采油厂党委", {"b1": "采油一队党支部", "b2": "采油二队党支部"}),
    "u2": ("第二采油厂党委", {"b3": "作业一队党支部"}),
}
UNIT_OF = {branch: unit for unit, (_, branches) in UNITS.items() for branch in branches}


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    membership: pl.Membership
    committee: bool = False
    departs: bool = False
    """Leaves the company after voting."""


ROSTER: dict[str, tuple[Person, ...]] = {
    "b1": (
        Person("sec", "王建国", FULL, committee=True),
        Person("m1", "李秀英", FULL),
        Person("m2", "张伟", FULL),
        Person("pm", "周敏", PROBATIONARY),
        Person("e1", "赵磊", NON_MEMBER),
        Person("e2", "孙丽", NON_MEMBER),
        Person("gone", "吴刚", FULL, departs=True),
    ),
    "b2": (
        Person("sec", "刘洋", FULL, committee=True),
        Person("m1", "陈静", FULL),
        Person("e1", "吴强", NON_MEMBER),
    ),
    "b3": (
        Person("sec", "郑海", FULL, committee=True),
        Person("m1", "黄磊", FULL),
        Person("m2", "何平", FULL),
        Person("e1", "马超", NON_MEMBER),
        Person("e2", "高峰", NON_MEMBER),
    ),
}

SIGNED_STATES = frozenset(
    {"approved", "agreement_signed", "published", "acceptance_requested", "returned", "accepted"}
)


@dataclass(frozen=True)
class PledgePlan:
    n: int
    branch: str
    member: str
    area: pl.ResponsibilityArea
    status: str
    """The state the pledge ends in."""
    paired: str | None = None


PLEDGES = (
    PledgePlan(1, "b1", "m1", A.SAFETY, "accepted", paired="e1"),
    PledgePlan(2, "b1", "m2", A.PRODUCTION, "published"),
    PledgePlan(3, "b1", "pm", A.SERVICE, "declared"),
    PledgePlan(4, "b1", "m2", A.SAFETY, "withdrawn"),
    PledgePlan(5, "b2", "m1", A.POLITICAL, "approved"),
    PledgePlan(6, "b2", "sec", A.POLITICAL, "returned"),
    PledgePlan(7, "b3", "m1", A.PRODUCTION, "agreement_signed", paired="e1"),
    PledgePlan(8, "b3", "m2", A.MANAGEMENT, "revision_requested"),
    PledgePlan(9, "b3", "m2", A.STABILITY, "accepted"),
    PledgePlan(10, "b3", "sec", A.PRODUCTION, "acceptance_requested"),
)


@dataclass(frozen=True)
class PeriodPlan:
    key: str
    kind: str
    period: str
    level: str
    scope: str | None
    """The unit or branch key; None for the company."""


PERIODS = (
    PeriodPlan("P1", "peer", "Q1", "company", None),
    PeriodPlan("P2", "mass", "H1", "unit", "u1"),
    PeriodPlan("P3", "branch", "H1", "branch", "b3"),
    PeriodPlan("P4", "peer", "Q2", "branch", "b2"),
)
KIND_ROLES = {"peer": ("peer",), "mass": ("all_staff", "paired"), "branch": ("branch",)}

# (period, role, branch, reviewer, rated members)
VOTES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("P1", "peer", "b1", "sec", ("m1",)),
    ("P1", "peer", "b1", "m1", ("m2",)),
    ("P1", "peer", "b1", "gone", ("m1",)),
    ("P1", "peer", "b3", "m1", ("m2",)),
    ("P2", "all_staff", "b1", "e1", ("m1",)),
    ("P2", "all_staff", "b1", "e2", ("m2",)),
    ("P2", "all_staff", "b1", "m1", ("m2",)),
    ("P2", "paired", "b1", "e1", ("m1",)),
    ("P2", "all_staff", "b2", "e1", ("m1",)),
    ("P3", "branch", "b3", "sec", ("m1", "m2")),
)


@dataclass(frozen=True)
class Recorded:
    """An event as the pledges service records it: its stream and the branch it concerns."""

    stream: str
    branch: str
    unit: str
    event: Event


@dataclass(frozen=True)
class Company:
    tag: str
    year: int

    def unit(self, key: str) -> str:
        return f"{self.tag}-{key}"

    def branch(self, key: str) -> str:
        return f"{self.tag}-{key}"

    def person(self, branch: str, key: str) -> str:
        return f"{self.tag}-{branch}-{key}"

    def pledge(self, n: int) -> str:
        return f"{self.tag}-pl{n}"

    def period(self, key: str) -> str:
        return f"{self.tag}-{key}"

    def scope_id(self, level: str, key: str | None) -> str | None:
        return None if key is None else self.unit(key) if level == "unit" else self.branch(key)

    def unit_name(self, key: str) -> str:
        return UNITS[key][0]

    def branch_name(self, key: str) -> str:
        return UNITS[UNIT_OF[key]][1][key]

    def token(self, branch: str, key: str) -> str:
        """The token of a person of the roster: everyone is an employee, party members are
        members, committee members sit on their branch's committee."""
        person = next(p for p in ROSTER[branch] if p.key == key)
        roles = {Role.EMPLOYEE}
        if person.membership.is_party_member:
            roles.add(Role.MEMBER)
        if person.committee:
            roles.add(Role.BRANCH_COMMITTEE)
        return issue(
            self.person(branch, key),
            *roles,
            unit=self.unit(UNIT_OF[branch]),
            branch=self.branch(branch),
        )

    # What the pledges service would have published.

    def _at(self, branch: str, stream: str, event: Event) -> Recorded:
        return Recorded(stream, self.branch(branch), self.unit(UNIT_OF[branch]), event)

    def roster_events(self) -> list[Recorded]:
        out: list[Recorded] = []
        for unit, (name, branches) in UNITS.items():
            first = next(iter(branches))
            out.append(
                self._at(
                    first,
                    f"unit-{self.unit(unit)}",
                    pl.UnitRegistered(unit_id=self.unit(unit), name=name),
                )
            )
            for branch, branch_name in branches.items():
                out.append(
                    self._at(
                        branch,
                        f"branch-{self.branch(branch)}",
                        pl.BranchRegistered(
                            branch_id=self.branch(branch), unit_id=self.unit(unit), name=branch_name
                        ),
                    )
                )
        for branch, people in ROSTER.items():
            for person in people:
                pid = self.person(branch, person.key)
                stream = f"person-{pid}"
                out.append(
                    self._at(
                        branch,
                        stream,
                        pl.PersonRegistered(
                            person_id=pid,
                            name=person.name,
                            branch_id=self.branch(branch),
                            membership=person.membership,
                            post=None,
                        ),
                    )
                )
                if person.committee:
                    out.append(
                        self._at(
                            branch,
                            stream,
                            pl.CommitteeMemberAppointed(
                                person_id=pid,
                                branch_id=self.branch(branch),
                                position=pl.CommitteePosition.SECRETARY,
                            ),
                        )
                    )
        return out

    def pledge_events(self) -> list[Recorded]:
        out: list[Recorded] = []
        y = self.year
        for plan in PLEDGES:
            pid, member = self.pledge(plan.n), self.person(plan.branch, plan.member)
            paired = self.person(plan.branch, plan.paired) if plan.paired else None
            terms: dict[str, Any] = {
                "area": plan.area,
                "item": f"承诺事项{plan.n}",
                "content": "内容",
                "quantity": "1项",
                "quality_standard": "合格",
                "due_date": date(y, 11, 30),
                "need_ids": (),
                "paired_employee_id": paired,
            }
            events: list[Event] = [
                pl.PledgeDeclared(
                    pledge_id=pid,
                    member_id=member,
                    branch_id=self.branch(plan.branch),
                    year=y,
                    **terms,
                )
            ]
            if plan.status == "revision_requested":
                events.append(pl.PledgeRevisionRequested(pledge_id=pid, reasons=("请写明数量",)))
            if plan.status == "withdrawn":
                events.append(pl.PledgeWithdrawn(pledge_id=pid, reason=None))
            if plan.status in SIGNED_STATES:
                events.append(
                    pl.PledgeApproved(pledge_id=pid, member_id=member, year=y, area=plan.area)
                )
            if plan.status in SIGNED_STATES - {"approved"} and paired:
                events.append(
                    pl.PairingAgreementSigned(
                        pledge_id=pid,
                        member_id=member,
                        employee_id=paired,
                        signed_on=date(y, 3, 10),
                        problem="问题",
                        quarterly_work=pl.QuarterlyWork(q1="开展"),
                        final_goal="解决",
                    )
                )
            if plan.status in ("published", "acceptance_requested", "returned", "accepted"):
                events.append(
                    pl.PledgePublished(
                        pledge_id=pid,
                        channels=(pl.PublicationChannel.NOTICE_BOARD,),
                        published_on=date(y, 3, 12),
                    )
                )
            if plan.status in ("acceptance_requested", "returned", "accepted"):
                events.append(
                    pl.PledgeAcceptanceRequested(
                        pledge_id=pid, summary="完成", requested_on=date(y, 6, 1)
                    )
                )
            if plan.status == "returned":
                events.append(pl.PledgeReturned(pledge_id=pid, reasons=("未达标",)))
            if plan.status == "accepted":
                events.append(
                    pl.PledgeAccepted(
                        pledge_id=pid, need_ids=(), accepted_on=date(y, 6, 30), comment=None
                    )
                )
            out += [self._at(plan.branch, f"pledge-{pid}", event) for event in events]
        return out

    def departures(self) -> list[Recorded]:
        return [
            self._at(
                branch,
                f"person-{self.person(branch, person.key)}",
                pl.PersonDeparted(
                    person_id=self.person(branch, person.key),
                    branch_id=self.branch(branch),
                    departed_on=date(self.year, 4, 1),
                    reason="调离",
                ),
            )
            for branch, people in ROSTER.items()
            for person in people
            if person.departs
        ]

    # The expected figures.

    def branches_in(self, level: str, key: str | None) -> list[str]:
        if level == "unit":
            return list(UNITS[key or ""][1])
        if level == "branch":
            return [key or ""]
        return list(UNIT_OF)

    def expected_signed_by_area(self, level: str, key: str | None) -> dict[str, int]:
        """Area code -> signed pledges of the scope (areas without any left out)."""
        found: dict[str, int] = {}
        for plan in PLEDGES:
            if plan.branch in self.branches_in(level, key) and plan.status in SIGNED_STATES:
                found[plan.area.value] = found.get(plan.area.value, 0) + 1
        return found

    def expected_turnout(self, level: str, key: str | None) -> dict[str, dict[str, Any]]:
        """Period id -> branches covered, eligible and voted in all and per role, for the
        periods covering at least one branch of the scope."""
        paired = {
            (plan.branch, plan.paired)
            for plan in PLEDGES
            if plan.paired and plan.status in SIGNED_STATES - {"approved"}
        }

        def eligible(branch: str, person: Person, role: str) -> bool:
            if person.departs:
                return False
            return {
                "peer": person.membership is FULL,
                "all_staff": True,
                "paired": (branch, person.key) in paired,
                "branch": person.committee,
            }[role]

        found: dict[str, dict[str, Any]] = {}
        for period in PERIODS:
            covered = [
                b
                for b in self.branches_in(level, key)
                if period.level == "company"
                or (period.level == "unit" and UNIT_OF[b] == period.scope)
                or (period.level == "branch" and b == period.scope)
            ]
            if not covered:
                continue
            roles: dict[str, tuple[int, int]] = {}
            for role in KIND_ROLES[period.kind]:
                able = {(b, p.key) for b in covered for p in ROSTER[b] if eligible(b, p, role)}
                voters = {(b, r) for pk, ro, b, r, _ in VOTES if pk == period.key and ro == role}
                roles[role] = (len(able), len(able & voters))
            found[self.period(period.key)] = {
                "branches": len(covered),
                "eligible": sum(e for e, _ in roles.values()),
                "voted": sum(v for _, v in roles.values()),
                "roles": roles,
            }
        return found


def issue(person_id: str, *roles: Role, unit: str | None, branch: str | None) -> str:
    principal = Principal(
        person_id=person_id,
        name=person_id,
        roles=frozenset(roles),
        unit_id=unit,
        branch_id=branch,
    )
    return TokenIssuer(DEFAULT_SECRET).issue(principal)


SCOPES: tuple[tuple[str, str | None], ...] = (
    ("company", None),
    ("unit", "u1"),
    ("unit", "u2"),
    ("branch", "b1"),
    ("branch", "b2"),
    ("branch", "b3"),
)
