"""Differencing attacks on the review (issue 14, docs/privacy.md): per role, everything the
role can read is recorded after every ballot of a branch-year (amendments and a late voter
included), after the periods close and after publication; the attacker of
``tests.security.differencing`` then solves for any single reviewer's score. It must find
none. The same attacker, fed what main showed before sealing (live averages, the paired part
on its own), recovers scores: the regression case, and the proof that the attacker works.

Roles: the rated member (the one with a paired employee), the branch committee, the
organization department, the public (no sign-in) and a subscriber reading every topic from
offset 0. Real processes, the embedded broker, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.scoring.domain import DEFAULT_ADOPTED_POLICY, MemberScores, compute_card
from shared.auth import Role
from shared.contracts.reviews import BallotRole
from shared.contracts.scoring import SEED_POLICY, Period, ReviewKind
from tests.conftest import PgDatabases
from tests.faults.stack import (
    ADMIN,
    YEAR,
    Stack,
    current_period,
    declaration,
    member,
    open_period,
    prepare_year,
    running_stack,
    secretary,
    token,
    wait_until,
)
from tests.security.differencing import (
    Attacker,
    Ballots,
    Equation,
    combine,
    mean_of,
    period_result,
    sum_of,
)
from tests.support.kafka import read_topic

BRANCH = "b-f0"
MEMBERS = [f"m-f0-{n}" for n in range(4)]
RATED = ["sec-f0", *MEMBERS]
"""The branch's party members: the secretary and four members."""
PAIRED_MEMBER = MEMBERS[0]
PAIRED_EMPLOYEE = "e-f0"
MONTH_PERIODS = {kind: Period(current_period(kind)) for kind in ("peer", "mass", "branch")}
KINDS = {"peer": ReviewKind.PEER, "mass": ReviewKind.MASS, "branch": ReviewKind.BRANCH}


def period_id(kind: str) -> str:
    return f"rp-attack-{kind}"


PERIOD_KIND = {period_id(k): KINDS[k] for k in KINDS}


@dataclass(frozen=True)
class Cast:
    reviewer: str
    role: str
    kind: str
    scores: dict[str, Decimal]


def script(seed: int = 20261202) -> list[Cast]:
    """The branch-year's ballots in the order they are cast: everyone rates everyone else,
    one peer reviewer amends, one all-staff reviewer votes late (after the amendment), the
    paired employee rates the paired member, the secretary gives the branch review."""
    rng = random.Random(seed)

    def scores(reviewer: str) -> dict[str, Decimal]:
        return {m: Decimal(rng.randint(55, 100)) for m in RATED if m != reviewer}

    casts = [Cast(r, "peer", "peer", scores(r)) for r in ["sec-f0", *MEMBERS[:3]]]
    casts.append(Cast(MEMBERS[1], "peer", "peer", scores(MEMBERS[1])))  # amended
    casts += [Cast(r, "all_staff", "mass", scores(r)) for r in ("e-f0", "sec-f0", MEMBERS[1])]
    casts.append(
        Cast(PAIRED_EMPLOYEE, "paired", "mass", {PAIRED_MEMBER: Decimal(rng.randint(40, 100))})
    )
    casts.append(Cast("sec-f0", "branch", "branch", scores("sec-f0")))
    casts.append(Cast(MEMBERS[3], "peer", "peer", scores(MEMBERS[3])))  # late voter
    casts.append(Cast("r-f0", "all_staff", "mass", scores("r-f0")))  # late voter
    return casts


def tokens() -> dict[str, str]:
    people = {
        "sec-f0": secretary(0),
        "e-f0": token("e-f0", Role.EMPLOYEE, branch=BRANCH),
        "r-f0": token("r-f0", Role.EMPLOYEE, branch=BRANCH),
    }
    people.update({m: member(0, n) for n, m in enumerate(MEMBERS)})
    return people


# What each figure means, for the attacker.


def counted_periods(ballots: Ballots, member_id: str) -> dict[ReviewKind, list[str]]:
    """The periods whose result counts toward the member's annual result, by the rules
    (the attacker knows the counts)."""
    out: dict[ReviewKind, list[str]] = {kind: [] for kind in ReviewKind}
    for pid, kind in PERIOD_KIND.items():
        n = sum(
            len(ballots.counted(member_id, pid, role.value))
            for role in BallotRole
            if role.kind is kind
        )
        minimum = SEED_POLICY.min_ballots.of(kind)
        if n >= minimum:
            out[kind].append(pid)
    return out


