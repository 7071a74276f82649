"""End to end on the real embedded broker and both databases: input events travel through
the real topics, the scoring service consumes them, and its own events go out in order."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from services.scoring.app import create_app
from services.scoring.domain import DEFAULT_POLICY, branch_results_stream
from shared.auth import Role
from shared.settings import Settings
from tests.conftest import PgDatabases
from tests.integration.scoring.conftest import NOW, ScoringService, token
from tests.integration.scoring.scenario import HOSTILE, Scenario
from tests.integration.scoring.tables import snapshot
from tests.support.kafka import read_topic

pytestmark = pytest.mark.integration

CARD_FIELDS = {"peer": "peer", "mass": "mass", "branch": "branch_review", "composite": "composite"}


def people(scenario: Scenario) -> dict[str, str]:
    return {
        "committee": token("sec-1", Role.MEMBER, Role.BRANCH_COMMITTEE, branch=scenario.branch),
        "admin": token("admin-1", Role.ORG_ADMIN),
        "operator": token("ops-1", Role.OPERATOR),
        "m2": token(scenario.m(2), Role.MEMBER, branch=scenario.branch),
    }


async def until(check: Any, timeout: float = 60.0) -> Any:
    """Poll ``check`` (an async callable returning a value or None) until it answers."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value is not None or loop.time() > deadline:
            return value
        await asyncio.sleep(0.3)


def table(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        m["member_id"]: {
            "peer": m["peer"],
            "mass": m["mass"],
            "branch_review": m["branch"],
            "composite": m["composite"],
            "band": m["band"],
        }
        for m in results["members"]
    }


