"""``wbplay rollback`` over several runs or a whole fleet run: one question, a progress line,
a table per outcome (each PC with its runs), the worst PC's exit code."""

from __future__ import annotations

import typer
from rich.prompt import Confirm

from wbplay.cli.common import err, out
from wbplay.cli.fleet import ProgressLine, _interactive, _names, _Quiet
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import multiline, plain
from wbplay.errors import ExitCode
from wbplay.hosts.factory import ConnectOptions
from wbplay.run.fleet_review import worst
from wbplay.run.rollback import UndoPolicy

app_mod = lazy_module("wbplay.app")


def rollback_fleet(
    run_ids: list[str],
    fleet: str | None,
    *,
    yes: bool,
    dry_run: bool,
    policy: UndoPolicy,
    connect: ConnectOptions,
    forks: int,
    timeout_per_host: float | None,
) -> None:
    runs = app_mod.runs_to_undo(run_ids, fleet)
    pcs = {r.host for r in runs}
    changes = sum(r.changes for r in runs)
    what = f"fleet {fleet}" if fleet else f"{len(runs)} run(s)"
    out.rule(f"[bold]rollback of {plain(what)}[/]")
    out.print(
        f"  {len(runs)} run(s) on {len(pcs)} PC(s); their journals hold {changes} change(s) to undo "
        "(each value is re-read first; one changed since is left as a conflict unless --force)",
        highlight=False,
    )
    if not yes and not dry_run and changes:
        if not _interactive():
            err.print(
                "[yellow]stdin is not a terminal: nothing was changed. See what each PC would undo "
                "with --dry-run, then run again with --yes.[/]"
            )
            raise typer.Exit(int(ExitCode.PENDING))
        if not Confirm.ask(f"Undo {changes} change(s) on {len(pcs)} PC(s)?", default=False, console=err):
            raise typer.Exit(int(ExitCode.PENDING))
    label = "rollback dry-run" if dry_run else "rollback"
    progress = ProgressLine(f"{label} of {len(pcs)} PC(s), {min(forks, len(pcs))} at a time")
    try:
        outcomes, not_started = app_mod.rollback_many(
            runs,
            listener_for=lambda h: _Quiet(),
            connect=connect,
            policy=policy,
            dry_run=dry_run,
            forks=forks,
            timeout_per_host_s=timeout_per_host,
            on_progress=progress,
        )
    finally:
        progress.end()
    raise typer.Exit(print_rollback_table(outcomes, not_started))


def print_rollback_table(outcomes: list[app_mod.PcUndone], not_started: list[str]) -> int:
    """A table per outcome, each PC with its runs; returns the worst PC's exit code."""
    out.rule("[bold]all hosts[/]")
    by: dict[int, list[app_mod.PcUndone]] = {}
    for o in outcomes:
        by.setdefault(int(o.exit_code), []).append(o)
    for code, members in sorted(by.items()):
        out.print(f"  exit {code}: {len(members)} PC(s)", highlight=False)
        for o in sorted(members, key=lambda o: o.host):
            for r in o.runs:
                line = f"    {plain(o.host)}: {plain(r.run_id)}: {multiline(r.message)}"
                out.print(line, style="dim", highlight=False)
    code = worst(o.exit_code for o in outcomes)
    if not_started:
        out.print(f"  not started (interrupted): {len(not_started)} PC(s): {plain(_names(not_started))}")
        code = worst([code, ExitCode.INTERRUPTED])
    return int(code)