def annual(ballots: Ballots, member_id: str, kind: ReviewKind) -> Equation:
    periods = counted_periods(ballots, member_id)[kind]
    if not periods:
        return {}
    share = Fraction(1, len(periods))
    return combine(*((share, period_result(ballots, member_id, p, kind)) for p in periods))


def composite(ballots: Ballots, member_id: str) -> Equation:
    weights = SEED_POLICY.weights
    parts = [annual(ballots, member_id, kind) for kind in ReviewKind]
    if not all(parts):
        return {}
    return combine(
        *((Fraction(weights.of(kind)), part) for kind, part in zip(ReviewKind, parts, strict=True))
    )


def learn_results_view(
    attacker: Attacker, ballots: Ballots, member_id: str, periods: list[dict[str, Any]]
) -> None:
    """reviews: a member's results, or a member's line of the branch overview."""
    for entry in periods:
        pid = entry.get("period_id")
        if pid not in PERIOD_KIND:
            continue
        if entry.get("average") is not None:
            attacker.learns(period_result(ballots, member_id, pid, PERIOD_KIND[pid]))
        for part in entry.get("parts") or []:
            attacker.learns(mean_of(ballots.counted(member_id, pid, part["role"])))


def learn_card(attacker: Attacker, ballots: Ballots, card: dict[str, Any]) -> None:
    member_id = card["member_id"]
    by_period = {(KINDS[k], MONTH_PERIODS[k].value): period_id(k) for k in KINDS}
    for review in card["reviews"]:
        kind = ReviewKind(review["review"])
        for entry in review["periods"]:
            pid = by_period.get((kind, entry["period"]))
            if pid is not None and entry.get("result") is not None:
                attacker.learns(period_result(ballots, member_id, pid, kind))
        if review.get("annual") is not None:
            attacker.learns(annual(ballots, member_id, kind))
    if card.get("composite") is not None:
        attacker.learns(composite(ballots, member_id))


def learn_composites(attacker: Attacker, ballots: Ballots, results: list[dict[str, Any]]) -> None:
    for result in results:
        if result.get("composite") is not None:
            attacker.learns(composite(ballots, result["member_id"]))


@dataclass
class Roles:
    attackers: dict[str, Attacker] = field(
        default_factory=lambda: {
            name: Attacker() for name in ("member", "committee", "org", "public", "subscriber")
        }
    )


def snapshot(stack: Stack, ballots: Ballots, roles: Roles, people: dict[str, str]) -> None:
    """Everything each role can read now, turned into equations."""
    reviews, scoring = stack.url("reviews"), stack.url("scoring")
    readers = {"member": people[PAIRED_MEMBER], "committee": people["sec-f0"], "org": ADMIN}
    with httpx.Client(timeout=30) as http:

        def get(url: str, who: str | None) -> Any:
            headers = {"Authorization": f"Bearer {who}"} if who else {}
            response = http.get(url, headers=headers)
            return response.json() if response.status_code == 200 else None

        for role, who in readers.items():
            attacker = roles.attackers[role]
            readable = [PAIRED_MEMBER] if role == "member" else RATED
            for member_id in readable:
                results = get(f"{reviews}/members/{member_id}/results?year={YEAR}", who)
                if results:
                    learn_results_view(attacker, ballots, member_id, results["periods"])
                card = get(f"{scoring}/members/{member_id}/cards/{YEAR}", who)
                if card:
                    learn_card(attacker, ballots, card)
            for kind in KINDS:
                overview = get(
                    f"{reviews}/branches/{BRANCH}/overview?period={period_id(kind)}", who
                )
                for line in (overview or {}).get("members", []):
                    entry = {**line, "period_id": period_id(kind)}
                    learn_results_view(attacker, ballots, line["member_id"], [entry])
            branch = get(f"{scoring}/branches/{BRANCH}/results/{YEAR}", who)
            if branch:
                for line in branch["members"]:
                    for kind, name in zip(ReviewKind, ("peer", "mass", "branch"), strict=True):
                        if line.get(name) is not None:
                            attacker.learns(annual(ballots, line["member_id"], kind))
                learn_composites(attacker, ballots, branch["members"])
                publication = branch.get("publication") or {}
                learn_composites(attacker, ballots, publication.get("results") or [])
        board = get(f"{scoring}/public/branches/{BRANCH}/board/{YEAR}", None)
        if board and board.get("publication"):
            learn_composites(roles.attackers["public"], ballots, board["publication"]["results"])


