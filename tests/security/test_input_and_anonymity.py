"""Hostile input against the running services: SQL and HTML injection strings in every text
field are stored as text and shown escaped on the public board; oversized bodies get 413;
and a reviewer's id appears in no published event, no log line and no public page."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from markupsafe import escape

from tests.faults.figures import record
from tests.faults.stack import ADMIN, YEAR, declaration, member, secretary
from tests.security.conftest import REVIEWER, Seeded
from tests.support.kafka import read_topic

pytestmark = pytest.mark.e2e

INJECTIONS = (
    "'; DROP TABLE es_events; --",
    "Robert'); DELETE FROM pl_pledges WHERE ('1'='1",
    "' OR '1'='1",
    '<script>alert("塑形")</script>',
    '"><img src=x onerror=alert(1)>',
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "</textarea><svg onload=alert(1)>",
)
TEXT_FIELDS = ("item", "content", "quantity", "quality_standard")
AGREEMENT_TEXT = ("problem", "q1", "q2", "q3", "final_goal")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_injection_strings_are_stored_as_text_and_rendered_escaped(seeded: Seeded) -> None:
    stack = seeded.stack
    pledges, scoring = stack.url("pledges"), stack.url("scoring")
    sec = secretary(0)
    pids = []
    with httpx.Client(timeout=30) as http:
        for n, attack in enumerate(INJECTIONS):
            pid = f"inj-{n}"
            body = declaration(pid, 0, 2, **{field: attack for field in TEXT_FIELDS})
            response = http.post(f"{pledges}/pledges", json=body, headers=_auth(member(0, 2)))
            assert response.status_code == 201, response.text
            steps = [
                ("approval", None),
                (
                    "agreement",
                    {"signed_on": f"{YEAR}-03-10", **dict.fromkeys(AGREEMENT_TEXT, attack)},
                ),
                (
                    "publication",
                    {"channels": ["notice_board"], "published_on": f"{YEAR}-03-12"},
                ),
            ]
            for step, step_body in steps:
                response = http.post(
                    f"{pledges}/pledges/{pid}/{step}", json=step_body, headers=_auth(sec)
                )
                assert response.status_code == 200, (step, response.text)
            stored = http.get(f"{pledges}/pledges/{pid}", headers=_auth(sec)).json()
            for field in TEXT_FIELDS:
                assert stored[field] == attack, (field, stored[field])
            pids.append(pid)
        # The tables the strings tried to drop are all there, with every row.
        assert stack.services["pledges"].sql("SELECT count(*) FROM es_events")[0][0] > 0

        def escaped(attack: str, page: str) -> bool:
            return str(escape(attack)) in page

        page = ""
        for _ in range(240):  # until the scoring consumer applied the publications
            response = http.get(f"{scoring}/board/branches/b-f0", params={"year": YEAR})
            assert response.status_code == 200, response.text
            page = response.text
            if all(escaped(attack, page) for attack in INJECTIONS):
                break
            time.sleep(0.5)
        raw_found = [a for a in INJECTIONS if "<" in a and a in page]
        escaped_found = [a for a in INJECTIONS if escaped(a, page)]
        record(
            "injection strings",
            {
                "strings": len(INJECTIONS),
                "fields_per_pledge": len(TEXT_FIELDS) + len(AGREEMENT_TEXT),
                "stored_verbatim": len(pids),
                "raw_markup_on_board": len(raw_found),
                "escaped_on_board": len(escaped_found),
            },
        )
        assert not raw_found, raw_found
        assert len(escaped_found) == len(INJECTIONS), page[:2000]
        # The same strings as ids and query values: refused or not found, never a 5xx.
        for attack in INJECTIONS:
            for path in (
                f"{pledges}/pledges/{attack}",
                f"{pledges}/branches/{attack}/needs",
                f"{scoring}/board/branches/{attack}",
                f"{scoring}/members/{attack}/cards/{YEAR}",
                f"{stack.url('reviews')}/periods/{attack}",
            ):
                response = http.get(path, params={"year": YEAR}, headers=_auth(ADMIN))
                assert response.status_code < 500, (path, response.text)


@pytest.mark.parametrize("service", ["pledges", "reviews", "scoring"])
def test_an_oversized_body_gets_413_with_a_chinese_reason(seeded: Seeded, service: str) -> None:
    paths = {"pledges": "/pledges", "reviews": "/periods", "scoring": "/policies"}
    url = seeded.stack.url(service) + paths[service]
    big = b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    before = seeded.stack.services[service].sql("SELECT count(*) FROM es_events")[0][0]
    sized = httpx.post(
        url, content=big, headers={**_auth(ADMIN), "Content-Type": "application/json"}, timeout=60
    )

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    chunked = httpx.post(
        url,
        content=chunks(),
        headers={**_auth(ADMIN), "Content-Type": "application/json"},
        timeout=60,
    )
    for response in (sized, chunked):
        assert response.status_code == 413, response.text[:300]
        assert "请求内容过大" in response.json()["message"]
    assert seeded.stack.services[service].sql("SELECT count(*) FROM es_events")[0][0] == before


def test_no_reviewer_id_in_any_published_event_log_line_or_public_page(seeded: Seeded) -> None:
    stack = seeded.stack
    leaks: list[str] = []
    # The reviewer's ballot is in the reviews log (as a pseudonym) and was published.
    rows = stack.services["reviews"].sql(
        "SELECT type, data FROM es_events WHERE type IN ('BallotCast', 'BallotAmended')"
    )
    assert rows, "the ballot was not recorded"
    for type_name, data in rows:
        if REVIEWER in data:
            leaks.append(f"reviews log {type_name}")
    for topic in ("suxing.reviews", "suxing.scoring"):
        seen = asyncio.run(read_topic(stack.broker.bootstrap, topic, expect=10**9, timeout=5))
        assert seen or topic == "suxing.scoring"
        for s in seen:
            if s.raw is not None and REVIEWER.encode() in s.raw:
                leaks.append(f"{topic} offset {s.offset}")
    for log in sorted(Path(stack.data_dir).glob("*.log")):
        for number, line in enumerate(log.read_text("utf-8", "replace").splitlines(), 1):
            if REVIEWER in line:
                leaks.append(f"{log.name}:{number}")
    with httpx.Client(timeout=30) as http:
        pages = [
            f"{stack.url('scoring')}/board/branches/b-f0",
            f"{stack.url('scoring')}/board/members/m-f0-0/cards/{YEAR}",
            f"{stack.url('scoring')}/public/branches/b-f0/board/{YEAR}",
            f"{stack.url('pledges')}/public/branches/b-f0/pledges",
            f"{stack.url('pledges')}/public/branches",
        ]
        for url in pages:
            response = http.get(url, params={"year": YEAR})
            assert response.status_code in (200, 404), (url, response.text)
            if REVIEWER in response.text or "评议员0" in response.text:
                leaks.append(url)
    record(
        "reviewer anonymity",
        {
            "ballot_events": len(rows),
            "places_searched": "log, 2 topics, service logs, 5 pages",
            "leaks": len(leaks),
        },
    )
    assert not leaks, leaks
