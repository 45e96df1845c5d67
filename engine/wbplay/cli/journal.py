"""Commands that read past runs from their journals: ``runs``, ``log`` and ``rollback``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from rich.prompt import Confirm

from wbplay.cli import fleet as fleet_cli
from wbplay.cli import render
from wbplay.cli.common import InsecureOpt, InventoryOpt, TransportOpt, err, fail, out
from wbplay.cli.console import ConsoleListener
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import plain
from wbplay.errors import UsageError, WbplayError
from wbplay.hosts.factory import ConnectOptions
from wbplay.run.rollback import UndoPolicy
from wbplay.run.rollback_run import RollbackPlan

app_mod = lazy_module("wbplay.app")
journal = lazy_module("wbplay.run.journal")


def runs(
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="Show only the newest N runs")] = None,
    host: Annotated[
        str | None, typer.Option("--host", "-H", help="Only runs on hosts whose name contains this")
    ] = None,
    playbook: Annotated[
        str | None, typer.Option("--playbook", "-p", help="Only runs of this playbook")
    ] = None,
    fleet: Annotated[
        str | None, typer.Option("--fleet", help="Only the runs of this fleet run (its id ends its output)")
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete old journals of runs that ended or were rolled back")
    ] = False,
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="With --prune: an age such as 90d, 12h or 2w")
    ] = None,
) -> None:
    """Past runs, newest first, one line each (full run ids); or delete old journals with --prune."""
    try:
        if prune:
            if not older_than:
                raise UsageError("--prune needs --older-than AGE (e.g. --older-than 90d)")
            render.pruned(out, app_mod.prune_runs(older_than))
            return
        if older_than:
            raise UsageError("--older-than only goes with --prune")
        if limit is not None and limit < 1:
            raise UsageError("--limit must be at least 1")
        render.runs(out, app_mod.runs(host=host, playbook=playbook, limit=limit, fleet=fleet))
    except WbplayError as e:
        raise fail(e) from None


def log(
    run_id: Annotated[
        str | None, typer.Argument(help="A run id (a unique prefix is enough); with --host, optional")
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", "-H", help="Read the journals exported scripts wrote on this PC instead"),
    ] = None,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
) -> None:
    """One run's journal, event by event; with --host, the PC-side runs (wbplay export) listed or shown."""
    try:
        if host is not None:
            connect = ConnectOptions(inventory, transport, insecure_skip_tls_verify)
            if run_id is None:
                for r in app_mod.pc_runs(host, connect):
                    out.print(f"{plain(r.get('name'))}  {plain(r.get('size'))} bytes", highlight=False)
                return
            found = app_mod.pc_journal(run_id, host, connect)
        elif run_id is None:
            raise UsageError("give a run id (see wbplay runs), or --host H to list the PC's own journals")
        else:
            found = journal.load(run_id)
    except WbplayError as e:
        raise fail(e) from None
    render.log(out, found.records)
    for d in found.damage:
        out.print(f"[yellow]damaged[/] {plain(d.describe())}", highlight=False)


def _confirm(yes: bool, shown: list[RollbackPlan]) -> Callable[[RollbackPlan], bool]:
    def confirm(plan: RollbackPlan) -> bool:
        render.rollback_plan(out, plan)
        shown.append(plan)
        n = len(plan.undoes)
        if yes:
            return True
        if not sys.stdin.isatty():
            err.print(
                f"[yellow]{n} undo(s) planned, but stdin is not a terminal: nothing was changed. "
                "Review the lines above and run again with --yes to undo them.[/]",
                highlight=False,
            )
            return False
        return Confirm.ask(f"Undo {n} change(s) on {plain(plan.pc.describe())}?", default=False, console=err)

    return confirm


def rollback(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(help="The run(s) to undo (see `wbplay runs`); several: PCs --forks at a time"),
    ] = None,
    fleet: Annotated[
        str | None,
        typer.Option("--fleet", help="Undo every run of this fleet run (its id ends the fleet's output)"),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            "-H",
            help="Override the host named in the journal; a run journaled on the PC is read from it",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Undo without asking for confirmation")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would be undone; change nothing")
    ] = False,
    allow: Annotated[
        list[str],
        typer.Option("--allow", help="Consent to an undo that is itself irreversible, by step (repeatable)"),
    ] = [],  # noqa: B006 - typer reads the default, it is never mutated
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also undo values changed since the run, and roll back a journal that does not name its PC",
        ),
    ] = False,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    forks: fleet_cli.ForksOpt = fleet_cli.DEFAULT_FORKS,
    timeout_per_host: fleet_cli.TimeoutPerHostOpt = None,
) -> None:
    """Undo a finished, failed or interrupted run from its journal, newest change first.

    Shows what it will undo and asks first (or --yes); each value is re-read, and one
    that changed since the run is left as a conflict unless --force.  Several runs, or
    --fleet ID: one question for all, one PC's runs in turn, PCs --forks at a time.
    """
    ids = run_ids or []
    connect = ConnectOptions(inventory, transport, insecure_skip_tls_verify)
    policy = UndoPolicy(allow=frozenset(allow), force=force)
    if not ids and not fleet:
        raise fail(UsageError("name the run to undo (see `wbplay runs`), or --fleet ID"))
    if fleet or len(ids) > 1:
        if host:
            raise fail(UsageError("--host overrides one run's PC: give one run id with it, not several"))
        from wbplay.cli.fleet_rollback import rollback_fleet

        try:
            rollback_fleet(
                ids,
                fleet,
                yes=yes,
                dry_run=dry_run,
                policy=policy,
                connect=connect,
                forks=forks,
                timeout_per_host=timeout_per_host,
            )
        except WbplayError as e:
            raise fail(e) from None
        return
    run_id = ids[0]
    shown: list[RollbackPlan] = []
    try:
        result = app_mod.rollback_run(
            run_id,
            host_spec=host,
            listener=ConsoleListener(out),
            connect=connect,
            policy=policy,
            dry_run=dry_run,
            confirm=_confirm(yes, shown),
        )
    except WbplayError as e:
        raise fail(e) from None
    if dry_run and result.plan is not None:
        render.rollback_plan(out, result.plan)
        shown.append(result.plan)
    render.rollback_result(out, result, plan_shown=bool(shown))
    raise typer.Exit(int(result.exit_code))