def subscriber_reads(stack: Stack, ballots: Ballots, attacker: Attacker) -> int:
    """Every record of every topic from offset 0; returns how many were read."""
    read = 0
    for topic in ("suxing.pledges", "suxing.reviews", "suxing.scoring"):
        records = asyncio.run(read_topic(stack.broker.bootstrap, topic, expect=10**9, timeout=8))
        read += len(records)
        for record in records:
            envelope = record.envelope
            assert envelope is not None
            assert not envelope.type.startswith("Ballot"), f"a ballot is on {topic}"
            data = envelope.data
            if envelope.type == "MemberReviewed" and data["period_id"] in PERIOD_KIND:
                pid, member_id = data["period_id"], data["member_id"]
                if data["result"] is not None:
                    attacker.learns(period_result(ballots, member_id, pid, PERIOD_KIND[pid]))
                for part in data["parts"]:
                    attacker.learns(sum_of(ballots.counted(member_id, pid, part["role"])))
            elif envelope.type in ("BranchResultsPublished", "YearResultsFinalized"):
                learn_composites(attacker, ballots, data["results"])
            elif envelope.type == "ResultObjectionDecided":
                learn_composites(attacker, ballots, [data["result"]])
    return read


def live_averages_as_main_showed(ballots: Ballots, attacker: Attacker) -> None:
    """What main showed after every ballot, before sealing: each member's live period
    results once 3 ballots were in (all parts side by side, the paired part included), and
    the card computed from the ballots counted so far (``compute_card``, still the domain's
    reference)."""
    for member_id in RATED:
        for pid, kind in PERIOD_KIND.items():
            roles = [role for role in BallotRole if role.kind is kind]
            counted = {role: ballots.counted(member_id, pid, role.value) for role in roles}
            if sum(len(v) for v in counted.values()) < 3 and kind is not ReviewKind.BRANCH:
                continue
            for unknowns in counted.values():
                if unknowns:
                    attacker.learns(mean_of(unknowns))
        scores = MemberScores.model_validate(
            {
                part: {
                    MONTH_PERIODS[k]: tuple(
                        ballots.truth[u] for u in ballots.counted(member_id, period_id(k), role)
                    )
                    for k in KINDS
                    if KINDS[k] is BallotRole(role).kind
                    and ballots.counted(member_id, period_id(k), role)
                }
                for part, role in (
                    ("peer", "peer"),
                    ("mass_paired", "paired"),
                    ("mass_all_staff", "all_staff"),
                    ("branch", "branch"),
                )
            }
        )
        if compute_card(scores, DEFAULT_ADOPTED_POLICY).composite is not None:
            attacker.learns(composite(ballots, member_id))


def test_the_attacker_recovers_scores_from_what_main_showed_before_sealing() -> None:
    """Regression case: live averages and the paired part on its own give scores away."""
    ballots = Ballots()
    attacker = Attacker()
    for cast in script():
        ballots.cast(cast.reviewer, period_id(cast.kind), cast.role, cast.scores)
        live_averages_as_main_showed(ballots, attacker)
    found = attacker.determined()
    paired = [u for u in found if u[3] == "paired"]
    assert paired, "the lone paired score was shown on its own"
    assert any(u[3] == "peer" for u in found), "differencing live averages reveals peers"
    assert any(u[3] == "all_staff" for u in found)
    assert all(u in ballots.truth for u in found)


def _stack_urls(database: str, pg: PgDatabases | None) -> dict[str, str] | None:
    if database == "sqlite":
        return None
    assert pg is not None
    return {name: asyncio.run(pg.create()) for name in ("pledges", "reviews", "scoring")}


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    pg_databases: PgDatabases | None,
) -> Iterator[Stack]:
    if request.param == "postgresql" and pg_databases is None:
        pytest.fail("PostgreSQL is required for this test")
    with running_stack(tmp_path, database_urls=_stack_urls(request.param, pg_databases)) as s:
        yield s


