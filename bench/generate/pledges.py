"""Each branch's year on the pledges side: plan, needs, areas, pledges through acceptance."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from bench.generate.model import (
    _AREAS,
    _CHANNELS,
    AREA_CHANGE_SHARE,
    NEED_LINK_SHARE,
    PAIRED_SHARE,
    PLEDGES_PER_MEMBER,
    REVISION_SHARE,
    Branch,
    _at,
    _Builder,
    _Pledge,
)
from services.pledges.domain.areas import member_year_stream
from services.pledges.domain.planning import need_stream, plan_stream
from services.pledges.domain.pledge import pledge_stream
from services.pledges.domain.roster import branch_stream, person_stream
from shared.contracts import pledges as pl


def _branch_pledges(b: _Builder, seed: int, branch: Branch, year: int) -> list[_Pledge]:
    rng = random.Random(f"branch/{seed}/{branch.branch_id}")
    jan2 = date(year, 1, 2)
    # Roster.
    b.pledges(
        branch_stream(branch.branch_id),
        branch,
        _at(jan2, 1),
        pl.BranchRegistered(
            branch_id=branch.branch_id, unit_id=branch.unit_id, name=f"{branch.branch_id}党支部"
        ),
    )
    membership = {p: pl.Membership.FULL_MEMBER for p in branch.full_members}
    membership |= {p: pl.Membership.PROBATIONARY_MEMBER for p in branch.probationary}
    membership |= {p: pl.Membership.NON_MEMBER for p in branch.non_members}
    for person in branch.employees:
        b.pledges(
            person_stream(person),
            branch,
            _at(jan2, 2),
            pl.PersonRegistered(
                person_id=person,
                name=f"员工{person}",
                branch_id=branch.branch_id,
                membership=membership[person],
                post=rng.choice((None, "采油工", "技术员", "班长")),
            ),
        )
    positions = [pl.CommitteePosition.SECRETARY, pl.CommitteePosition.DEPUTY_SECRETARY]
    for index, person in enumerate(branch.committee):
        position = positions[index] if index < len(positions) else pl.CommitteePosition.MEMBER
        b.pledges(
            person_stream(person),
            branch,
            _at(jan2, 3),
            pl.CommitteeMemberAppointed(
                person_id=person, branch_id=branch.branch_id, position=position
            ),
        )
    # Annual plan, needs.
    meeting = date(year, 1, 5)
    b.pledges(
        plan_stream(branch.branch_id, year),
        branch,
        _at(meeting),
        pl.PlanAdopted(
            branch_id=branch.branch_id,
            year=year,
            title=f"{year}年党员塑形工程活动方案",
            summary="围绕生产经营中心任务开展党员承诺践诺",
            meeting_date=meeting,
        ),
    )
    need_ids = [f"N{branch.branch_id}-{k + 1:02d}" for k in range(rng.randint(5, 10))]
    need_areas: dict[str, pl.ResponsibilityArea] = {}
    for need_id in need_ids:
        area = rng.choice(_AREAS)
        need_areas[need_id] = area
        b.pledges(
            need_stream(need_id),
            branch,
            _at(date(year, 1, 10)),
            pl.NeedSubmitted(
                need_id=need_id,
                branch_id=branch.branch_id,
                year=year,
                employee_id=rng.choice(branch.employees),
                problem=f"{area.label}方面的问题",
                suggested_area=rng.choice((None, area)),
            ),
        )
        b.pledges(
            need_stream(need_id),
            branch,
            _at(date(year, 1, 15)),
            pl.NeedClassified(need_id=need_id, area=area),
        )
    # Areas and pledges.
    made: list[_Pledge] = []
    for member in branch.members:
        area = rng.choice(_AREAS)
        stream = member_year_stream(member, year)
        b.pledges(
            stream,
            branch,
            _at(date(year, 1, 20)),
            pl.ResponsibilityAreaChosen(person_id=member, year=year, area=area),
        )
        if rng.random() < AREA_CHANGE_SHARE:
            new_area = rng.choice([a for a in _AREAS if a is not area])
            b.pledges(
                stream,
                branch,
                _at(date(year, 1, 25)),
                pl.ResponsibilityAreaChanged(
                    person_id=member, year=year, previous_area=area, area=new_area
                ),
            )
            area = new_area
        for n in range(rng.randint(*PLEDGES_PER_MEMBER)):
            matching = [need for need, a in need_areas.items() if a is area]
            linked = (rng.choice(matching),) if matching and rng.random() < NEED_LINK_SHARE else ()
            paired = rng.choice(branch.non_members) if rng.random() < PAIRED_SHARE else None
            due_month = rng.randint(8, 11)
            made.append(
                _Pledge(
                    pledge_id=f"{member}-{year}-{n + 1}",
                    member_id=member,
                    branch=branch,
                    area=area,
                    paired=paired,
                    need_ids=linked,
                    due=date(year, due_month, 28),
                    revised=rng.random() < REVISION_SHARE,
                    first=n == 0,
                )
            )
    for pledge in made:
        _declare_to_publish(b, rng, pledge, year)
    return made


def _declare_to_publish(b: _Builder, rng: random.Random, p: _Pledge, year: int) -> None:
    stream = pledge_stream(p.pledge_id)
    branch = p.branch
    terms = {
        "area": p.area,
        "item": f"{p.area.label}承诺",
        "content": f"在{p.area.label}方面完成本年度承诺事项",
        "quantity": f"{rng.randint(2, 20)}项",
        "quality_standard": "通过党支部验收",
        "due_date": p.due,
        "need_ids": p.need_ids,
        "paired_employee_id": p.paired,
    }
    declared = date(year, 2, rng.randint(1, 10))
    b.pledges(
        stream,
        branch,
        _at(declared),
        pl.PledgeDeclared(
            pledge_id=p.pledge_id,
            member_id=p.member_id,
            branch_id=branch.branch_id,
            year=year,
            **terms,
        ),
    )
    for need_id in p.need_ids:
        b.pledges(
            need_stream(need_id),
            branch,
            _at(declared, 1),
            pl.NeedPledgeLinked(need_id=need_id, pledge_id=p.pledge_id),
        )
    if p.revised:
        b.pledges(
            stream,
            branch,
            _at(date(year, 2, 12)),
            pl.PledgeRevisionRequested(pledge_id=p.pledge_id, reasons=("数量和质量标准不明确",)),
        )
        b.pledges(
            stream, branch, _at(date(year, 2, 14)), pl.PledgeRevised(pledge_id=p.pledge_id, **terms)
        )
    approved = _at(date(year, 2, rng.randint(15, 20)))
    b.pledges(
        stream,
        branch,
        approved,
        pl.PledgeApproved(pledge_id=p.pledge_id, member_id=p.member_id, year=year, area=p.area),
    )
    if p.first:
        b.pledges(
            member_year_stream(p.member_id, year),
            branch,
            approved + timedelta(seconds=1),
            pl.ResponsibilityAreaLocked(person_id=p.member_id, year=year, pledge_id=p.pledge_id),
        )
    signed = date(year, 2, 25)
    if p.paired is not None:
        b.pledges(
            stream,
            branch,
            _at(signed),
            pl.PairingAgreementSigned(
                pledge_id=p.pledge_id,
                member_id=p.member_id,
                employee_id=p.paired,
                signed_on=signed,
                problem="结对帮扶的具体问题",
                quarterly_work=pl.QuarterlyWork(q1="调研", q2="帮扶", q3="落实", q4="总结"),
                final_goal="问题解决，员工满意",
            ),
        )
    published = date(year, 3, rng.randint(1, 5))
    b.pledges(
        stream,
        branch,
        _at(published),
        pl.PledgePublished(
            pledge_id=p.pledge_id,
            channels=tuple(sorted(rng.sample(_CHANNELS, rng.randint(1, 2)))),
            published_on=published,
        ),
    )


def _ledger_and_acceptance(b: _Builder, seed: int, pledges: Sequence[_Pledge]) -> None:
    rng = random.Random(f"tracking/{seed}")
    accepted_on = {p.pledge_id: p.due + timedelta(days=rng.randint(3, 10)) for p in pledges}
    solver: dict[str, _Pledge] = {}
    for p in pledges:
        for need_id in p.need_ids:
            best = solver.get(need_id)
            if best is None or accepted_on[p.pledge_id] < accepted_on[best.pledge_id]:
                solver[need_id] = p
    for p in pledges:
        stream = pledge_stream(p.pledge_id)
        year = p.due.year
        for month in range(3, p.due.month + 1):
            last = month == p.due.month
            assessment = (
                pl.LedgerAssessment.DONE
                if last
                else rng.choice((pl.LedgerAssessment.ON_TRACK,) * 4 + (pl.LedgerAssessment.BEHIND,))
            )
            b.pledges(
                stream,
                p.branch,
                _at(date(year, month, 25)),
                pl.LedgerEntryRecorded(
                    pledge_id=p.pledge_id,
                    month=f"{year:04d}-{month:02d}",
                    assessment=assessment,
                    note=None if rng.random() < 0.7 else "按月推进",
                ),
            )
        b.pledges(
            stream,
            p.branch,
            _at(p.due, 1),
            pl.PledgeAcceptanceRequested(
                pledge_id=p.pledge_id, summary="承诺事项已全部完成", requested_on=p.due
            ),
        )
        accepted = accepted_on[p.pledge_id]
        b.pledges(
            stream,
            p.branch,
            _at(accepted),
            pl.PledgeAccepted(
                pledge_id=p.pledge_id, need_ids=p.need_ids, accepted_on=accepted, comment=None
            ),
        )
        for need_id in p.need_ids:
            # The first accepted pledge solves the need.
            if solver[need_id] is not p:
                continue
            b.pledges(
                need_stream(need_id),
                p.branch,
                _at(accepted, 1),
                pl.NeedSolved(need_id=need_id, pledge_id=p.pledge_id, solved_on=accepted),
            )
