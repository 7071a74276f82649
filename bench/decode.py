"""Decoding a record, measured per record on the same bytes (issue 15: "decode at the speed of
the wire").

    python -m bench.decode [--scale 0.05] [--seed 1]

The generated company's public events are encoded as the relay publishes them (the envelope's
canonical JSON); each way of decoding them runs over all of them, best of five rounds, with
the cyclic garbage collector off as in a rebuild's fold. orjson is measured when it is
installed (it is not a dependency of the project).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from bench.generate.published import published
from shared.contracts import REGISTRY, Envelope
from shared.messaging.codec import decode_envelope
from shared.messaging.consumer import SimpleRecord, decode_record


def wire_values(seed: int, scale: float) -> list[bytes]:
    return [envelope.to_json() for envelope, _ in published(seed, scale)]


def per_record(values: Sequence[Any], decode: Callable[[Any], object], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for value in values:
            decode(value)
        best = min(best, time.perf_counter() - started)
    return best / len(values) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.decode", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    values = wire_values(args.seed, args.scale)
    records = [SimpleRecord("t", 0, i, None, v) for i, v in enumerate(values)]
    envelopes = [decode_envelope(v) for v in values]
    gc.disable()
    rows: list[tuple[str, float]] = [
        ("json.loads (stdlib), no validation", per_record(values, json.loads)),
        ("msgspec.json.decode, untyped, no validation", per_record(values, msgspec.json.decode)),
    ]
    try:
        import orjson

        rows.append(("orjson.loads, no validation", per_record(values, orjson.loads)))
    except ImportError:
        pass
    rows += [
        (
            "envelope: pydantic Envelope.from_json (the contract)",
            per_record(values, Envelope.from_json),
        ),
        (
            "envelope: msgspec WireEnvelope (what consumers use)",
            per_record(values, decode_envelope),
        ),
        (
            "payload: pydantic event model via the registry",
            per_record(envelopes, lambda e: REGISTRY.decode(e.type, e.version, e.data)),
        ),
        (
            "a record end to end (decode_record: envelope + payload)",
            per_record(records, lambda r: decode_record(REGISTRY, r)),
        ),
    ]
    size = sum(map(len, values)) / len(values)
    print(
        f"{len(values):,} records, {size:.0f} bytes on average "
        f"(scale {args.scale}, seed {args.seed})"
    )
    print()
    print("| decoding | µs per record |")
    print("| --- | ---: |")
    for name, micros in rows:
        print(f"| {name} | {micros:.2f} |")


if __name__ == "__main__":
    main()
