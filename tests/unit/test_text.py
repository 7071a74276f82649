"""What typed text may not hold (shared/text.py), and the last line of defence: text that
cannot be encoded for an event answers 422, not 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.service import install_error_handlers
from shared.text import text_problem, typed

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "multiline", "problem"),
    [
        ("王伟", False, None),
        ("第一行\n第二行\t缩进", True, None),
        ("第一行\n第二行", False, "不能包含换行"),
        ("\ud800", True, "代理码位"),
        ("a\x00b", True, "控制字符"),
        ("a\x7fb", True, "控制字符"),
        ("a\x85b", True, "控制字符"),
        ("王\u200b伟", False, "不可见"),
        ("abc\u202edef", True, "不可见"),
        ("\ufeff王伟", False, "不可见"),
        ("😀 表情和全角　空格", True, None),
    ],
)
def test_text_problem(value: str, multiline: bool, problem: str | None) -> None:
    found = text_problem(value, multiline=multiline)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_unencodable_text_answers_422_in_chinese() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, int]:
        return {"bytes": len(body["text"].encode("utf-8"))}

    client = TestClient(app)
    response = client.post(
        "/echo", content=b'{"text": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "无法识别的字符" in response.json()["message"]
    assert client.post("/echo", json={"text": "好"}).json() == {"bytes": 3}


def test_unknown_routes_and_methods_answer_in_the_envelope_in_chinese() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things/{thing}")
    async def thing(thing: str) -> dict[str, str]:
        if thing == "missing":
            from shared.errors import NotFound

            raise NotFound("没有这件东西")
        return {"thing": thing}

    client = TestClient(app)
    unknown = client.get("/nowhere")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "message": "没有这个地址：/nowhere"}
    wrong = client.delete("/things/a")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET"
    # The domain's own 404 keeps its words.
    assert client.get("/things/missing").json()["message"] == "没有这件东西"


def test_typed_text_is_stored_in_nfc_whichever_way_it_was_typed() -> None:
    from pydantic import TypeAdapter

    from services.pledges.commands import Name
    from services.reviews.commands import ScoreMember
    from services.scoring.commands import Reason

    decomposed, composed = "Zoe\u0301 王", "Zo\u00e9 王"
    assert decomposed != composed
    assert typed(f"  {decomposed} ") == composed
    assert TypeAdapter(Name).validate_python(decomposed) == composed
    line = ScoreMember(member_id="m-1", score=90, comment=decomposed)
    assert line.comment == composed
    assert TypeAdapter(Reason).validate_python(f"复核后调整：{decomposed}").endswith(composed)
