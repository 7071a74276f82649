"""The generated company as consumers receive it: public events only (private ones, the
ballots, never leave their service), each with the envelope the relay would publish
(sequences per stream in list order)."""

from __future__ import annotations

import uuid

from bench.generate.company import generate
from shared.contracts import Actor, Envelope, Event, Org


def published(seed: int, scale: float) -> list[tuple[Envelope, Event]]:
    sequences: dict[str, int] = {}
    out = []
    for item in generate(seed=seed, scale=scale).events:
        if item.event.private:
            continue
        sequences[item.stream] = sequences.get(item.stream, 0) + 1
        envelope = Envelope(
            event_id=uuid.uuid4(),
            type=item.event.type_name,
            version=item.event.schema_version,
            stream=item.stream,
            sequence=sequences[item.stream],
            occurred_at=item.occurred_at,
            actor=Actor(ref="bench", role="generator"),
            org=Org(unit=item.unit, branch=item.branch),
            year=item.year,
            correlation_id=uuid.uuid4(),
            data=item.event.model_dump(mode="json"),
        )
        out.append((envelope, item.event))
    return out
