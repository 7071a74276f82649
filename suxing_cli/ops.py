"""Operator commands: topics, lag, republish, verify-log, seal, tail, export.

Every command that needs a service's database takes ``--database-url`` (production); in the
embedded profile it defaults to the service's SQLite file under ``SUXING_DATA_DIR``. The broker
comes from ``--broker``, ``SUXING_BROKER_URL``, or the running embedded stack's stack.json.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Role
from shared.contracts.topics import SERVICES, all_topics, service_topic
from shared.db import Database
from shared.errors import Unauthenticated
from shared.eventstore.audit import record_operator_command
from shared.eventstore.integrity import verify_log
from shared.eventstore.published import TopicReport, compare_with_published, published_links
from shared.eventstore.relay import outbox_backlog, requeue_all
from shared.eventstore.rows import row_body
from shared.eventstore.seal import seal_log, verify_seals
from shared.eventstore.tables import EVENT_COLUMNS, consumer_offsets, events
from shared.messaging import admin
from shared.messaging.offsets import true_end_offsets
from shared.messaging.security import KafkaSecurity
from shared.readmodel.slots import ReadModel
from shared.service import token_verifier
from shared.settings import Settings

console = Console()

BrokerOpt = Annotated[str | None, typer.Option("--broker", help="Kafka bootstrap servers")]
DbOpt = Annotated[
    str | None, typer.Option("--database-url", help="the service's database (default: embedded)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def resolve_broker(broker: str | None) -> str:
    if broker:
        return broker
    settings = Settings()
    if settings.broker_url:
        return settings.broker_url
    stack = settings.data_dir / "stack.json"
    if stack.exists():
        return str(json.loads(stack.read_text())["broker"])
    raise typer.BadParameter(
        "no broker: pass --broker, set SUXING_BROKER_URL, or start the stack with `suxing up`"
    )


def operator_identity() -> tuple[str, bool]:
    """Who runs this command, and whether they proved it: the person of
    ``SUXING_OPERATOR_TOKEN`` (verified as every service verifies tokens; operator or
    org_admin), else, in the embedded profile only, the local account."""
    settings = Settings()
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    if token:
        try:
            principal = token_verifier(settings).verify(token)
        except Unauthenticated as exc:
            raise typer.BadParameter(f"SUXING_OPERATOR_TOKEN: {exc.message}") from exc
        if not principal.roles & {Role.OPERATOR, Role.ORG_ADMIN}:
            raise typer.BadParameter(
                f"SUXING_OPERATOR_TOKEN belongs to {principal.name}, who is not an operator"
            )
        return f"{principal.name} ({principal.person_id})", True
    if not settings.embedded:
        raise typer.BadParameter(
            "the production profile records who runs this command: set SUXING_OPERATOR_TOKEN "
            "to your operator token"
        )
    return f"{getpass.getuser()} (local account)", False


async def record(
    session: AsyncSession, service: str, command: str, detail: str, who: tuple[str, bool]
) -> None:
    """The OperatorCommandRun event of this command, in ``session``'s transaction."""
    await record_operator_command(
        session,
        service=service,
        operator=who[0],
        verified=who[1],
        command=command,
        detail=detail,
        host=socket.gethostname(),
        now=datetime.now(UTC),
    )


def client_security() -> KafkaSecurity:
    """The SUXING_KAFKA_* block of this shell: the CLI reaches the broker as the services do."""
    try:
        return Settings().kafka_security()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def service_database(service: str, url: str | None) -> Database:
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    if url is None:
        settings = Settings(service=service)
        path = settings.data_dir / f"{service}.db"
        if settings.database_url is None and not path.exists():
            raise typer.BadParameter(f"{path} does not exist; pass --database-url")
        url = settings.resolved_database_url()
    return Database(url)


