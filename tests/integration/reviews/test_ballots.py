"""One counted ballot per reviewer, member and period: concurrent submissions, amendments,
closing, deadlines; and what turnout and results show."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.reviews import persistence as t
from services.reviews.domain import ballot_pseudonym
from services.reviews.handlers import close_due_periods, destroy_expired_keys
from shared.contracts.reviews import BallotAmended, BallotCast, BallotRole
from shared.eventstore import StoredEvent, kernel_metadata
from tests.integration.reviews.conftest import ADMIN, BRANCH, NOW, Reviews, token_of

pytestmark = pytest.mark.integration


async def _counted(reviews: Reviews, period_id: str) -> tuple[int, int]:
    """(ballot sheets, ballot lines) counted for the period."""
    async with reviews.runtime.db.reading() as session:
        sheets = await session.scalar(
            select(func.count()).where(t.ballot_sheets.c.period_id == period_id)
        )
        lines = await session.scalar(
            select(func.count()).where(t.ballot_lines.c.period_id == period_id)
        )
    return int(sheets or 0), int(lines or 0)


def _types(events: list[StoredEvent]) -> list[str]:
    return [item.event.type_name for item in events]


async def test_twenty_identical_concurrent_ballots_count_once(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    who = token_of("rv-m2")

    responses = await asyncio.gather(
        *(reviews.cast(who, period_id, "peer", {"rv-m1": 90, "rv-m3": 85}) for _ in range(20))
    )

    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["cast"] + ["unchanged"] * 19
    assert await _counted(reviews, period_id) == (1, 2)
    types = _types(await reviews.events())
    assert types.count("BallotCast") == 1
    assert types.count("BallotAmended") == 0


async def test_twenty_different_concurrent_ballots_leave_one_ballot_the_last_counting(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1")
    who = token_of("rv-m2")

    responses = await asyncio.gather(
        *(reviews.cast(who, period_id, "peer", {"rv-m1": 70 + n, "rv-m3": 80}) for n in range(20))
    )

    # Each loser is decided again on the stream as it stands: it amends, or, if yet another
    # submission got in between, it is told to retry. Never a second ballot.
    assert {r.status_code for r in responses} <= {200, 409}
    refused = [r.json()["message"] for r in responses if r.status_code == 409]
    assert all("你的选票正在被另一次提交修改" in m for m in refused)
    assert await _counted(reviews, period_id) == (1, 2)
    events = [e for e in await reviews.events() if e.event.type_name.startswith("Ballot")]
    assert _types(events).count("BallotCast") == 1
    assert _types(events).count("BallotAmended") == len(events) - 1
    mine = await reviews.ok("GET", f"/periods/{period_id}/my-ballot/peer", who)
    last = events[-1].event
    assert isinstance(last, BallotCast | BallotAmended)
    assert [line["score"] for line in mine["scores"]] == [str(line.score) for line in last.scores]


async def test_an_amendment_before_close_counts_and_after_close_is_refused(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    who = token_of("rv-m2")
    first = await reviews.cast(who, period_id, "peer", {"rv-m1": 60, "rv-m3": 85})
    assert first.json()["outcome"] == "cast"

    amended = await reviews.cast(who, period_id, "peer", {"rv-m1": 95})
    same = await reviews.cast(who, period_id, "peer", {"rv-m1": 95.0})

    receipt = first.json()["receipt"]
    assert amended.json() | {"message": ""} == {
        "period_id": period_id,
        "role": "peer",
        "outcome": "amended",
        "message": "",
        "members": 1,
        "events": ["BallotAmended"],
        "receipt": receipt,
    }
    assert same.json()["outcome"] == "unchanged"
    assert same.json()["events"] == []
    mine = await reviews.ok("GET", f"/periods/{period_id}/my-ballot/peer", who)
    assert mine["scores"] == [
        {"member_id": "rv-m1", "member_name": "李秀英", "score": "95.00", "comment": None}
    ]
    assert mine["amendable"] is True
    assert await _counted(reviews, period_id) == (1, 1)

    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    before = await reviews.event_count()
    late = await reviews.cast(who, period_id, "peer", {"rv-m1": 50})
    fresh = await reviews.cast(token_of("rv-m3"), period_id, "peer", {"rv-m1": 50})

    assert (late.status_code, fresh.status_code) == (409, 409)
    assert late.json()["message"] == "评议期已结束，不能再投票或修改"
    assert await reviews.event_count() == before
    mine = await reviews.ok("GET", f"/periods/{period_id}/my-ballot/peer", who)
    # After close the reviewer learns that the ballot counted, never again what it said.
    assert (mine["amendable"], mine["counted"], mine["scores"], mine["receipt"]) == (
        False,
        True,
        [],
        receipt,
    )
    nothing = await reviews.call("GET", f"/periods/{period_id}/my-ballot/peer", token_of("rv-m3"))
    assert nothing.status_code == 404
    assert "没有以“党员互评”身份投票" in nothing.json()["message"]


async def test_a_period_past_its_deadline_refuses_ballots_and_is_closed_by_the_sweep(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1", deadline="2024-03-31T23:59:00+08:00")
    reviews.now[0] = NOW + timedelta(days=12)

    late = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    assert late.status_code == 409
    assert late.json()["message"] == "评议期已结束，不能再投票或修改"

    runtime = reviews.runtime
    closed = await close_due_periods(db=runtime.db, store=runtime.store, now=reviews.now[0])
    again = await close_due_periods(db=runtime.db, store=runtime.store, now=reviews.now[0])

    assert closed == [period_id]
    assert again == []
    [closing] = [e for e in await reviews.events() if e.event.type_name == "ReviewPeriodClosed"]
    assert closing.envelope.actor.ref == "reviews-scheduler"
    period = await reviews.ok("GET", f"/periods/{period_id}", ADMIN)
    assert (period["closed"], period["closing_reason"]) == (True, "已过截止时间")


async def test_results_are_sealed_until_close_and_turnout_names_only_who_has_not_voted(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1")
    await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90, "rv-m3": 80})
    await reviews.cast(token_of("rv-m3"), period_id, "peer", {"rv-m1": 85})

    async def sealed() -> None:
        for reader in (token_of("rv-m1"), token_of("rv-sec"), ADMIN):
            results = await reviews.ok("GET", "/members/rv-m1/results?year=2024", reader)
            [peer] = [p for p in results["periods"] if p["period_id"] == period_id]
            assert (peer["ballots"], peer["status_label"], peer["average"], peer["parts"]) == (
                None,
                "评议进行中",
                None,
                [],
            )

    await sealed()
    turnout = await reviews.ok("GET", f"/periods/{period_id}/turnout?branch={BRANCH}", ADMIN)
    [role] = turnout["roles"]
    # Eligible: 王书记, 李秀英, 张伟, 陈静 (not the probationary member, not the departed one).
    assert (role["eligible"], role["voted"], role["percent"]) == (4, 2, "50.00")
    assert role["not_voted"] == [
        {"person_id": "rv-m1", "name": "李秀英"},
        {"person_id": "rv-sec", "name": "王书记"},
    ]
    assert "score" not in str(turnout)

    await reviews.cast(token_of("rv-sec"), period_id, "peer", {"rv-m1": 96})
    await sealed()  # the third ballot changes nothing anyone can read
    overview = await reviews.ok(
        "GET", f"/branches/{BRANCH}/overview?period={period_id}", token_of("rv-sec")
    )
    assert {m["status_label"] for m in overview["members"]} == {"评议进行中"}
    assert all(m["ballots"] is None and m["average"] is None for m in overview["members"])

    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    results = await reviews.ok("GET", "/members/rv-m1/results?year=2024", token_of("rv-m1"))
    [peer] = [p for p in results["periods"] if p["period_id"] == period_id]
    assert (peer["ballots"], peer["status_label"], peer["average"]) == (3, "已出结果", "90.33")

    overview = await reviews.ok(
        "GET", f"/branches/{BRANCH}/overview?period={period_id}", token_of("rv-sec")
    )
    by_member = {m["member_id"]: m for m in overview["members"]}
    assert by_member["rv-m1"]["status_label"] == "已出结果"
    assert by_member["rv-m3"]["status_label"] == "票数不足"
    assert by_member["rv-m3"]["parts"] == []
    assert "rv-e1" not in by_member  # not a party member
    assert overview["turnout"][0]["voted"] == 3
    # After close the turnout is a count: nobody is to be reminded any more.
    assert overview["turnout"][0]["not_voted"] == []


async def test_a_lone_paired_ballot_is_never_a_figure_and_branch_review_shows_assessments(
    reviews: Reviews,
):
    mass = await reviews.open("mass", "H1")
    branch = await reviews.open("branch", "H1")
    for who in ("rv-e1", "rv-e2", "rv-m2"):
        await reviews.cast(token_of(who), mass, "all_staff", {"rv-m1": 90})
    paired = await reviews.cast(token_of("rv-e1"), mass, "paired", {"rv-m1": 99})
    assert paired.status_code == 200
    await reviews.cast(token_of("rv-sec"), branch, "branch", {"rv-m1": 92}, comment="带头作用明显")
    turnout = await reviews.ok("GET", f"/periods/{mass}/turnout?branch={BRANCH}", ADMIN)
    paired_turnout = next(r for r in turnout["roles"] if r["role"] == "paired")
    assert (paired_turnout["eligible"], paired_turnout["voted"]) == (1, 1)
    for period_id in (mass, branch):
        await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)

    results = await reviews.ok("GET", "/members/rv-m1/results?year=2024", ADMIN)
    by_period = {p["period_id"]: p for p in results["periods"]}
    assert by_period[mass]["ballots"] == 4
    # One paired ballot is below the minimum: the parts are not shown apart, only the
    # combined result under the seed policy (.5 x 99 + .5 x 90).
    assert by_period[mass]["parts"] == []
    assert by_period[mass]["average"] == "94.50"
    # The paired score appears nowhere as a figure (random ids may contain "99": look for
    # the number, not the digits).
    figures = json.dumps(results)
    assert "99.00" not in figures and '"99"' not in figures and ": 99" not in figures
    # The branch review is the committee's: one ballot meets the seed policy's minimum.
    assert (by_period[branch]["ballots"], by_period[branch]["status_label"]) == (1, "已出结果")
    assert by_period[branch]["average"] == "92.00"
    assert by_period[branch]["assessments"] == ["带头作用明显"]


async def test_a_receipt_confirms_the_ballot_was_counted_even_after_the_key_is_destroyed(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1")
    cast = await reviews.cast(token_of("rv-m2"), period_id, "peer", {"rv-m1": 90})
    receipt = cast.json()["receipt"]
    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    turnout_path = f"/periods/{period_id}/turnout?branch={BRANCH}"
    before = await reviews.ok("GET", turnout_path, ADMIN)
    runtime = reviews.runtime
    destroyed = await destroy_expired_keys(
        db=runtime.db, now=reviews.now[0], retention=timedelta(0)
    )
    assert destroyed == [period_id]
    async with runtime.db.reading() as session:
        assert (
            await session.scalar(select(func.count()).where(t.period_keys.c.period_id == period_id))
            == 0
        )

    checked = await reviews.ok(
        "GET", f"/periods/{period_id}/receipts/{receipt.lower()}", token_of("rv-m3")
    )
    assert checked["counted"] is True
    wrong = await reviews.ok(
        "GET", f"/periods/{period_id}/receipts/AAAAA-AAAAA-AAAAA-AAAAA", token_of("rv-m3")
    )
    assert wrong["counted"] is False
    mine = await reviews.call("GET", f"/periods/{period_id}/my-ballot/peer", token_of("rv-m2"))
    assert mine.status_code == 409
    # The turnout of a closed period stays readable: its ballots are counted instead of
    # matched to people, and it names nobody.
    after = await reviews.ok("GET", turnout_path, ADMIN)
    assert [(r["role"], r["eligible"], r["voted"]) for r in after["roles"]] == [
        (r["role"], r["eligible"], r["voted"]) for r in before["roles"]
    ]
    assert sum(r["voted"] for r in after["roles"]) == 1
    assert all(r["not_voted"] == [] for r in after["roles"])
    assert "密钥已按规定销毁" in mine.json()["message"]


async def test_a_ballot_never_carries_the_correlation_id_its_client_chose(reviews: Reviews):
    period_id = await reviews.open("peer", "Q1")
    chosen = "11111111-2222-3333-4444-555555555555"
    response = await reviews.http.put(
        f"/periods/{period_id}/ballots/peer",
        json={"scores": [{"member_id": "rv-m1", "score": 90}]},
        headers={"Authorization": f"Bearer {token_of('rv-m2')}", "X-Correlation-ID": chosen},
    )
    assert response.status_code == 200, response.text
    [ballot] = [e for e in await reviews.events() if e.event.type_name == "BallotCast"]
    assert str(ballot.envelope.correlation_id) != chosen
    # Other commands keep the request's correlation id (it ties a request's events together).
    closed = await reviews.http.post(
        f"/periods/{period_id}/close",
        headers={"Authorization": f"Bearer {ADMIN}", "X-Correlation-ID": chosen},
    )
    assert closed.status_code == 200, closed.text
    [closing] = [e for e in await reviews.events() if e.event.type_name == "ReviewPeriodClosed"]
    assert str(closing.envelope.correlation_id) == chosen


async def _link_ballots_to_people(reviews: Reviews) -> set[tuple[str, str]]:
    """An attacker with the whole database: every stored value that could be a key is tried
    against every person on the roster in every role; the (person, pseudonym) pairs found."""
    runtime = reviews.runtime
    candidates: set[bytes] = set()
    async with runtime.db.reading() as session:
        for table in (*t.metadata.sorted_tables, *kernel_metadata.sorted_tables):
            for row in (await session.execute(select(table))).all():
                for value in row:
                    if isinstance(value, bytes) and len(value) >= 32:
                        candidates.add(value)
                    elif isinstance(value, str) and len(value) >= 64:
                        with contextlib.suppress(ValueError):
                            candidates.add(bytes.fromhex(value))
        people = (await session.scalars(select(t.people.c.person_id))).all()
        sheets = (
            await session.execute(select(t.ballot_sheets.c.period_id, t.ballot_sheets.c.pseudonym))
        ).all()
    found: set[tuple[str, str]] = set()
    for key in candidates:
        for period_id, pseudonym in sheets:
            for person in people:
                for role in BallotRole:
                    if ballot_pseudonym(key, period_id, person, role) == pseudonym:
                        found.add((person, pseudonym))
    return found


async def test_after_key_destruction_full_database_access_links_no_ballot_to_a_person(
    reviews: Reviews,
):
    period_id = await reviews.open("peer", "Q1")
    for who in ("rv-m2", "rv-m3", "rv-sec"):
        await reviews.cast(token_of(who), period_id, "peer", {"rv-m1": 88})
    await reviews.ok("POST", f"/periods/{period_id}/close", ADMIN)
    # While the key exists the service (and so its database) can link them: the attack works.
    assert {person for person, _ in await _link_ballots_to_people(reviews)} == {
        "rv-m2",
        "rv-m3",
        "rv-sec",
    }
    runtime = reviews.runtime
    await destroy_expired_keys(db=runtime.db, now=reviews.now[0], retention=timedelta(0))
    assert await _link_ballots_to_people(reviews) == set()


async def test_a_ballot_lists_whom_the_caller_may_rate_in_that_role(reviews: Reviews):
    """The ballot screen's list is the cast's rule: a paired employee sees only the member
    they are paired with; an employee paired with nobody is told why and sees no one."""
    mass = await reviews.open("mass", "H1")
    peer = await reviews.open("peer", "Q1")

    def listed(answer: dict[str, object]) -> list[tuple[object, object]]:
        members = answer["members"]
        assert isinstance(members, list)
        return [(m["member_id"], m["name"]) for m in members]

    paired = await reviews.ok("GET", f"/periods/{mass}/ballot-members/paired", token_of("rv-e1"))
    assert (paired["may_vote"], listed(paired)) == (True, [("rv-m1", "李秀英")])
    # What the list offers is what a cast accepts, and nothing beyond it.
    assert (await reviews.cast(token_of("rv-e1"), mass, "paired", {"rv-m1": 90})).status_code == 200
    refused = await reviews.cast(token_of("rv-e1"), mass, "paired", {"rv-m2": 90})
    assert refused.status_code == 403

    unpaired = await reviews.ok("GET", f"/periods/{mass}/ballot-members/paired", token_of("rv-e2"))
    assert (unpaired["may_vote"], unpaired["members"]) == (False, [])
    assert unpaired["reason"] == "你没有与党员签订结对协议，不能以结对员工身份评议"

    staff = await reviews.ok("GET", f"/periods/{mass}/ballot-members/all_staff", token_of("rv-e2"))
    assert {m for m, _ in listed(staff)} == {"rv-sec", "rv-m1", "rv-m2", "rv-m3", "rv-pm"}

    mine = await reviews.ok("GET", f"/periods/{peer}/ballot-members/peer", token_of("rv-m1"))
    assert "rv-m1" not in {m for m, _ in listed(mine)}  # never oneself
    wrong_kind = await reviews.ok("GET", f"/periods/{peer}/ballot-members/all_staff", ADMIN)
    assert wrong_kind["may_vote"] is False and wrong_kind["members"] == []

    await reviews.ok("POST", f"/periods/{mass}/close", ADMIN)
    closed = await reviews.ok("GET", f"/periods/{mass}/ballot-members/paired", token_of("rv-e1"))
    assert (closed["may_vote"], closed["members"]) == (False, [])
