"""``suxing rebuild``: rebuild a service's read model from offset 0 of its topics.

    suxing rebuild scoring                  # blue/green: build, verify, switch (service running)
    suxing rebuild scoring --drop-old       # ... and drop the previous slot afterwards
    suxing rebuild scoring --no-switch      # build and verify only
    suxing rebuild scoring --in-place       # stopped system: empty the active slot, rebuild it
    suxing rebuild reviews --in-place       # the reviews roster (lives with reviews' own data)
    suxing rebuild scoring --status         # the slots and which one serves
    suxing rebuild scoring --drop-retired   # drop the retired slot

Ctrl-C stops between batches; the slot keeps what it applied and the next run resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import MetaData, delete
from sqlalchemy import Table as SqlTable
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import REGISTRY
from shared.db import Database
from shared.eventstore.tables import consumer_offsets, consumer_streams, dead_letters
from shared.messaging.consumer import Apply
from shared.readmodel.rebuild import Rebuild, RebuildReport
from shared.readmodel.slots import ReadModel, ReadModelSpec, SlotError, other
from shared.settings import Settings
from shared.signing import Verifier
from suxing_cli.ops import (
    BrokerOpt,
    DbOpt,
    JsonOpt,
    _progress,
    console,
    emit,
    operator_identity,
    record,
    resolve_broker,
    service_database,
)


@dataclass(frozen=True)
class Rebuildable:
    consumer: str
    topics: tuple[str, ...]
    apply: Apply
    read_model: ReadModelSpec | None
    """None: the projection lives with the service's own data (in place only)."""
    tables: tuple[SqlTable, ...] = ()
    """For in-place rebuilds without slots: the consumer's own tables, emptied first."""
    settle: Callable[[AsyncSession], Awaitable[object]] | None = None
    """For in-place rebuilds without slots: run in one transaction once the replay is done
    (reviews: recount the turnout counts from the rebuilt roster)."""


def rebuildable(service: str) -> Rebuildable:
    if service == "scoring":
        from services.scoring.app import CONSUMES, READ_MODEL
        from services.scoring.projections import apply as scoring_apply

        return Rebuildable("scoring", CONSUMES, scoring_apply, READ_MODEL)
    if service == "reviews":
        from services.reviews import persistence as rv
        from services.reviews.app import CONSUMES as REVIEWS_CONSUMES
        from services.reviews.projections import apply as reviews_apply
        from services.reviews.projections.turnout_counts import recount

        return Rebuildable(
            "reviews",
            tuple(REVIEWS_CONSUMES),
            reviews_apply,
            None,
            tuple(rv.ROSTER_TABLES),
            settle=recount,
        )
    raise typer.BadParameter(f"{service} has no read model to rebuild; scoring or reviews")


def _signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def _empty(db: Database, consumer: str, tables: tuple[SqlTable, ...]) -> None:
    """In place without slots: the consumer's tables and checkpoints, in one transaction."""
    async with db.transaction() as session:
        for table in reversed(tables):
            await session.execute(delete(table))
        for table in (consumer_offsets, consumer_streams, dead_letters):
            await session.execute(delete(table).where(table.c.consumer == consumer))


async def run_rebuild(
    service: str,
    *,
    db: Database,
    bootstrap: str,
    in_place: bool,
    switch: bool = True,
    accept_differences: bool = False,
    drop_old: bool = False,
    show_progress: bool = True,
    stop: asyncio.Event | None = None,
    fold_processes: int = 2,
    fold_parallel_records: int = 200_000,
    verifier: Verifier | None = None,
) -> RebuildReport:
    """The library entry point (the CLI, the tests and the benchmarks call this).
    ``fold_processes``: worker processes of the fold into an empty slot; below
    ``fold_parallel_records`` records it runs in this process."""
    target = rebuildable(service)
    settings = Settings(service=service, broker_url=bootstrap)
    profile = settings.kafka()
    # Records are checked as the live consumer checks them: signed by their topic's service.
    verifier = verifier if verifier is not None else settings.verifier()
    inline = target.read_model is None
    if inline and not in_place:
        raise SlotError(
            f"{service}'s projection lives with its own data (ballots are checked against it "
            "in the same transaction): rebuild it with --in-place on a stopped service"
        )
    spec = target.read_model or ReadModelSpec(target.consumer, MetaData(), "inline")
    model = ReadModel(spec, db)
    with _progress() as progress:
        task = progress.add_task(f"rebuild {service}", total=None)

        def advance(done: int, total: int) -> None:
            if show_progress:
                progress.update(task, completed=done, total=max(total, done))

        job = Rebuild(
            model,
            consumer_name=target.consumer,
            topics=target.topics,
            registry=REGISTRY,
            apply=(spec.catch_up or target.apply),
            settle=spec.settle,
            bootstrap=bootstrap,
            consumer_settings=profile.consumer_kwargs(),
            progress=advance,
            stop=stop,
            fold_processes=fold_processes,
            fold_parallel_records=fold_parallel_records,
            verifier=verifier,
            security=profile.security,
        )
        try:
            if inline:
                await _empty(db, target.consumer, target.tables)
                report = await job.replay_into(db, RebuildReport(service, "own", "in-place"))
                if target.settle is not None:
                    async with db.transaction() as session:
                        await target.settle(session)
                return report
            return await job.run(
                in_place=in_place,
                switch=switch,
                accept_differences=accept_differences,
                drop_old=drop_old,
            )
        finally:
            await model.dispose()


