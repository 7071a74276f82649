"""docs/asyncapi/ is usable by a code generator: the AsyncAPI Initiative's own parser
(@asyncapi/parser, the one the generators use; tools/asyncapi-check) accepts each document
without an error, and each has one message per published event type and version with its own
payload, the headers really sent and the record key (issue 19)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from shared.contracts import REGISTRY
from shared.contracts.catalogue import ASYNCAPI_DIR
from shared.contracts.topics import SERVICES
from shared.messaging.codec import record_headers
from shared.signing import SIGNED_HEADERS
from tests.support.availability import unavailable

CHECK = Path(__file__).resolve().parents[2] / "tools" / "asyncapi-check"


def validate(*files: Path) -> list[dict[str, object]]:
    node = shutil.which("node")
    if node is None or not (CHECK / "node_modules" / "@asyncapi" / "parser").is_dir():
        unavailable("node and tools/asyncapi-check's packages (make install runs npm ci)")
    done = subprocess.run(
        [str(node), "validate.js", *map(str, files)],
        cwd=CHECK,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_parser_accepts_every_document_and_finds_every_message() -> None:
    files = sorted(ASYNCAPI_DIR.glob("*.json"))
    assert [f.stem for f in files] == sorted(SERVICES)
    reports = validate(*files)
    assert [r["ok"] for r in reports] == [True] * len(files), reports
    assert all(r["warnings"] == [] for r in reports), reports
    published = [(t, v) for t, v, m in REGISTRY.types() if not m.private]
    for report in reports:
        assert isinstance(report["messages"], int) and report["messages"] > 10
    # Scoring consumes every topic, so its document holds every published message.
    scoring = json.loads((ASYNCAPI_DIR / "scoring.json").read_text("utf-8"))
    names = {m["name"] for m in scoring["components"]["messages"].values()}
    assert names == {f"{t}.v{v}" for t, v in published}


def test_the_parser_refuses_a_broken_document(tmp_path: Path) -> None:
    """The check can fail: a message reference that does not resolve is an error."""
    document = json.loads((ASYNCAPI_DIR / "pledges.json").read_text("utf-8"))
    channel = next(iter(document["channels"].values()))
    channel["messages"]["Ghost"] = {"$ref": "#/components/messages/Ghost"}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), "utf-8")
    (report,) = validate(broken)
    assert report["ok"] is False
    assert any("Ghost" in str(e) for e in report["errors"]), report  # type: ignore[attr-defined]


def test_each_message_has_its_payload_the_headers_sent_and_the_key() -> None:
    document = json.loads((ASYNCAPI_DIR / "reviews.json").read_text("utf-8"))
    schemas = document["components"]["schemas"]
    message = document["components"]["messages"]["MemberReviewed_v1"]
    envelope, fixed = message["payload"]["allOf"]
    assert envelope == {"$ref": "#/components/schemas/Envelope"}
    assert fixed["properties"]["type"] == {"const": "MemberReviewed"}
    assert fixed["properties"]["data"] == {"$ref": "#/components/schemas/MemberReviewed.v1"}
    assert "member_id" in schemas["MemberReviewed.v1"]["properties"]
    # The headers the relay really sends: routing (codec) and signature (signing) headers.
    sent = {name for name, _ in record_headers("MemberReviewed", 1, "e")} | set(SIGNED_HEADERS)
    assert set(schemas["RecordHeaders"]["required"]) == sent
    assert message["correlationId"]["location"] == "$message.payload#/correlation_id"
    assert "home branch" in message["bindings"]["kafka"]["key"]["description"]
    # Every $ref resolves inside the document.
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/')[1:]}:
        node: object = document
        for step in ref.split("/"):
            assert isinstance(node, dict) and step in node, ref
            node = node[step]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_sends_on_its_topic_and_receives_what_it_consumes(service: str) -> None:
    import importlib

    document = json.loads((ASYNCAPI_DIR / f"{service}.json").read_text("utf-8"))
    consumes = set(getattr(importlib.import_module(f"services.{service}.app"), "CONSUMES", ()))
    sends = {
        document["channels"][op["channel"]["$ref"].split("/")[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "send"
    }
    receives = {
        document["channels"][op["channel"]["$ref"].split("/")[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    assert sends == {f"suxing.{service}"}
    assert receives == consumes