def emit(data: Any, as_json: bool, table: Table | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif table is not None:
        console.print(table)


topics_app = typer.Typer(help="Topics of the event log.")


@topics_app.command("ensure")
def topics_ensure(broker: BrokerOpt = None, as_json: JsonOpt = False) -> None:
    """Create missing topics (configured partitions, retention forever)."""
    settings = Settings()
    created = admin.ensure_topics(
        resolve_broker(broker),
        all_topics(settings.topic_partitions, settings.topic_replication),
        **client_security().kafka_python(),
    )
    if as_json:
        emit({"created": created}, True)
    else:
        console.print(f"created: {', '.join(created) or 'none (all present)'}")


@topics_app.command("describe")
def topics_describe(broker: BrokerOpt = None, as_json: JsonOpt = False) -> None:
    """Partitions, offsets (true ends) and configs of every Suxing topic."""
    bootstrap = resolve_broker(broker)
    names = [spec.name for spec in all_topics(1)]
    security = client_security().kafka_python()
    described = admin.describe_topics(bootstrap, names, **security)
    rows = []
    for name, desc in described.items():
        ends = true_end_offsets(bootstrap, name, **security)
        for part in desc.partitions:
            rows.append(
                {
                    "topic": name,
                    "topic_id": desc.topic_id,
                    "partition": part.partition,
                    "earliest": part.earliest_offset,
                    "end": ends.get(part.partition, part.latest_offset),
                    "retention.ms": desc.configs.get("retention.ms"),
                }
            )
    table = Table(title="topics")
    for column in ("topic", "partition", "earliest", "end", "retention.ms"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(str(row[c]) for c in ("topic", "partition", "earliest", "end", "retention.ms"))
        )
    emit(rows, as_json, table)


@dataclass
class ConsumerLag:
    service: str
    consumer: str
    topic: str
    partition: int
    position: int
    end: int
    lag: int
    updated_at: str | None
    verdict: str = "ok"


async def _positions(service: str, url: str | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    db = service_database(service, url)
    model = _read_model(service, db)
    try:
        async with db.reading() as session:
            backlog, oldest = await outbox_backlog(session)
        # A consumer's offsets live with its projection: in the active slot of a read model.
        read_db = db if model is None else model.database(await model.ensure_active())
        async with read_db.reading() as session:
            rows = [
                dict(r) for r in (await session.execute(select(consumer_offsets))).mappings().all()
            ]
    finally:
        if model is not None:
            await model.dispose()
        await db.dispose()
    age = (datetime.now(UTC) - oldest).total_seconds() if oldest else None
    return rows, {"service": service, "outbox_backlog": backlog, "oldest_age_s": age}


def _read_model(service: str, db: Database) -> ReadModel | None:
    if service != "scoring":
        return None
    from services.scoring.app import READ_MODEL

    return ReadModel(READ_MODEL, db)


def _sample(bootstrap: str, urls: dict[str, str]) -> tuple[list[ConsumerLag], list[dict[str, Any]]]:
    lags: list[ConsumerLag] = []
    outboxes = []
    ends: dict[str, dict[int, int]] = {}
    security = client_security().kafka_python()
    for service in SERVICES:
        try:
            rows, outbox = asyncio.run(_positions(service, urls.get(service)))
        except typer.BadParameter:
            continue
        outboxes.append(outbox)
        for row in rows:
            topic = row["topic"]
            if topic not in ends:
                ends[topic] = true_end_offsets(bootstrap, topic, **security)
            end = ends[topic].get(row["partition"], 0)
            lags.append(
                ConsumerLag(
                    service=service,
                    consumer=row["consumer"],
                    topic=topic,
                    partition=row["partition"],
                    position=row["next_offset"],
                    end=end,
                    lag=max(0, end - row["next_offset"]),
                    updated_at=str(row["updated_at"]),
                )
            )
    return lags, outboxes


def lag(
    broker: BrokerOpt = None,
    db: Annotated[
        list[str] | None,
        typer.Option("--db", help="SERVICE=DATABASE_URL, once per service (production)"),
    ] = None,
    interval: Annotated[float, typer.Option(help="seconds between the two samples")] = 2.0,
    as_json: JsonOpt = False,
) -> None:
    """Outbox backlog per service; lag per consumer and partition, with a verdict."""
    bootstrap = resolve_broker(broker)
    urls = dict(item.split("=", 1) for item in db or [])
    first, _ = _sample(bootstrap, urls)
    time.sleep(interval)
    second, outboxes = _sample(bootstrap, urls)
    before = {(c.consumer, c.topic, c.partition): c.lag for c in first}
    for c in second:
        previous = before.get((c.consumer, c.topic, c.partition))
        if c.lag == 0:
            c.verdict = "ok"
        elif previous is not None and c.lag < previous:
            c.verdict = "slow"
        elif previous is not None and c.lag >= previous:
            c.verdict = "stuck"
    if as_json:
        emit({"outbox": outboxes, "consumers": [asdict(c) for c in second]}, True)
        return
    table = Table(title="outbox")
    for column in ("service", "backlog", "oldest (s)"):
        table.add_column(column)
    for o in outboxes:
        age = "" if o["oldest_age_s"] is None else f"{o['oldest_age_s']:.1f}"
        table.add_row(o["service"], str(o["outbox_backlog"]), age)
    console.print(table)
    table = Table(title="consumers")
    for column in ("consumer", "topic", "partition", "position", "end", "lag", "verdict"):
        table.add_column(column)
    for c in second:
        colour = {"ok": "green", "slow": "yellow", "stuck": "red"}[c.verdict]
        table.add_row(
            c.consumer,
            c.topic,
            str(c.partition),
            str(c.position),
            str(c.end),
            str(c.lag),
            f"[{colour}]{c.verdict}[/{colour}]",
        )
    console.print(table)


def republish(
    service: str,
    from_position: Annotated[int, typer.Option(help="first event position to resend")] = 0,
    database_url: DbOpt = None,
) -> None:
    """Disaster recovery: queue the whole event table (or from a position) to publish again.

    The service's relay sends it in order; consumers' stream dedupe makes duplicates harmless.
    """

    who = operator_identity()

    async def run() -> int:
        db = service_database(service, database_url)
        try:
            async with db.transaction() as session:
                queued = await requeue_all(session, from_position=from_position)
                await record(session, service, "republish", f"from position {from_position}", who)
                return queued
        finally:
            await db.dispose()

    queued = asyncio.run(run())
    console.print(
        f"{queued} events of {service} queued for publishing to {service_topic(service)}; "
        "the service's relay sends them (now if it runs, else at its next start)."
    )


def verify_log_command(
    service: str,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
    against_topic: Annotated[
        bool,
        typer.Option(
            "--against-topic",
            help="also compare every stored public event with the signed record the service "
            "published (catches a rewrite whose hashes and seals were recomputed)",
        ),
    ] = False,
    broker: BrokerOpt = None,
) -> None:
    """Check every hash chain and every seal of a service's log; name the first broken link.
    With --against-topic, also what was published (docs/signing.md)."""

    async def run() -> dict[str, Any]:
        db = service_database(service, database_url)
        published: TopicReport | None = None
        try:
            async with db.reading() as session:
                report = await verify_log(session)
                seals, problems = await verify_seals(session, service=service)
            if against_topic:
                published = await _against_topic(db, service, resolve_broker(broker))
        finally:
            await db.dispose()
        result: dict[str, Any] = {
            "service": service,
            "events": report.events,
            "streams": report.streams,
            "seals": seals,
            "ok": report.ok and not problems and (published is None or published.ok),
            "broken": [b.describe() for b in report.broken],
            "seal_problems": [p.reason for p in problems],
        }
        if published is not None:
            result["against_topic"] = published.as_dict()
        return result

    result = asyncio.run(run())
    topic = result.get("against_topic")
    if as_json:
        emit(result, True)
    elif result["ok"]:
        console.print(
            f"[green]{service}: {result['events']} events in {result['streams']} streams and "
            f"{result['seals']} seals verified[/green]"
        )
        if topic is not None:
            console.print(
                f"[green]{topic['compared']} events equal what {topic['topic']} holds "
                f"({topic['refused']} records there refused: forged or unsigned)[/green]"
            )
    else:
        differences = [] if topic is None else topic["differences"]
        for line in result["broken"] + result["seal_problems"] + differences:
            console.print(f"[red]{line}[/red]")
        first = (result["broken"] or result["seal_problems"] or differences)[0]
        console.print(f"first broken link: {first}")
    raise typer.Exit(0 if result["ok"] else 1)


async def _against_topic(db: Database, service: str, bootstrap: str) -> TopicReport:
    topic = service_topic(service)
    verifier = Settings(service=service).verifier()
    report = TopicReport(topic)
    security = client_security()
    ends = await asyncio.to_thread(true_end_offsets, bootstrap, topic, **security.kafka_python())
    links = await published_links(bootstrap, topic, verifier, ends, report, **security.aiokafka())
    async with db.reading() as session:
        await compare_with_published(session, links, report)
    return report


def seal(service: str, database_url: DbOpt = None) -> None:
    """Seal the service's log now (a LogSealed event over every stream head)."""

    who = operator_identity()

    async def run() -> str:
        db = service_database(service, database_url)
        try:
            async with db.transaction() as session:
                await record(session, service, "seal", "", who)
                sealed = await seal_log(session, service=service, now=datetime.now(UTC))
        finally:
            await db.dispose()
        if sealed is None:
            return "nothing new since the last seal"
        return (
            f"sealed {sealed.streams} streams up to position {sealed.up_to_position}: "
            f"{sealed.digest}"
        )

    console.print(asyncio.run(run()))


def _matches(
    envelope: dict[str, Any], type_: str | None, branch: str | None, member: str | None
) -> bool:
    if type_ and envelope.get("type") != type_:
        return False
    if branch and (envelope.get("org") or {}).get("branch") != branch:
        return False
    if member:
        return member in json.dumps(envelope.get("data"), ensure_ascii=False)
    return True


def tail(
    topic: str,
    broker: BrokerOpt = None,
    type_: Annotated[str | None, typer.Option("--type", help="only this event type")] = None,
    branch: Annotated[str | None, typer.Option(help="only this branch")] = None,
    member: Annotated[
        str | None, typer.Option(help="only events mentioning this person id")
    ] = None,
    from_beginning: Annotated[bool, typer.Option(help="start at offset 0")] = False,
    limit: Annotated[int, typer.Option(help="stop after this many (0 = follow)")] = 0,
) -> None:
    """Print a topic's events, decoded, as they arrive (Ctrl-C stops)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=resolve_broker(broker),
        **client_security().kafka_python(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    shown = 0
    try:
        for record in consumer:
            try:
                envelope = json.loads(record.value)
            except (TypeError, ValueError):
                console.print(f"[red]{record.partition}@{record.offset}: not JSON[/red]")
                continue
            if not _matches(envelope, type_, branch, member):
                continue
            typer.echo(json.dumps(envelope, ensure_ascii=False, sort_keys=True))
            shown += 1
            if limit and shown >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


def export(
    service: str,
    out: Annotated[Path, typer.Option("--out", help="JSON Lines file to write")],
    database_url: DbOpt = None,
    batch: Annotated[int, typer.Option(help="events per read")] = 5000,
    include_personal_data: Annotated[
        bool,
        typer.Option(
            "--include-personal-data",
            help="confirm that the file will hold people's names, pledges and comments",
        ),
    ] = False,
) -> None:
    """Write a service's whole event log, in append order, to JSON Lines (for audits).

    The log holds personal data, so the command asks for --include-personal-data, creates a
    new file readable by its owner only (0600), and refuses an existing file or a link."""
    if not include_personal_data:
        console.print(
            "[red]事件日志含个人信息（姓名、定诺、评议意见等）。确认导出并妥善保管后，"
            "请加 --include-personal-data 重试。[/red]"
        )
        raise typer.Exit(2)
    who = operator_identity()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        console.print(f"[red]{out} 已存在（或是链接）：为免覆盖，请指定一个新文件。[/red]")
        raise typer.Exit(2) from None
    except OSError as exc:
        console.print(f"[red]无法创建 {out}：{exc.strerror}[/red]")
        raise typer.Exit(2) from None

    async def run() -> int:
        db = service_database(service, database_url)
        written = 0
        try:
            # Recorded before the read-out begins: who took the personal data, and where to.
            async with db.transaction() as session:
                await record(session, service, "export", f"to {out.resolve()}", who)
            async with db.reading() as session:
                total = int(await session.scalar(select(func.count()).select_from(events)) or 0)
            with _progress() as progress:
                task = progress.add_task(f"export {service}", total=total)
                after = 0
                while True:
                    async with db.reading() as session:
                        rows = (
                            (
                                await session.execute(
                                    select(*EVENT_COLUMNS)
                                    .where(events.c.position > after)
                                    .order_by(events.c.position)
                                    .limit(batch)
                                )
                            )
                            .mappings()
                            .all()
                        )
                    if not rows:
                        break
                    for row in rows:
                        line = {"position": row["position"], "hash": row["hash"], **row_body(row)}
                        handle.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                    written += len(rows)
                    after = rows[-1]["position"]
                    progress.update(task, advance=len(rows))
        finally:
            await db.dispose()
        return written

    with open(fd, "w", encoding="utf-8") as handle:
        written = asyncio.run(run())
    console.print(f"{written} events written to {out}")


class RateColumn(ProgressColumn):
    """Events per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f}/s")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
