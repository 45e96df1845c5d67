"""A run over many PCs: the fleet review, one question, a live progress line, a table per outcome."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.prompt import Confirm

from wbplay.cli.common import err, out
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import multiline, plain
from wbplay.errors import ExitCode
from wbplay.hosts.factory import ConnectOptions
from wbplay.run.fleet import Progress, new_fleet_id
from wbplay.run.fleet_review import FleetReview, HostOutcome, change_set, worst

app_mod = lazy_module("wbplay.app")
report_mod = lazy_module("wbplay.report")

ForksOpt = Annotated[int, typer.Option("--forks", min=1, help="How many PCs to work on at once")]
TimeoutPerHostOpt = Annotated[
    float | None,
    typer.Option("--timeout-per-host", min=0.1, help="Seconds one PC may take before it is told to stop"),
]
LimitOpt = Annotated[
    str | None,
    typer.Option("--limit", help="Narrow the PCs: globs and groups, comma-separated; !NAME excludes"),
]
DEFAULT_FORKS = 10


class _Quiet:
    """A fleet prints no step lines (hundreds of PCs would interleave them): the journal has them."""

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        return None


class ProgressLine:
    """``done / running / failed / left, elapsed, ETA`` on stderr, redrawn in place on a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = err.is_terminal
        self._last = 0.0
        self._open = False  # a line is drawn without its newline yet
        self._lock = threading.Lock()

    def __call__(self, p: Progress) -> None:
        with self._lock:
            now = time.monotonic()
            final = p.done == p.total
            if not final and now - self._last < (0.2 if self.tty else 5.0):
                return
            self._last = now
            eta = f", ETA {p.eta_s:.0f} s" if p.eta_s is not None and not final else ""
            line = (
                f"{self.label}: {p.done} done / {p.running} running / {p.failed} failed / {p.left} left, "
                f"{p.elapsed_s:.0f} s{eta}"
            )
            if self.tty:
                err.file.write("\r\x1b[2K" + line + ("\n" if final else ""))
                err.file.flush()
                self._open = not final
            else:
                err.print(line, highlight=False)

    def end(self) -> None:
        if self._open:
            err.file.write("\n")


def print_review(r: FleetReview, total: int) -> None:
    out.rule("[bold]fleet review[/]")
    out.print(f"  {len(r.compliant)} of {total} PC(s) compliant, {r.drifted} drift", highlight=False)
    for g in r.groups:
        changes = ", ".join(plain(c) for _, c in g.changes)
        out.print(f"  {len(g.hosts)} PCs: {changes}", highlight=False)
        out.print(f"    {plain(_names(g.hosts))}", style="dim", highlight=False)
    for o in r.outliers:
        if o.report is not None and o.exit_code in (ExitCode.OK, ExitCode.PENDING, ExitCode.NO_CAUSE):
            what = ", ".join(plain(c) for _, c in change_set(o.report)) or o.report.outcome
        else:
            what = f"exit {int(o.exit_code)}: {multiline(o.error or (o.report.outcome if o.report else ''))}"
        out.print(f"  {plain(o.host)}: {what}", highlight=False)


def _names(hosts: tuple[str, ...] | list[str], limit: int = 12) -> str:
    more = f" and {len(hosts) - limit} more" if len(hosts) > limit else ""
    return ", ".join(hosts[:limit]) + more


def print_table(outcomes: list[HostOutcome], not_started: list[str]) -> None:
    out.rule("[bold]all hosts[/]")
    by: dict[tuple[int, str], list[HostOutcome]] = {}
    for o in outcomes:
        by.setdefault((int(o.exit_code), o.outcome), []).append(o)
    for (code, outcome), members in sorted(by.items()):
        out.print(f"  exit {code} {plain(outcome)}: {len(members)} PC(s)", highlight=False)
        for o in members:
            detail = f"journal {plain(o.journal)}" if o.journal is not None else multiline(o.error)
            if o.report is not None and code in (int(ExitCode.NEEDS_ATTENTION), int(ExitCode.INTERRUPTED)):
                detail += f"; undo with: wbplay rollback {plain(o.report.run_id)}"
            out.print(f"    {plain(o.host)}: {detail}", style="dim", highlight=False)
    if not_started:
        out.print(f"  not started (interrupted): {len(not_started)} PC(s): {plain(_names(not_started))}")


def write_reports(
    outcomes: list[HostOutcome], not_started: list[str], specs: list[report_mod.ReportSpec]
) -> int:
    from wbplay.report import fleet as fleet_report  # lazily: --help imports no report writer

    code = int(worst(o.exit_code for o in outcomes))
    if not_started:
        code = int(worst([ExitCode(code), ExitCode.INTERRUPTED]))
    entries = [
        fleet_report.HostEntry(
            o.host, int(o.exit_code), o.outcome, app_mod.document(o.report) if o.report else None, o.error
        )
        for o in outcomes
    ]
    fleet_report.write(fleet_report.document(entries, code, not_started), specs)
    return code


