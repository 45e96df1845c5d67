"""``wbplay triage --host GROUP``: the PCs grouped by the playbook that best explains their
failures, each group with the command that runs it, the unreadable PCs one by one."""

from __future__ import annotations

import typer

from wbplay.cli.common import out
from wbplay.cli.fleet import ProgressLine, _names
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import multiline, plain
from wbplay.errors import ExitCode
from wbplay.hosts.factory import ConnectOptions
from wbplay.run.fleet_review import worst

app_mod = lazy_module("wbplay.app")


def triage_fleet(
    hosts: list[str],
    *,
    error: str | None,
    since_days: int,
    connect: ConnectOptions,
    forks: int,
    timeout_per_host: float | None,
) -> None:
    progress = ProgressLine(f"triage of {len(hosts)} PC(s), {min(forks, len(hosts))} at a time")
    try:
        results, not_started = app_mod.triage_many(
            hosts,
            error=error,
            since_days=since_days,
            connect=connect,
            forks=forks,
            timeout_per_host_s=timeout_per_host,
            on_progress=progress,
        )
    finally:
        progress.end()
    out.rule("[bold]fleet triage[/]")
    read = [t for t in results if t.result is not None]
    out.print(f"  {len(read)} of {len(hosts)} PC(s) read", highlight=False)
    for best, members in app_mod.fleet_triage_groups(results):
        codes = sorted({c for t in members for c in t.codes})
        seen = f" ({', '.join(codes)})" if codes else ""
        names = [t.host for t in members]
        if best:
            out.print(f"  {len(members)} PC(s): {plain(best)}{plain(seen)}", highlight=False)
            out.print(f"    wbplay run {plain(best)} --host {plain(','.join(names))}", highlight=False)
        else:
            out.print(f"  {len(members)} PC(s): no playbook matched{plain(seen)}", highlight=False)
            out.print(f"    {plain(_names(names))}", style="dim", highlight=False)
    for t in results:
        if t.result is None:
            out.print(f"  {plain(t.host)}: exit {int(t.exit_code)}: {multiline(t.error)}", highlight=False)
    code = worst(t.exit_code for t in results)
    if not_started:
        out.print(f"  not started (interrupted): {len(not_started)} PC(s): {plain(_names(not_started))}")
        code = worst([code, ExitCode.INTERRUPTED])
    raise typer.Exit(int(code))
