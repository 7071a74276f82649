"""A rebuild's fold proves the signed log with one signature per stream (shared/signing.py,
``ChainProof``), on SQLite and PostgreSQL, in one process and in two: on an honest log it
checks as many signatures as there are streams and gives the tables of the live path; with
forgeries on the topic (a changed copy of a real record, a record extending a stream under a
stranger's key, a record put before a stream's real first event with a valid-looking chain
link) the proof fails, the fold is done again with every record's signature checked, and the
tables are the honest ones, every forgery dead-lettered with its reason."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import select

from services.scoring import persistence as t
from services.scoring.app import READ_MODEL
from services.scoring.projections import apply_deferred, settle
from shared.contracts import REGISTRY, Envelope
from shared.db import Database
from shared.eventstore import StoredEvent, kernel_metadata
from shared.eventstore.rows import GENESIS, link_hash
from shared.eventstore.tables import consumer_streams, dead_letters
from shared.messaging.codec import record_headers
from shared.messaging.embedded_broker import EmbeddedBroker
from shared.readmodel.rebuild import Rebuild, RebuildReport
from shared.readmodel.slots import ReadModel
from shared.signing import Keyring, SigningKey, Verifier, create_key_pair
from tests.conftest import PgDatabases
from tests.integration.scoring.tables import Snapshot, snapshot
from tests.integration.scoring.test_fold_equivalence import company_events
from tests.integration.scoring.test_projection import apply_in, batched
from tests.support.kafka import create_topics

pytestmark = pytest.mark.integration

Record = tuple[bytes, bytes, list[tuple[str, bytes]]]


def signed(topic: str, events: list[StoredEvent], key: SigningKey) -> list[Record]:
    """The events as the relay publishes them: each stream's hash chain in the headers and
    the owner's signature, keyed by the home branch."""
    heads: dict[str, str] = {}
    records = []
    for position, item in enumerate(events, start=1):
        envelope = item.envelope
        assert isinstance(envelope, Envelope)
        value = envelope.to_json()
        prev = heads.get(envelope.stream, GENESIS)
        hash_ = link_hash(prev, value)
        heads[envelope.stream] = hash_
        branch = (envelope.org.branch or envelope.org.unit or "company").encode()
        headers = record_headers(envelope.type, envelope.version, str(envelope.event_id))
        headers += key.headers(
            topic=topic,
            key=branch,
            type_=envelope.type,
            version=envelope.version,
            event_id=str(envelope.event_id),
            position=position,
            prev_hash=prev,
            hash_=hash_,
        )
        records.append((branch, value, headers))
    return records