def expected_table(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {
        member: {key: value for key, value in row.items() if key != "missing"}
        for member, row in scenario.expected_cards().items()
    }


async def seeded(scoring: ScoringService, scenario: Scenario, who: dict[str, str]) -> None:
    await scoring.publish_inputs(scenario.pledges_events() + scenario.review_events())
    path = f"/branches/{scenario.branch}/results/{scenario.year}"
    want = expected_table(scenario)

    async def caught_up() -> dict[str, Any] | None:
        response = await scoring.call("GET", path, who["committee"])
        if response.status_code != 200:
            return None
        body = response.json()
        stats = await scoring.call(
            "GET",
            f"/statistics/{scenario.year}?scope=branch&id={scenario.branch}",
            who["committee"],
        )
        done = table(body) == want and stats.status_code == 200
        return body if done and stats.json()["pledges_completed"] == 1 else None

    assert await until(caught_up) is not None, "the projection did not reach the expected table"


async def test_a_branch_year_from_the_topics_to_final_results(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)

    stats = await scoring.ok(
        "GET", f"/statistics/{year}?scope=branch&id={scenario.branch}", who["committee"]
    )
    expected = scenario.expected_statistics()
    assert {k: stats[k] for k in expected if k != "bands"} == {
        k: v for k, v in expected.items() if k != "bands"
    }
    assert {b["band"]: b["count"] for b in stats["bands"] if b["count"]} == expected["bands"]
    company = await scoring.ok("GET", f"/statistics/{year}", who["admin"])
    assert company["members"] == 5 and company["satisfaction_rate"] == "94.12"
    assert (company["cards"], company["exempt"], company["without_composite"]) == (5, 1, 2)

    card = await scoring.ok("GET", f"/members/{scenario.m(1)}/cards/{year}", who["admin"])
    assert card["composite"] == "92.10" and card["policy_id"] == "default"
    assert card["band_label"] == "不能参加下一年度创先争优评选"
    assert [p["status_label"] for p in card["pledges"]] == ["已验收"]

    # Policy as data: new weights for the year; the cards follow once the event is consumed.
    policy = DEFAULT_POLICY.model_dump(mode="json")
    policy["weights"] = {"peer": "0.20", "mass": "0.50", "branch": "0.30"}
    adopted = await scoring.ok(
        "POST",
        "/policies",
        who["admin"],
        {"year": year, "policy_id": "w-20-50-30", "policy": policy},
    )
    assert adopted["events"] == ["ScoringPolicyAdopted"]

    async def recomputed() -> dict[str, Any] | None:
        body = await scoring.ok(
            "GET", f"/branches/{scenario.branch}/results/{year}", who["committee"]
        )
        composites = {m["member_id"]: (m["composite"], m["policy_id"]) for m in body["members"]}
        return body if composites[scenario.m(1)] == ("91.90", "w-20-50-30") else None

    body = await until(recomputed)
    assert body is not None
    assert {m["member_id"]: m["composite"] for m in body["members"]} == {
        scenario.m(1): "91.90",
        scenario.m(2): "70.00",
        scenario.m(3): None,
        scenario.m(4): None,
        scenario.m(5): None,
    }

    # The review year: in January of the next year the portal still shows this year, whose
    # results are not final; the same January after finalization shows the new year.
    january = datetime(year + 1, 1, 20, 2, 0, tzinfo=UTC)
    review_year = f"/review-year?branch_id={scenario.branch}"
    scoring.at(january)
    pending = await scoring.ok("GET", review_year, who["m2"])
    assert pending == {
        "year": year,
        "calendar_year": year + 1,
        "pending_branches": 1,
        "reason": f"{year}年度本支部的评议结果尚未定稿",
    }
    company = await scoring.ok("GET", "/review-year", who["admin"])
    assert company["year"] == year and company["pending_branches"] >= 1
    assert (await scoring.call("GET", review_year, None)).status_code == 401
    scoring.at(NOW)
    current = await scoring.ok("GET", review_year, who["m2"])
    assert (current["year"], current["reason"]) == (2026, "2025年度没有积分卡")

    # Publish, object, decide, finalize after the window.
    base = f"/branches/{scenario.branch}/results/{year}"
    await scoring.ok("POST", f"{base}/publish", who["committee"])
    objection = await scoring.ok(
        "POST", f"{base}/objections", who["m2"], {"reason": "互评分数有误"}
    )
    decided = {"outcome": "adjusted", "reason": "复核后更正", "composite": "76.00"}
    await scoring.ok(
        "POST", f"{base}/objections/{objection['id']}/decision", who["committee"], decided
    )
    early = await scoring.call("POST", f"{base}/finalize", who["committee"])
    assert early.status_code == 409 and "公示期" in early.json()["message"]

    scoring.at(NOW + timedelta(days=8))
    report = await scoring.ok("POST", "/results/finalize-due", who["operator"])
    assert [r["id"] for r in report["finalized"]] == [branch_results_stream(scenario.branch, year)]

    scoring.at(january)
    final_year = await scoring.ok("GET", review_year, who["m2"])
    assert final_year["year"] == year + 1 and final_year["pending_branches"] == 0
    assert final_year["reason"] == f"{year}年度的评议结果已全部定稿"

    stream = branch_results_stream(scenario.branch, year)
    stored = await scoring.events(stream)
    kinds = [
        "BranchResultsPublished",
        "ResultObjectionRaised",
        "ResultObjectionDecided",
        "YearResultsFinalized",
    ]
    assert [s.envelope.type for s in stored] == kinds
    final = stored[-1].event.model_dump(mode="json")
    assert final["policy_id"] == "w-20-50-30"
    assert {
        r["member_id"]: (r["composite"], r["band"], r["adjusted"]) for r in final["results"]
    } == {
        scenario.m(1): ("91.90", "no_awards", False),
        scenario.m(2): ("76.00", "criticism", True),
        scenario.m(3): (None, None, False),
        scenario.m(4): (None, None, False),  # never acted: final without a composite
    }  # m5 is exempt: not reviewed, so not in the results

    async def on_the_topic() -> list[str] | None:
        seen = await read_topic(scoring.broker.bootstrap, "suxing.scoring", expect=10**9, timeout=2)
        ours = sorted(
            (s.envelope.sequence, s.envelope.type)
            for s in seen
            if s.envelope is not None and s.envelope.stream == stream
        )
        types = [kind for _, kind in dict(ours).items()]
        return types if len(types) == len(kinds) else None

    assert await until(on_the_topic) == kinds


async def test_board_pages_and_exports_show_the_year_escaped(
    scoring: ScoringService, year: int, unique: str
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    base = f"/branches/{scenario.branch}/results/{year}"
    await scoring.ok("POST", f"{base}/publish", who["committee"])

    page = await scoring.call(
        "GET", f"/board/branches/{scenario.branch}?year={year}&month={year}-05", None
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for label in (
        "采油一队党支部",
        "公开承诺",
        "承诺台账",
        "综合评议结果公示",
        "进度滞后",
        "党内通报，亮黄牌",
    ):
        assert label in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<b>加粗</b>" not in html and "&lt;b&gt;加粗&lt;/b&gt;" in html

    # A member's card is not public: the board page of it is gone.
    card = await scoring.call("GET", f"/board/members/{scenario.m(3)}/cards/{year}", None)
    assert card.status_code == 404

    csv = await scoring.call("GET", f"{base}/export.csv", who["committee"])
    assert csv.status_code == 200
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("党员编号,姓名,责任区")
    assert "92.10" in text and "'" + HOSTILE not in text  # "<" needs no guard

    xlsx = await scoring.call("GET", f"{base}/export.xlsx", who["committee"])
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][6] == "综合评议" and [r[6] for r in rows[1:]] == [92.1, 71, None, None, None]
    assert [r[8] for r in rows[1:]][3:] == [
        "未选择责任区、缺少党员互评结果、缺少群众评议结果、缺少党支部评议结果",
        "免于评议（退休）",
    ]

    stats = await scoring.call("GET", f"/statistics/{year}/export.xlsx", who["admin"])
    book = load_workbook(io.BytesIO(stats.content)).active
    assert book is not None
    rows = list(book.iter_rows(values_only=True))
    # The company, then each unit followed by its branches (the branch rows name their unit).
    assert [r[:5] for r in rows[1:]] == [
        ("全公司", "全公司", None, 1, 5),
        ("二级党委", "第一采油厂党委", None, 1, 5),
        ("党支部", "采油一队党支部", "第一采油厂党委", 1, 5),
    ]
    assert [r[-2:] for r in rows[1:]] == [(5, 1)] * 3  # 积分卡, 免于评议
    assert book.title == f"{year}年度党员塑形工程统计"
    assert book.freeze_panes == "A2" and book["A1"].font.bold
    assert book.column_dimensions["C"].width == len("第一采油厂党委") * 2 + 2  # widest text
    # A unit's export: its total and its branches; a branch committee may not export it.
    unit_url = f"/statistics/{year}/export.csv?scope=unit&id={scenario.unit}"
    unit_csv = await scoring.call("GET", unit_url, who["admin"])
    lines = unit_csv.content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["二级党委", "第一采油厂党委", ""],
        ["党支部", "采油一队党支部", "第一采油厂党委"],
    ]
    refused = await scoring.call("GET", unit_url, who["committee"])
    assert refused.status_code == 403
    missing = await scoring.call("GET", f"/statistics/{year}/export.csv?scope=unit", who["admin"])
    assert missing.status_code == 422

    forbidden = await scoring.call("GET", f"{base}/export.csv", who["m2"])
    assert forbidden.status_code == 403


async def test_a_rebuild_from_offset_zero_gives_the_live_tables(
    scoring: ScoringService,
    year: int,
    unique: str,
    database_url: str,
    pg_databases: PgDatabases | None,
    tmp_path: Path,
) -> None:
    scenario = Scenario(unique, year)
    who = people(scenario)
    await seeded(scoring, scenario, who)
    policy = DEFAULT_POLICY.model_dump(mode="json")
    policy["weights"] = {"peer": "0.20", "mass": "0.50", "branch": "0.30"}
    await scoring.ok(
        "POST", "/policies", who["admin"], {"year": year, "policy_id": "w-2", "policy": policy}
    )

    async def m1_composite() -> str | None:
        card = await scoring.ok("GET", f"/members/{scenario.m(1)}/cards/{year}", who["admin"])
        composite: str | None = card["composite"]
        return composite if card["policy_id"] == "w-2" else None

    # The closed periods' figures stand; the weights apply anew: .2*92 + .5*90 + .3*95.
    assert await until(m1_composite) == "91.90"

    if database_url.startswith("postgresql"):
        assert pg_databases is not None
        rebuild_url = await pg_databases.create()
    else:
        rebuild_url = f"sqlite+aiosqlite:///{tmp_path / 'rebuild.db'}"
    settings = Settings(
        service="scoring",
        database_url=rebuild_url,
        broker_url=scoring.broker.bootstrap,
        group_suffix=f"{unique}-rebuild",
        data_dir=tmp_path / "rebuild",
    )
    rebuilt = create_app(settings)
    live_db = scoring.app.state.runtime.read_db()
    async with rebuilt.router.lifespan_context(rebuilt):
        rebuild_db = rebuilt.state.runtime.read_db()

        async def same() -> bool | None:
            return True if await snapshot(rebuild_db) == await snapshot(live_db) else None

        assert await until(same), "the rebuild did not reach the live tables"