def run_fleet(
    req: app_mod.RunRequest,
    hosts: list[str],
    specs: list[report_mod.ReportSpec],
    *,
    yes: bool,
    forks: int,
    timeout_per_host: float | None,
) -> None:
    """A dry-run of every PC, the review, one question; then the real run, where each PC must
    find exactly what its dry-run showed (else that PC alone is refused).  ``--yes`` skips the
    question and the separate dry-run."""
    guards = None
    if not req.dry_run and not yes:
        dry_req = dataclasses.replace(req, dry_run=True)
        dry, not_started = _fan_out(dry_req, hosts, forks, timeout_per_host, "dry-run")
        review = app_mod.fleet_review(dry)
        print_review(review, len(hosts))
        todo = [h for h in hosts if h in set(_drifting(dry))]
        if not_started or not todo:
            print_table(dry, not_started)
            raise typer.Exit(write_reports(dry, not_started, specs))
        if not _interactive():
            err.print(
                f"[yellow]{len(todo)} PC(s) would change, but stdin is not a terminal: nothing was "
                "changed. Review the summary and run again with --yes.[/]"
            )
            raise typer.Exit(write_reports(dry, [], specs))
        if not Confirm.ask(f"Apply these changes to {len(todo)} PC(s)?", default=False, console=err):
            raise typer.Exit(write_reports(dry, [], specs))
        guards = app_mod.guards_from(dry, req.allow)
        hosts = todo
    label = "dry-run" if req.dry_run else "run"
    fleet_id = "" if req.dry_run else new_fleet_id()
    outcomes, not_started = _fan_out(
        req, hosts, forks, timeout_per_host, label, guards=guards, fleet_id=fleet_id
    )
    if req.dry_run:
        print_review(app_mod.fleet_review(outcomes), len(hosts))
    print_table(outcomes, not_started)
    print_fleet_id(fleet_id)
    raise typer.Exit(write_reports(outcomes, not_started, specs))


def print_fleet_id(fleet_id: str) -> None:
    """Where a real fleet run's PCs can all be undone from (each journal records the id)."""
    if fleet_id:
        out.print(
            f"Fleet run {fleet_id}. Undo it on every PC with: wbplay rollback --fleet {fleet_id}",
            highlight=False,
        )


def _interactive() -> bool:
    return sys.stdin.isatty()


def _drifting(outcomes: list[HostOutcome]) -> list[str]:
    return [o.host for o in outcomes if o.report is not None and change_set(o.report)]


def _fan_out(
    req: app_mod.RunRequest,
    hosts: list[str],
    forks: int,
    timeout_per_host: float | None,
    label: str,
    guards: dict[str, Any] | None = None,
    fleet_id: str = "",
) -> tuple[list[HostOutcome], list[str]]:
    progress = ProgressLine(f"{label} of {len(hosts)} PC(s), {min(forks, len(hosts))} at a time")
    try:
        return app_mod.run_many(
            req,
            hosts,
            listener_for=lambda h: _Quiet(),
            confirm=lambda r: True,  # the fleet asked once, before any PC was changed
            forks=forks,
            timeout_per_host_s=timeout_per_host,
            on_progress=progress,
            guards=guards,
            fleet_id=fleet_id,
        )
    finally:
        progress.end()


def plan_fleet(
    req: app_mod.RunRequest, hosts: list[str], output: Path, specs: list[report_mod.ReportSpec], forks: int
) -> None:
    progress = ProgressLine(f"plan of {len(hosts)} PC(s), {min(forks, len(hosts))} at a time")
    try:
        doc, outcomes, not_started = app_mod.make_fleet_plan(
            req, hosts, output, forks=forks, on_progress=progress
        )
    finally:
        progress.end()
    print_review(app_mod.fleet_review(outcomes), len(hosts))
    code = write_reports(outcomes, not_started, specs)
    out.print(
        f"Fleet plan saved to {plain(output)}: {len(doc['plans'])} PC(s) planned, "
        f"{len(doc['unplanned'])} not, "
        f"digest {doc['digest']}. Review it, then: wbplay apply {plain(output)} --expect {doc['digest']}",
        highlight=False,
    )
    raise typer.Exit(code)


def apply_fleet(
    plan_file: Path,
    specs: list[report_mod.ReportSpec],
    *,
    yes: bool,
    allow_stale: bool,
    expect: str | None,
    trust: bool,
    connect: ConnectOptions,
    forks: int,
    timeout_per_host: float | None,
) -> None:
    if not yes:
        if not _interactive():
            err.print("[yellow]stdin is not a terminal: nothing was changed. Run again with --yes.[/]")
            raise typer.Exit(int(ExitCode.PENDING))
        if not Confirm.ask(f"Apply the fleet plan {plain(plan_file)}?", default=False, console=err):
            raise typer.Exit(int(ExitCode.PENDING))
    progress = ProgressLine(f"apply of {plain(plan_file)}, {forks} at a time")
    fleet_id = new_fleet_id()
    try:
        outcomes, not_started = app_mod.apply_fleet_plan(
            plan_file,
            allow_stale=allow_stale,
            expect=expect,
            trust=trust,
            connect=connect,
            forks=forks,
            timeout_per_host_s=timeout_per_host,
            on_progress=progress,
            fleet_id=fleet_id,
        )
    finally:
        progress.end()
    print_table(outcomes, not_started)
    print_fleet_id(fleet_id)
    raise typer.Exit(write_reports(outcomes, not_started, specs))