def _pair(stack: Stack) -> None:
    """The paired member's pledge with the paired employee: declared, approved, signed."""
    with httpx.Client(base_url=stack.url("pledges"), timeout=30) as http:
        body = declaration("pl-attack", 0, 0)
        own = {"Authorization": f"Bearer {member(0, 0)}"}
        committee = {"Authorization": f"Bearer {secretary(0)}"}
        for method, path, payload, headers in (
            ("POST", "/pledges", body, own),
            ("POST", "/pledges/pl-attack/approval", {}, committee),
            (
                "POST",
                "/pledges/pl-attack/agreement",
                {
                    "signed_on": f"{YEAR}-03-01",
                    "problem": "照明",
                    "q1": "勘察",
                    "final_goal": "照明",
                },
                committee,
            ),
        ):
            response = http.request(method, path, json=payload, headers=headers)
            assert response.status_code in (200, 201), (path, response.text)


def _eligible(stack: Stack, kind: str, role: str) -> int:
    response = httpx.get(
        f"{stack.url('reviews')}/periods/{period_id(kind)}/turnout?branch={BRANCH}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    if response.status_code != 200:
        return -1
    return int(next(r["eligible"] for r in response.json()["roles"] if r["role"] == role))


def _branch_known(stack: Stack) -> bool:
    response = httpx.get(
        f"{stack.url('reviews')}/members/{MEMBERS[-1]}/results?year={YEAR}",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    return response.status_code == 200


def _until(probe: Callable[[], bool]) -> None:
    assert wait_until(probe, timeout=90)


@pytest.mark.integration
@pytest.mark.slow
def test_no_role_can_solve_for_a_reviewers_score(stack: Stack) -> None:
    prepare_year(stack.url("pledges"), 1, len(MEMBERS))
    _pair(stack)
    # The reviews service learns the roster and the pairing from the pledges topic.
    _until(lambda: _branch_known(stack))
    for kind in KINDS:
        open_period(stack, period_id(kind), kind, BRANCH)
    _until(lambda: _eligible(stack, "peer", "peer") == len(RATED))
    _until(lambda: _eligible(stack, "mass", "paired") == 1)
    people = tokens()
    ballots = Ballots()
    roles = Roles()
    for cast in script():
        response = httpx.put(
            f"{stack.url('reviews')}/periods/{period_id(cast.kind)}/ballots/{cast.role}",
            json={
                "scores": [
                    {"member_id": m, "score": str(s), "comment": "认真负责"}
                    for m, s in cast.scores.items()
                ]
            },
            headers={"Authorization": f"Bearer {people[cast.reviewer]}"},
            timeout=30,
        )
        assert response.status_code == 200, (cast, response.text)
        ballots.cast(cast.reviewer, period_id(cast.kind), cast.role, cast.scores)
        snapshot(stack, ballots, roles, people)

    for kind in KINDS:
        response = httpx.post(
            f"{stack.url('reviews')}/periods/{period_id(kind)}/close",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
    scoring = stack.url("scoring")

    def card_complete() -> bool:
        card = httpx.get(
            f"{scoring}/members/{PAIRED_MEMBER}/cards/{YEAR}",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=30,
        ).json()
        return card.get("composite") is not None

    _until(card_complete)
    snapshot(stack, ballots, roles, people)
    published = httpx.post(
        f"{scoring}/branches/{BRANCH}/results/{YEAR}/publish",
        headers={"Authorization": f"Bearer {people['sec-f0']}"},
        timeout=30,
    )
    assert published.status_code == 201, published.text
    snapshot(stack, ballots, roles, people)
    assert subscriber_reads(stack, ballots, roles.attackers["subscriber"]) > 0

    # The branch review is the committee's collective, recorded decision, not an anonymous
    # ballot (DOMAIN.md: it may be shown from one ballot). Give the attacker those scores
    # outright: knowing them must not help it solve for anyone else's.
    committee_scores = [u for u in ballots.truth if u[3] == BallotRole.BRANCH.value]
    for name, attacker in roles.attackers.items():
        assert attacker.figures > 0, f"the {name} read no figure: the test would prove nothing"
        for unknown in committee_scores:
            attacker.learns({unknown: Fraction(1)})
        solved = {u for u in attacker.determined() if u[3] != BallotRole.BRANCH.value}
        assert solved == set(), f"the {name} can solve for a reviewer's score: {solved}"
