"""The decode benchmark (bench/decode.py) runs and decodes what the relay publishes."""

from __future__ import annotations

import pytest

from bench import decode
from shared.contracts import REGISTRY
from shared.messaging.codec import decode_envelope


def test_the_decode_benchmark_measures_every_way_on_published_records(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    values = decode.wire_values(seed=2, scale=0.002)
    assert values
    for value in values[:50]:
        envelope = decode_envelope(value)
        REGISTRY.decode(envelope.type, envelope.version, envelope.data)
        assert not REGISTRY.model(envelope.type).private
    monkeypatch.setattr("sys.argv", ["bench.decode", "--scale", "0.002", "--seed", "2"])
    decode.main()
    out = capsys.readouterr().out
    assert "| envelope: msgspec WireEnvelope (what consumers use) |" in out
    assert out.count("\n| ") >= 7
