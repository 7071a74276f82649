"""The ``suxing`` command line (typer + rich)."""

from __future__ import annotations

import signal
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
) -> None:
    """Start the embedded broker and every service; Ctrl-C stops them all."""
    from suxing_cli.up import run_up

    # SIGTERM (e.g. from a supervisor or a test) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = run_up(
        services=[s.strip() for s in services.split(",") if s.strip()],
        base_port=base_port,
        console=console,
    )
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