def _report(report: RebuildReport, as_json: bool) -> None:
    if as_json:
        emit(report.as_dict(), True)
        return
    console.print(
        f"[bold]{report.read_model}[/]: {report.mode} into slot [bold]{report.slot}[/]"
        f"{' (resumed)' if report.resumed else ''}: {report.records:,} records, "
        f"{report.applied:,} applied in {report.seconds:.1f}s ({report.rate:,.0f}/s)"
    )
    if report.interrupted:
        console.print("[yellow]interrupted: run the same command again to resume[/]")
        return
    if report.comparisons:
        table = Table(title=f"live ({report.previous}) vs rebuilt ({report.slot})")
        for column in ("table", "live rows", "rebuilt rows", "checksum", "verdict"):
            table.add_column(column)
        for c in report.comparisons:
            table.add_row(
                c.table,
                f"{c.live_rows:,}",
                f"{c.rebuilt_rows:,}",
                c.rebuilt_checksum[:12],
                "[green]equal[/]" if c.equal else f"[red]{c.differences} differ[/]",
            )
        console.print(table)
        for c in report.comparisons:
            for example in c.examples:
                console.print(f"  {c.table}: {example.describe()}")
    if report.switched:
        console.print(f"[green]reads switched to {report.slot}[/] (was {report.previous})")
    elif report.mode == "blue-green":
        console.print(f"[yellow]not switched[/]: {report.previous} keeps serving")
    if report.dropped:
        console.print(f"slot {report.dropped} dropped")


def rebuild(
    service: Annotated[str, typer.Argument(help="scoring or reviews")],
    in_place: Annotated[
        bool, typer.Option("--in-place", help="stopped system: rebuild the active slot itself")
    ] = False,
    no_switch: Annotated[
        bool, typer.Option("--no-switch", help="build and verify, leave reads where they are")
    ] = False,
    accept_differences: Annotated[
        bool,
        typer.Option(
            "--accept-differences",
            help="switch even when the rebuilt tables differ (a changed projection)",
        ),
    ] = False,
    drop_old: Annotated[
        bool, typer.Option("--drop-old", help="drop the previous slot after the switch")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="show the slots and which one serves; no rebuild")
    ] = False,
    drop_retired: Annotated[
        bool, typer.Option("--drop-retired", help="drop the retired slot; no rebuild")
    ] = False,
    broker: BrokerOpt = None,
    database_url: DbOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rebuild SERVICE's read model from offset 0: blue/green while the service runs (build
    the other slot, verify it against the live one, switch reads), or --in-place when it is
    stopped. Ctrl-C stops between batches; run it again to resume."""
    if status:
        show_status(service, database_url, as_json)
        return
    if drop_retired:
        drop(service, database_url)
        return
    bootstrap = resolve_broker(broker)
    who = operator_identity()
    how = "in place" if in_place else ("blue/green" + (", no switch" if no_switch else ""))

    async def run() -> RebuildReport:
        stop = asyncio.Event()
        _signals(stop)
        db = service_database(service, database_url)
        try:
            async with db.transaction() as session:
                await record(session, service, "rebuild", how, who)
            return await run_rebuild(
                service,
                db=db,
                bootstrap=bootstrap,
                in_place=in_place,
                switch=not no_switch,
                accept_differences=accept_differences,
                drop_old=drop_old,
                show_progress=not as_json,
                stop=stop,
            )
        finally:
            await db.dispose()

    try:
        report = asyncio.run(run())
    except SlotError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    _report(report, as_json)
    if report.interrupted:
        raise typer.Exit(130)
    if report.verified is False and not accept_differences:
        raise typer.Exit(1)


def _model(service: str, database_url: str | None) -> ReadModel:
    target = rebuildable(service)
    if target.read_model is None:
        raise typer.BadParameter(f"{service}'s projection has no slots")
    return ReadModel(target.read_model, service_database(service, database_url))


def show_status(service: str, database_url: str | None, as_json: bool) -> None:
    """The slots of SERVICE's read model and which one serves reads."""

    async def run() -> list[dict[str, Any]]:
        model = _model(service, database_url)
        try:
            return [
                {
                    "slot": s.slot,
                    "state": s.state,
                    "version": s.version,
                    "started_at": s.started_at.isoformat(),
                    "switched_at": s.switched_at.isoformat() if s.switched_at else None,
                }
                for s in (await model.slots()).values()
            ]
        finally:
            await model.dispose()
            await model.db.dispose()

    rows = asyncio.run(run())
    table = Table(title=f"{service} read model")
    for column in ("slot", "state", "version", "started_at", "switched_at"):
        table.add_column(column)
    emit(rows, as_json, table)


def drop(service: str, database_url: str | None) -> None:
    """Drop the retired slot of SERVICE's read model (never the active one)."""

    async def run() -> str:
        model = _model(service, database_url)
        try:
            active = await model.ensure_active()
            retired = other(active)
            slots = await model.slots()
            if retired not in slots or slots[retired].state == "dropped":
                raise SlotError(f"{service}: no retired slot to drop ({active} is active)")
            if slots[retired].state == "building":
                raise SlotError(f"{service}: slot {retired} is being built; let it finish")
            await model.drop_tables(retired)
            await model.mark(retired, "dropped")
            return retired
        finally:
            await model.dispose()
            await model.db.dispose()

    try:
        console.print(f"slot {asyncio.run(run())} dropped")
    except SlotError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
