"""Commands that read past runs from their journals: ``runs``, ``log`` and ``rollback``."""

from __future__ import annotations

from typing import Annotated

import typer

from wbplay.cli import render
from wbplay.cli.common import InsecureOpt, InventoryOpt, TransportOpt, fail, out
from wbplay.cli.console import ConsoleListener
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import plain
from wbplay.errors import WbplayError
from wbplay.hosts.factory import ConnectOptions

app_mod = lazy_module("wbplay.app")
journal = lazy_module("wbplay.run.journal")


def runs() -> None:
    """Past runs, from their journals."""
    render.runs(out, list(journal.summaries()))


def log(run_id: Annotated[str, typer.Argument(help="A run id (a unique prefix is enough)")]) -> None:
    """One run's journal, event by event."""
    try:
        render.log(out, journal.read(run_id))
    except WbplayError as e:
        raise fail(e) from None


def rollback(
    run_id: Annotated[str, typer.Argument(help="The run to undo (see `wbplay runs`)")],
    host: Annotated[
        str | None, typer.Option("--host", "-H", help="Override the host named in the journal")
    ] = None,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
) -> None:
    """Undo a finished, failed or interrupted run from its journal, newest change first."""
    try:
        result = app_mod.rollback_run(
            run_id,
            host_spec=host,
            listener=ConsoleListener(out),
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
        )
    except WbplayError as e:
        raise fail(e) from None
    for o in result.outcomes:
        out.print(f"  {plain(o.step_id)}: {o.status} ({plain(o.detail)})", highlight=False)
    for note in result.notes:
        out.print(f"  note: {plain(note)}", highlight=False)
    unconfirmed = [o.step_id for o in result.outcomes if o.status == "unconfirmed"]
    if unconfirmed:
        out.print(f"[red]Could not confirm: {plain(', '.join(unconfirmed))}[/]")
    raise typer.Exit(int(result.exit_code))
