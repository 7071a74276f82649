"""A branch's year as the pledges and reviews services would have recorded it, and the
card and statistics figures it must produce, computed by hand below.

Hand computation (default policy: weights 30/40/30, at least 3 peer and 3 mass ballots):

- m1: peer, every quarter 90/92/94 -> 92 (in Q1 reviewer P1 first gave 60, then amended to
  90: the amendment counts); mass per half all-staff 80/85/90 -> 85 and paired 95, halves
  50/50 -> 90; branch H1 96, H2 94 -> 95. Composite .3*92 + .4*90 + .3*95 = 92.10, which is
  below 95: 不能参加下一年度创先争优评选.
- m2: peer 70/75/80 -> 75 each quarter; mass H1 60/70/80 -> 70, H2 50/60/70 -> 60, annual
  65; branch H1 80, H2 70 -> 75. Composite 22.5 + 26 + 22.5 = 71.00: yellow card.
- m3: peer only in Q1 with 2 ballots (below the minimum of 3): no peer result, so no
  composite ("缺少党员互评结果"); mass H1 90/90/90 -> 90; branch H1 88.
- m4: a full member who never acts (no area, pledge or ballot): a card all the same, naming
  the area and the three reviews as missing; counted "without composite".
- m5: a full member exempt for the year (retired, 退休); rated 40/40/40 by the staff in H1
  (a counted mass tally), but exempt: no composite or band, counted apart, and left out of
  the satisfaction rate and "without composite".
- Mass satisfaction (scores >= 60): m1 8 of 8, m2 5 of 6, m3 3 of 3 -> 16/17 = 94.12%.
- Roster members 5 (m1-m5; e1, e2 are employees), cards 5, exempt 1, without composite 2.
- Pledges: p1 (m1, paired) accepted, p2 (m2) revised then approved and published, p3 (m3)
  withdrawn -> 2 signed, 1 completed, 1 pairing. Needs: 3 submitted, 1 solved. Areas: 3.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from services.reviews.domain import evolve_period
from services.reviews.domain.tally import tally_member, tally_stream
from shared.contracts import Actor, Envelope, Event, Org
from shared.contracts import pledges as pl
from shared.contracts.reviews import (
    BallotAmended,
    BallotCast,
    BallotRole,
    BallotScore,
    ClosingReason,
    ReviewPeriodClosed,
    ReviewPeriodOpened,
    ReviewScope,
    ScopeLevel,
    _Ballot,
)
from shared.contracts.scoring import SEED_POLICY, Period, ScoringPolicy
from shared.eventstore import StoredEvent

AT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script>张三"


def pseudonym(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


@dataclass(frozen=True)
class Planned:
    """An event as a service would append it: its stream, partition key and org."""

    stream: str
    key: str
    event: Event
    topic: str
    branch: str
    unit: str


@dataclass(frozen=True)
class Scenario:
    tag: str
    year: int

    @property
    def unit(self) -> str:
        return f"u-{self.tag}"

    @property
    def branch(self) -> str:
        return f"b-{self.tag}"

    def m(self, n: int) -> str:
        return f"m{n}-{self.tag}"

    def e(self, n: int) -> str:
        return f"e{n}-{self.tag}"

    def pledge(self, n: int) -> str:
        return f"p{n}-{self.tag}"

    def need(self, n: int) -> str:
        return f"n{n}-{self.tag}"

    def _plan(self, stream: str, event: Event, topic: str = "pledges") -> Planned:
        return Planned(stream, self.branch, event, topic, self.branch, self.unit)

    def pledges_events(self) -> list[Planned]:
        y, b = self.year, self.branch
        ev: list[Planned] = [
            self._plan(
                f"unit-{self.unit}", pl.UnitRegistered(unit_id=self.unit, name="第一采油厂党委")
            ),
            self._plan(
                f"branch-{b}",
                pl.BranchRegistered(branch_id=b, unit_id=self.unit, name="采油一队党支部"),
            ),
        ]
        people = [
            (self.m(1), "李秀英", pl.Membership.FULL_MEMBER),
            (self.m(2), "王建国", pl.Membership.FULL_MEMBER),
            (self.m(3), HOSTILE, pl.Membership.PROBATIONARY_MEMBER),
            (self.m(4), "陈静", pl.Membership.FULL_MEMBER),
            (self.m(5), "刘洋", pl.Membership.FULL_MEMBER),
            (self.e(1), "赵磊", pl.Membership.NON_MEMBER),
            (self.e(2), "吴强", pl.Membership.NON_MEMBER),
        ]
        for person, name, membership in people:
            ev.append(
                self._plan(
                    f"person-{person}",
                    pl.PersonRegistered(
                        person_id=person, name=name, branch_id=b, membership=membership, post=None
                    ),
                )
            )
        ev.append(
            self._plan(
                f"person-{self.m(5)}",
                pl.MemberExempted(
                    member_id=self.m(5),
                    branch_id=b,
                    year=y,
                    reason=pl.ExemptionReason.RETIRED,
                    reason_text=None,
                    evidence="退休审批表",
                ),
            )
        )
        for n, area in ((1, "production"), (2, "safety"), (3, "service")):
            ev.append(
                self._plan(
                    f"area-{self.m(n)}-{y}",
                    pl.ResponsibilityAreaChosen(
                        person_id=self.m(n), year=y, area=pl.ResponsibilityArea(area)
                    ),
                )
            )
        for n in (1, 2, 3):
            ev.append(
                self._plan(
                    f"need-{self.need(n)}",
                    pl.NeedSubmitted(
                        need_id=self.need(n),
                        branch_id=b,
                        year=y,
                        employee_id=self.e(1),
                        problem=f"问题{n}",
                        suggested_area=None,
                    ),
                )
            )
        ev += self._pledge(1, self.m(1), paired=self.e(1), steps="accepted")
        ev += self._pledge(2, self.m(2), paired=None, steps="published")
        ev += self._pledge(3, self.m(3), paired=None, steps="withdrawn")
        ev.append(
            self._plan(
                f"need-{self.need(1)}",
                pl.NeedSolved(
                    need_id=self.need(1), pledge_id=self.pledge(1), solved_on=date(y, 6, 30)
                ),
            )
        )
        return ev

    def _pledge(self, n: int, member: str, *, paired: str | None, steps: str) -> list[Planned]:
        pid, y = self.pledge(n), self.year
        terms = {
            "area": pl.ResponsibilityArea.PRODUCTION,
            "item": f"承诺项目{n} <b>加粗</b>",
            "content": "为巡检路线加装照明",
            "quantity": "12处",
            "quality_standard": "通过验收",
            "due_date": date(y, 9, 30),
            "need_ids": (self.need(n),),
            "paired_employee_id": paired,
        }
        stream = f"pledge-{pid}"
        out = [
            pl.PledgeDeclared(
                pledge_id=pid, member_id=member, branch_id=self.branch, year=y, **terms
            )
        ]
        if steps == "withdrawn":
            out.append(pl.PledgeWithdrawn(pledge_id=pid, reason=None))
            return [self._plan(stream, e) for e in out]
        if n == 2:
            out += [
                pl.PledgeRevisionRequested(pledge_id=pid, reasons=("数量不明确",)),
                pl.PledgeRevised(pledge_id=pid, **terms),
            ]
        out.append(pl.PledgeApproved(pledge_id=pid, member_id=member, year=y, area=terms["area"]))
        if paired:
            out.append(
                pl.PairingAgreementSigned(
                    pledge_id=pid,
                    member_id=member,
                    employee_id=paired,
                    signed_on=date(y, 3, 10),
                    problem="照明不足",
                    quarterly_work=pl.QuarterlyWork(q1="勘察"),
                    final_goal="全程照明",
                )
            )
        out.append(
            pl.PledgePublished(
                pledge_id=pid,
                channels=(pl.PublicationChannel.NOTICE_BOARD,),
                published_on=date(y, 3, 12),
            )
        )
        assessment = pl.LedgerAssessment.ON_TRACK if n == 1 else pl.LedgerAssessment.BEHIND
        out.append(
            pl.LedgerEntryRecorded(
                pledge_id=pid, month=f"{y}-05", assessment=assessment, note="<i>进展</i>"
            )
        )
        if steps == "accepted":
            out += [
                pl.PledgeAcceptanceRequested(
                    pledge_id=pid, summary="完成", requested_on=date(y, 6, 1)
                ),
                pl.PledgeAccepted(
                    pledge_id=pid,
                    need_ids=(self.need(n),),
                    accepted_on=date(y, 6, 30),
                    comment=None,
                ),
            ]
        return [self._plan(stream, e) for e in out]

    def sheet(
        self,
        period: Period,
        role: BallotRole,
        reviewer: str,
        scores: dict[str, int],
        *,
        amended: bool = False,
    ) -> Planned:
        period_id = f"{role.kind.value}-{period.value}-{self.tag}"
        kind = BallotAmended if amended else BallotCast
        code = pseudonym(f"{self.tag}-{reviewer}")
        event = kind(
            period_id=period_id,
            period=period,
            year=self.year,
            branch_id=self.branch,
            role=role,
            reviewer_pseudonym=code,
            scores=tuple(
                BallotScore(member_id=member, score=Decimal(score), comment=None)
                for member, score in sorted(scores.items())
            ),
        )
        return Planned(
            f"review-ballot-{period_id}-{role.value}-{code}",
            self.branch,
            event,
            "reviews",
            self.branch,
            self.unit,
        )

    def review_events(self) -> list[Planned]:
        """What the reviews topic carries of the year: each period opened, closed and tallied
        from ``ballot_events`` (the ballots themselves stay in the reviews service)."""
        return tallied(self.ballot_events(), members=[self.m(1), self.m(2), self.m(3), self.m(5)])

    def ballot_events(self) -> list[Planned]:
        m1, m2, m3, m5 = self.m(1), self.m(2), self.m(3), self.m(5)
        ev: list[Planned] = []
        peer = BallotRole.PEER
        for quarter in (Period.Q1, Period.Q2, Period.Q3, Period.Q4):
            for reviewer, (s1, s2) in zip(
                ("P1", "P2", "P3"), ((90, 70), (92, 75), (94, 80)), strict=True
            ):
                scores = {m1: s1, m2: s2}
                if quarter is Period.Q1 and reviewer in ("P1", "P2"):
                    scores[m3] = 80 if reviewer == "P1" else 82
                if quarter is Period.Q1 and reviewer == "P1":
                    ev.append(self.sheet(quarter, peer, reviewer, {**scores, m1: 60}))
                    ev.append(self.sheet(quarter, peer, reviewer, scores, amended=True))
                else:
                    ev.append(self.sheet(quarter, peer, reviewer, scores))
        staff = BallotRole.ALL_STAFF
        h1 = ((80, 60, 90), (85, 70, 90), (90, 80, 90))
        for reviewer, (s1, s2, s3) in zip(("S1", "S2", "S3"), h1, strict=True):
            ev.append(self.sheet(Period.H1, staff, reviewer, {m1: s1, m2: s2, m3: s3, m5: 40}))
        for reviewer, (s1, s2) in zip(
            ("S1", "S2", "S3"), ((80, 50), (85, 60), (90, 70)), strict=True
        ):
            ev.append(self.sheet(Period.H2, staff, reviewer, {m1: s1, m2: s2}))
        for half in (Period.H1, Period.H2):
            ev.append(self.sheet(half, BallotRole.PAIRED, "E1", {m1: 95}))
        ev.append(self.sheet(Period.H1, BallotRole.BRANCH, "C1", {m1: 96, m2: 80, m3: 88}))
        ev.append(self.sheet(Period.H2, BallotRole.BRANCH, "C1", {m1: 94, m2: 70}))
        return ev

    def expected_cards(self) -> dict[str, dict[str, object]]:
        """member -> (peer, mass, branch, composite, band, missing) as the card table shows."""
        return {
            self.m(1): {
                "peer": "92.00",
                "mass": "90.00",
                "branch_review": "95.00",
                "composite": "92.10",
                "band": "no_awards",
                "missing": [],
            },
            self.m(2): {
                "peer": "75.00",
                "mass": "65.00",
                "branch_review": "75.00",
                "composite": "71.00",
                "band": "yellow_card",
                "missing": [],
            },
            self.m(3): {
                "peer": None,
                "mass": "90.00",
                "branch_review": "88.00",
                "composite": None,
                "band": None,
                "missing": ["peer"],
            },
            self.m(4): {
                "peer": None,
                "mass": None,
                "branch_review": None,
                "composite": None,
                "band": None,
                "missing": ["peer", "mass", "branch"],
            },
            self.m(5): {
                "peer": None,
                "mass": "40.00",
                "branch_review": None,
                "composite": None,
                "band": None,
                "missing": [],
            },
        }

    def expected_statistics(self) -> dict[str, object]:
        return {
            "members": 5,
            "cards": 5,
            "exempt": 1,
            "areas": 3,
            "pairings": 1,
            "pledges_signed": 2,
            "pledges_completed": 1,
            "needs_submitted": 3,
            "needs_solved": 1,
            "mass_satisfied": 16,
            "mass_total": 17,
            "satisfaction_rate": "94.12",
            "bands": {"no_awards": 1, "yellow_card": 1},
            "without_composite": 2,
        }


def tallied(
    sheets: list[Planned], *, members: list[str], policy: ScoringPolicy = SEED_POLICY
) -> list[Planned]:
    """The reviews service's public events for ``sheets`` (ballot events, amendments in log
    order): every period they belong to opened and closed, with a tally of each member in
    ``members`` (and each member rated), computed by the reviews domain itself."""
    final: dict[tuple[str, BallotRole, str], _Ballot] = {}
    first: dict[str, Planned] = {}
    for item in sheets:
        ballot = item.event
        assert isinstance(ballot, _Ballot)
        final[(ballot.period_id, ballot.role, ballot.reviewer_pseudonym)] = ballot
        first.setdefault(ballot.period_id, item)
    out: list[Planned] = []
    for period_id, item in first.items():
        ballot = item.event
        assert isinstance(ballot, _Ballot)
        kind = ballot.role.kind
        scope = ReviewScope(level=ScopeLevel.BRANCH, unit_id=item.unit, branch_id=item.branch)
        opened = ReviewPeriodOpened(
            period_id=period_id,
            kind=kind,
            period=ballot.period,
            year=ballot.year,
            scope=scope,
            deadline=None,
        )
        state = replace(evolve_period(None, opened), closed=True)
        scores: dict[str, dict[BallotRole, list[Decimal]]] = {m: {} for m in members}
        for (pid, role, _), sheet in sorted(final.items()):
            if pid != period_id:
                continue
            for line in sheet.scores:
                scores.setdefault(line.member_id, {}).setdefault(role, []).append(line.score)
        stream = f"review-period-{period_id}"
        out.append(Planned(stream, item.branch, opened, "reviews", item.branch, item.unit))
        closed = ReviewPeriodClosed(period_id=period_id, reason=ClosingReason.CLOSED_BY_ORGANIZER)
        out.append(Planned(stream, item.branch, closed, "reviews", item.branch, item.unit))
        for member, by_role in sorted(scores.items()):
            tally = tally_member(
                state,
                member_id=member,
                branch_id=item.branch,
                scores=by_role,
                policy_id="default",
                policy=policy,
            )
            out.append(
                Planned(
                    tally_stream(period_id, item.branch),
                    item.branch,
                    tally,
                    "reviews",
                    item.branch,
                    item.unit,
                )
            )
    return out


def as_stored(planned: list[Planned]) -> list[StoredEvent]:
    """The events with envelopes as the consumer decodes them (sequences per stream)."""
    sequences: dict[str, int] = {}
    out = []
    for item in planned:
        sequences[item.stream] = sequences.get(item.stream, 0) + 1
        envelope = Envelope(
            event_id=uuid.uuid4(),
            type=item.event.type_name,
            version=item.event.schema_version,
            stream=item.stream,
            sequence=sequences[item.stream],
            occurred_at=AT,
            actor=Actor(ref="someone", role="member"),
            org=Org(unit=item.unit, branch=item.branch),
            year=None,
            correlation_id=uuid.uuid4(),
            data=item.event.model_dump(mode="json"),
        )
        out.append(StoredEvent(position=-1, envelope=envelope, event=item.event))
    return out
