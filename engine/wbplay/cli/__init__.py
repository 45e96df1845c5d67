"""The command line: parse, call :mod:`wbplay.app`, render.  No logic lives here.

This module only assembles the typer app from the command groups (run, library,
journal, lab, author, doctor) and holds ``main``, the ``wbplay`` entry point.  Exit codes are
documented in the README and in :class:`wbplay.errors.ExitCode`.
"""

from __future__ import annotations

import signal
import warnings
from typing import Annotated

import typer

from wbplay import __version__
from wbplay.cli import author, doctor, export, inventory, journal, lab, library, results, run
from wbplay.cli.common import err, out
from wbplay.cli.text import multiline

app = typer.Typer(
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # never print locals: they can hold credentials
    add_completion=False,
    help="Declarative playbooks that diagnose and fix Windows Backup, with dry-run, rollback and step logs.",
)
app.add_typer(lab.sim_app, name="sim")
app.add_typer(export.export_app, name="export")
app.add_typer(results.results_app, name="results")


def _version(value: bool) -> None:
    if value:
        out.print(f"wbplay {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print wbplay's version and exit"),
    ] = False,
) -> None:
    """Declarative playbooks that diagnose and fix Windows Backup, with dry-run, rollback and step logs."""

# Registration order is the order `wbplay --help` lists the commands in.
app.command()(run.run)
app.command()(run.plan)
app.command()(run.apply)
app.command()(library.validate)
app.command("list")(library.list_)
app.command()(library.show)
app.command()(journal.runs)
app.command()(journal.log)
app.command()(journal.rollback)
app.command()(run.resume)
app.command(epilog=lab.LAB_ACCOUNT)(lab.lab)
app.command("inventory")(inventory.inventory)
app.command("triage")(library.triage_cmd)
app.command("test")(library.test_cmd)
app.command()(author.new)
app.command()(author.lint)
app.command()(author.doc)
app.command()(author.schema)
app.command()(doctor.doctor)


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    err.print(f"[yellow]warning:[/] {multiline(message)}", highlight=False)


def _terminated(signum: int, frame: object) -> None:
    # SIGTERM ends a run the way Ctrl-C does: the open shell is deleted, the journal closed.
    raise KeyboardInterrupt


def main() -> None:
    warnings.showwarning = _show_warning  # type: ignore[assignment]
    signal.signal(signal.SIGTERM, _terminated)
    app()
