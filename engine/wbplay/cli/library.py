"""Commands about the playbook library, touching no host but triage's read-only look:
``validate``, ``list``, ``show``, ``triage`` and ``test``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from wbplay.cli import fleet, render, render_library
from wbplay.cli.common import InsecureOpt, InventoryOpt, TransportOpt, fail, out
from wbplay.cli.console import ConsoleListener
from wbplay.cli.lazy import lazy_module
from wbplay.errors import ExitCode, UsageError, WbplayError
from wbplay.hosts.factory import ConnectOptions, expand

app_mod = lazy_module("wbplay.app")
scenarios_mod = lazy_module("wbplay.library.scenarios")


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Playbook files or folders")],
) -> None:
    """Check playbooks without touching any host; exits 2 if any is invalid."""
    try:
        results = app_mod.validate(paths)
    except WbplayError as e:
        raise fail(e) from None
    render.validation(out, results)
    raise typer.Exit(int(ExitCode.INVALID) if any(r.error for r in results) else 0)


def list_() -> None:
    """The playbook library, with titles and the error codes each one handles."""
    try:
        render.library(out, app_mod.library())
    except WbplayError as e:
        raise fail(e) from None


def show(playbook: Annotated[str, typer.Argument(help="A playbook file or name")]) -> None:
    """A playbook's steps as a table: check, expectation, remedy and risk."""
    try:
        render.playbook(out, app_mod.load_playbook(playbook))
    except WbplayError as e:
        raise fail(e) from None


def triage_cmd(
    host: Annotated[
        str | None,
        typer.Option("--host", "-H", help="Read this PC's recent backup failures (sim:NAME, local, ...)"),
    ] = None,
    error: Annotated[
        str | None,
        typer.Option(
            "--error", "-E", help="A pasted error code or message (English or Japanese); works offline"
        ),
    ] = None,
    since_days: Annotated[int, typer.Option("--since-days", help="How far back to read events")] = 30,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    run: Annotated[
        bool,
        typer.Option("--run", help="Run the best match on --host, for the failure it matched (asks first)"),
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="With --run: change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --run: apply without asking")] = False,
    forks: fleet.ForksOpt = fleet.DEFAULT_FORKS,
    timeout_per_host: fleet.TimeoutPerHostOpt = None,
    limit: fleet.LimitOpt = None,
) -> None:
    """Which playbook fixes this failure? Ranks the library with the evidence that matched.

    With several PCs (a group, a list): each PC read --forks at a time, grouped by best match."""
    if not host and not error:
        raise fail(UsageError("give --error TEXT (offline) or --host H (read its backup events)"))
    if run and not host:
        raise fail(UsageError("--run needs --host H: the PC to run the best match on"))
    connect = ConnectOptions(inventory, transport, insecure_skip_tls_verify, limit=limit)
    try:
        hosts = expand(host, connect) if host else []
        if host and not hosts:
            raise UsageError(f"--host {host} names no PC (check --limit)")
        if len(hosts) > 1:
            if run:
                raise UsageError(
                    "--run takes one PC: with several, triage prints each group's `wbplay run` command "
                    "(each group's PCs share a best match); run those"
                )
            from wbplay.cli.fleet_triage import triage_fleet

            triage_fleet(
                hosts,
                error=error,
                since_days=since_days,
                connect=connect,
                forks=forks,
                timeout_per_host=timeout_per_host,
            )
    except WbplayError as e:
        raise fail(e) from None
    try:
        result = app_mod.triage(
            error=error,
            host_spec=hosts[0] if hosts else None,
            since_days=since_days,
            connect=connect,
        )
    except WbplayError as e:
        raise fail(e) from None
    render_library.triage(out, result)
    if run and host:
        _run_best(result, host, dry_run, yes, ConnectOptions(inventory, transport, insecure_skip_tls_verify))
    raise typer.Exit(0 if result.matches else int(ExitCode.PENDING))


def _run_best(result: Any, host: str, dry_run: bool, yes: bool, connect: ConnectOptions) -> None:
    """Carry triage's answer over into a run: the playbook, what it is for, the target."""
    from wbplay.cli.run import _ask_manual, _confirm, _finish

    try:
        req = app_mod.run_request_from_triage(result, host, dry_run=dry_run, connect=connect)
        report, journal_path = app_mod.run(
            req,
            listener=ConsoleListener(out),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            ask_manual=_ask_manual if sys.stdin.isatty() else None,
        )
    except WbplayError as e:
        raise fail(e) from None
    _finish(out, report, str(journal_path), False)


def test_cmd(
    playbooks: Annotated[
        list[str] | None,
        typer.Argument(help="Playbooks (or scenario files) to test; default: the whole library"),
    ] = None,
) -> None:
    """Run playbooks' scenarios on simulated PCs and report like pytest; exits 1 if any fails."""
    started = time.monotonic()
    try:
        paths = scenarios_mod.discover(playbooks or [])
    except WbplayError as e:
        raise fail(e) from None
    results = []
    for r in scenarios_mod.run_files(paths):
        render_library.scenario(out, r)
        results.append(r)
    render_library.scenario_summary(out, results, time.monotonic() - started)
    raise typer.Exit(1 if any(not r.passed for r in results) or not results else 0)
