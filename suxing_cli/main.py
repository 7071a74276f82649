"""The ``suxing`` command line (typer + rich)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from shared.contracts.topics import SERVICES

app = typer.Typer(help="塑形 Suxing: event-sourced services for the party-member shaping project.")
console = Console()


@app.callback()
def main() -> None:
    """Operate Suxing."""


@app.command()
def up(
    services: Annotated[str, typer.Option(help="comma-separated services to start")] = ",".join(
        SERVICES
    ),
    base_port: Annotated[
        int | None,
        typer.Option(help="first HTTP port (0 = pick free ports); default 8101, 8102, 8103"),
    ] = None,
    empty: Annotated[
        bool, typer.Option("--empty", help="start on an empty database: no demo company")
    ] = False,
    portal: Annotated[bool, typer.Option(help="also start the web portal")] = True,
) -> None:
    """Start the embedded broker, every service and the web portal; Ctrl-C stops them all.
    On an empty database the demo company is loaded through the APIs unless --empty."""
    from suxing_cli.up import run_up

    # SIGTERM (e.g. from a supervisor or a test) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = run_up(
        services=[s.strip() for s in services.split(",") if s.strip()],
        base_port=base_port,
        console=console,
        portal=portal,
        demo=not empty,
    )
    raise typer.Exit(code)


roster_app = typer.Typer(help="The roster (花名册) of the pledges service.")
app.add_typer(roster_app, name="roster")


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="UTF-8 CSV file")],
    url: Annotated[str, typer.Option(help="the pledges service")] = "http://127.0.0.1:8101",
    token: Annotated[
        str | None,
        typer.Option(envvar="SUXING_TOKEN", help="bearer token; default: an embedded operator's"),
    ] = None,
) -> None:
    """Import a roster file: checked line by line, applied all or nothing, idempotent."""
    from shared.settings import Settings
    from suxing_cli.roster import import_file

    raise typer.Exit(import_file(file, url=url, token=token, settings=Settings(), console=console))


@app.command()
def token(
    person: Annotated[str, typer.Option(help="person id (the token's subject)")],
    roles: Annotated[
        str, typer.Option(help="comma-separated: member, employee, branch_committee, ...")
    ],
    branch: Annotated[str | None, typer.Option(help="the person's branch id")] = None,
    unit: Annotated[str | None, typer.Option(help="the person's unit id")] = None,
    name: Annotated[str | None, typer.Option(help="display name; default: the person id")] = None,
) -> None:
    """Print a bearer token signed with the embedded profile's secret."""
    from shared.settings import Settings
    from suxing_cli.roster import issue_token

    try:
        value = issue_token(
            Settings(),
            person=person,
            name=name,
            roles=[r.strip() for r in roles.split(",") if r.strip()],
            branch=branch,
            unit=unit,
        )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    typer.echo(value)


@app.command()
def migrate(
    services: Annotated[
        list[str] | None, typer.Argument(help="services to migrate (default: all)")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="database of the (single) service named")
    ] = None,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Upgrade each service's database to the latest (or given) migration."""
    from shared.migrations import upgrade
    from shared.settings import Settings

    names = services or list(SERVICES)
    if database_url and len(names) != 1:
        raise typer.BadParameter("--database-url needs exactly one service")
    for name in names:
        if name not in SERVICES:
            raise typer.BadParameter(f"unknown service {name!r}")
        settings = Settings(service=name)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = database_url or settings.resolved_database_url()
        upgrade(name, url, revision)
        console.print(f"{name}: migrated to {revision}")


keys_app = typer.Typer(help="Event signing keys (docs/signing.md).")
app.add_typer(keys_app, name="keys")
KeysDirOpt = Annotated[
    Path | None,
    typer.Option(help="the keys directory; default: SUXING_KEYS_DIR, else <data dir>/keys"),
]


@keys_app.command("new")
def keys_new(
    service: Annotated[str, typer.Option(help="whose key: pledges, reviews or scoring")],
    keys_dir: KeysDirOpt = None,
) -> None:
    """Create a signing key pair: <service>.<id>.key (0600) and .pub. The service signs with
    its newest key from its next start; consumers trust the new .pub as soon as they meet it
    (copy the .pub to every service's keys directory first when they do not share one)."""
    from shared.settings import Settings
    from shared.signing import create_key_pair, new_key_id

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}")
    directory = keys_dir or Settings(service=service).resolved_keys_dir()
    key = create_key_pair(directory, new_key_id(service))
    console.print(f"{key.key_id}: {directory / (key.key_id + '.key')} (and .pub)")


@keys_app.command("ensure")
def keys_ensure(keys_dir: KeysDirOpt = None) -> None:
    """Create a key pair for each service that has none in the directory (idempotent: the
    one-shot job of a single-host deployment, docker-compose.yml)."""
    from shared.settings import Settings
    from shared.signing import load_signing_key

    directory = keys_dir or Settings().resolved_keys_dir()
    for service in SERVICES:
        key = load_signing_key(directory, service, create=True)
        console.print(f"{service}: signs with {key.key_id}")


@keys_app.command("list")
def keys_list(keys_dir: KeysDirOpt = None) -> None:
    """The public keys a consumer reading this directory trusts, and which have private keys."""
    from shared.settings import Settings
    from shared.signing import Keyring

    directory = keys_dir or Settings().resolved_keys_dir()
    for key_id in Keyring(directory).key_ids():
        private = (directory / f"{key_id}.key").exists()
        typer.echo(f"{key_id}\t{'private and public' if private else 'public'}")


def _register_operator_commands() -> None:
    from suxing_cli import ops

    app.add_typer(ops.topics_app, name="topics")
    app.command("lag")(ops.lag)
    app.command("republish")(ops.republish)
    app.command("verify-log")(ops.verify_log_command)
    app.command("seal")(ops.seal)
    app.command("tail")(ops.tail)
    from suxing_cli.rebuild import rebuild

    app.command("rebuild")(rebuild)
    app.command("export")(ops.export)


_register_operator_commands()

if __name__ == "__main__":
    app()