async def send(bootstrap: str, topic: str, records: list[Record]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send(topic, value, key=key, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()


async def rebuilt(
    url: str, bootstrap: str, topic: str, verifier: Verifier, processes: int
) -> tuple[RebuildReport, Snapshot, list[Any], list[str]]:
    db = Database(url)
    await db.create_all([kernel_metadata, t.read_metadata])
    model = ReadModel(READ_MODEL, db)
    try:
        report = await Rebuild(
            model,
            consumer_name="scoring",
            topics=[topic],
            registry=REGISTRY,
            apply=apply_deferred,
            settle=settle,
            bootstrap=bootstrap,
            verifier=verifier,
            fold_processes=processes,
            fold_parallel_records=0,
        ).run(in_place=True)
        slot = model.database(report.slot)
        tables = await snapshot(slot)
        async with slot.reading() as session:
            streams = sorted(await session.execute(select(consumer_streams)))
            dead = sorted(row.reason for row in await session.execute(select(dead_letters)))
        return report, tables, streams, dead
    finally:
        await model.dispose()
        await db.dispose()


def forgeries(
    topic: str, records: list[Record], events: list[StoredEvent], stranger: SigningKey
) -> tuple[list[Record], list[Record]]:
    """(records sent before the log, records sent after it)."""
    owner_key_id = dict(records[0][2])["suxing-key-id"]
    # 1. A changed copy of a real record, with its real headers: out of chain.
    key, value, headers = records[5]
    changed = (key, value.replace(b'"sequence":', b'"sequence": '), headers)
    # 2. The next event of a stream, signed by a stranger's key.
    last = max(range(len(events)), key=lambda i: events[i].envelope.sequence)
    envelope = events[last].envelope
    assert isinstance(envelope, Envelope)
    extended_envelope = envelope.model_copy(
        update={"sequence": envelope.sequence + 1, "event_id": uuid.uuid4()}
    )
    extended_item = StoredEvent(position=-1, envelope=extended_envelope, event=events[last].event)
    (extended,) = signed(topic, [extended_item], stranger)
    prev = dict(records[last][2])["suxing-hash"].decode()
    extended_value = extended[1]
    extended_hash = link_hash(prev, extended_value)
    extended = (
        extended[0],
        extended_value,
        [
            (n, prev.encode() if n == "suxing-prev-hash" else v)
            for n, v in extended[2]
            if n != "suxing-hash"
        ]
        + [("suxing-hash", extended_hash.encode())],
    )
    # 3. Before a stream's real first event: a different first event with a chain link that
    #    holds (its value hashes to its own link) under the owner's key id, falsely signed.
    #    The stream has later events, so its last signature (the anchor) is the owner's.
    counts: dict[str, int] = {}
    for item in events:
        counts[item.envelope.stream] = counts.get(item.envelope.stream, 0) + 1
    index = next(i for i, item in enumerate(events) if counts[item.envelope.stream] > 2)
    first = events[index].envelope
    assert isinstance(first, Envelope) and first.sequence == 1
    fake_value = first.model_copy(update={"actor": first.actor.model_copy(update={"ref": "x"})})
    fake_bytes = fake_value.to_json()
    fake_headers = [
        (n, v)
        for n, v in records[index][2]
        if n not in ("suxing-hash", "suxing-signature", "suxing-key-id")
    ]
    fake_headers += [
        ("suxing-key-id", owner_key_id),
        ("suxing-signature", b"A" * 88),
        ("suxing-hash", link_hash(GENESIS, fake_bytes).encode()),
    ]
    return [(records[index][0], fake_bytes, fake_headers)], [changed, extended]


async def test_the_fold_proves_a_signed_log_per_stream_and_refolds_when_forged(
    projection_db: Database,
    database_url: str,
    pg_databases: PgDatabases | None,
    tmp_path: Path,
    broker: EmbeddedBroker,
    unique: str,
) -> None:
    events = company_events(seed=5, scale=0.004)
    keys = tmp_path / "keys"
    owner = create_key_pair(keys, "scoring.fold-test")
    stranger = create_key_pair(tmp_path / "elsewhere", "scoring.stranger")
    streams = len({item.envelope.stream for item in events})
    await apply_in(projection_db, batched(events, random.Random(2)))
    live = await snapshot(projection_db)
    assert len(live[t.cards.name]) > 50

    async def fresh(label: str) -> str:
        if database_url.startswith("postgresql"):
            assert pg_databases is not None
            return await pg_databases.create()
        return f"sqlite+aiosqlite:///{tmp_path / label}.db"

    honest, forged = f"signed-{unique}", f"forged-{unique}"
    records = signed(honest, events, owner)
    await create_topics(broker.bootstrap, honest, partitions=4)
    await send(broker.bootstrap, honest, records)
    records_f = signed(forged, events, owner)
    before, after = forgeries(forged, records_f, events, stranger)
    await create_topics(broker.bootstrap, forged, partitions=4)
    await send(broker.bootstrap, forged, before + records_f + after)
    # Only the record before a stream's real first event: every stream's last signature is
    # the owner's and valid, so only the broken link shows the forgery.
    broken = f"broken-{unique}"
    records_b = signed(broken, events, owner)
    before_b, _ = forgeries(broken, records_b, events, stranger)
    await create_topics(broker.bootstrap, broken, partitions=4)
    await send(broker.bootstrap, broken, before_b + records_b)

    for processes in (1, 2):
        owners = {honest: "scoring", forged: "scoring", broken: "scoring"}
        verifier = Verifier(Keyring(keys), owners=owners)
        report, tables, kept, dead = await rebuilt(
            await fresh(f"honest{processes}"), broker.bootstrap, honest, verifier, processes
        )
        assert report.folded and not report.reproved and dead == []
        assert report.signatures == streams < len(events) / 2, (report.signatures, streams)
        assert report.applied == len(events) and len(kept) == streams
        assert tables == live

        report, tables, kept, dead = await rebuilt(
            await fresh(f"forged{processes}"), broker.bootstrap, forged, verifier, processes
        )
        assert report.folded and report.reproved, report.as_dict()
        assert report.applied == len(events) and len(kept) == streams
        assert tables == live
        assert len(dead) == 3, dead
        assert [reason.split(":")[0] for reason in dead] == [
            "forged",
            "out of chain",
            "unknown signing key scoring.stranger (not among the trusted keys)",
        ], dead

        report, tables, kept, dead = await rebuilt(
            await fresh(f"broken{processes}"), broker.bootstrap, broken, verifier, processes
        )
        assert report.reproved, report.as_dict()
        assert tables == live
        assert [reason.split(":")[0] for reason in dead] == ["forged"], dead
