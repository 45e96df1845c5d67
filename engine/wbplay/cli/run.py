"""Commands that change a PC: ``run``, and ``plan`` / ``apply`` for a reviewed change."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.prompt import Confirm, Prompt

from wbplay import app as app_mod
from wbplay import report as report_mod
from wbplay.cli import fleet
from wbplay.cli.common import (
    ForEventOpt,
    ForOpt,
    HostOpt,
    InsecureOpt,
    InventoryOpt,
    JsonOpt,
    RebootPollOpt,
    RebootTimeoutOpt,
    ReportOpt,
    SkipManualOpt,
    TransportOpt,
    VarOpt,
    err,
    fail,
    out,
)
from wbplay.cli.console import ConsoleListener, summary
from wbplay.cli.text import multiline, plain
from wbplay.errors import ExitCode, UsageError, WbplayError
from wbplay.hosts.factory import ConnectOptions
from wbplay.playbook.model import Step
from wbplay.playbook.variables import parse_assignments
from wbplay.run import fleet_plan
from wbplay.run.results import RunReport


def _confirm(yes: bool) -> object:
    def confirm(report: RunReport) -> bool:
        n = sum(1 for s in report.steps if s.status == "drift")
        if yes:
            return True
        if not sys.stdin.isatty():
            err.print(
                f"[yellow]{n} change(s) planned, but stdin is not a terminal: nothing was changed. "
                "Review the PLAN lines and run again with --yes to apply them.[/]"
            )
            return False
        return Confirm.ask(f"Apply {n} change(s) to {plain(report.host)}?", default=False, console=err)

    return confirm


# The playbooks' instructions say: answer "done" once it is done; the prompt takes exactly that.
MANUAL_ANSWERS = ("done", "skip")


def _ask_manual(step: Step, instruction: str) -> bool:
    err.print(f"[magenta]Manual step {plain(step.id)}:[/] {multiline(instruction)}", highlight=False)
    answer = Prompt.ask(
        'Answer "done" once it is done, or "skip" to leave it pending',
        choices=list(MANUAL_ANSWERS),
        console=err,
    )
    return answer == "done"


def run(
    playbook: Annotated[
        str, typer.Argument(help="A playbook file, or a name from ./playbooks or the library")
    ],
    host: HostOpt,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Read everything, change nothing")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation")] = False,
    no_rollback: Annotated[
        bool, typer.Option("--no-rollback", help="On failure, leave applied changes in place")
    ] = False,
    allow: Annotated[
        list[str], typer.Option("--allow", help="Opt in to an irreversible step by id (repeatable)")
    ] = [],  # noqa: B006 - typer reads the default, it is never mutated
    var: VarOpt = [],  # noqa: B006
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    report: ReportOpt = [],  # noqa: B006
    json_out: JsonOpt = False,
    skip_manual: SkipManualOpt = False,
    reboot_timeout: RebootTimeoutOpt = 4 * 3600.0,
    reboot_poll: RebootPollOpt = 10.0,
    for_code: ForOpt = None,
    for_event: ForEventOpt = False,
    forks: fleet.ForksOpt = fleet.DEFAULT_FORKS,
    timeout_per_host: fleet.TimeoutPerHostOpt = None,
    limit: fleet.LimitOpt = None,
) -> None:
    """Check a host against a playbook and fix what drifted (or, with --dry-run, show the plan).

    With several PCs (a group, a list), up to --forks at once: a dry-run of every PC, one
    review grouped by the same changes, one question, then each PC gets exactly what it showed."""
    console = err if json_out else out
    try:
        specs = report_mod.parse_specs(report)
        req = app_mod.RunRequest(
            playbook=playbook,
            host=host,
            dry_run=dry_run,
            variables=parse_assignments(var),
            rollback=not no_rollback,
            allow=frozenset(allow),
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify, limit=limit),
            skip_manual=skip_manual,
            reboot_timeout_s=reboot_timeout,
            reboot_poll_s=reboot_poll,
            for_code=for_code,
            for_event=for_event,
        )
        if for_code is not None and for_event:
            raise UsageError("give --for CODE or --for-event, not both")
        hosts = app_mod.hosts_of(req)
        if len(hosts) > 1:
            if json_out:
                raise UsageError(
                    "--json prints one report; use --report json:FILE per host, or one host at a time"
                )
            fleet.run_fleet(req, hosts, specs, yes=yes, forks=forks, timeout_per_host=timeout_per_host)
        result, journal_path = app_mod.run(
            req,
            listener=ConsoleListener(console),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            ask_manual=_ask_manual if sys.stdin.isatty() else None,
        )
        app_mod.write_reports(result, specs)
    except WbplayError as e:
        raise fail(e) from None
    _finish(console, result, str(journal_path), json_out)


def _finish(console: Console, result: RunReport, journal_path: str, json_out: bool) -> None:
    summary(console, result, journal_path)
    if json_out:
        sys.stdout.write(
            json.dumps(app_mod.document(result), ensure_ascii=False, default=str, indent=2) + "\n"
        )
    raise typer.Exit(int(result.exit_code))


def plan(
    playbook: Annotated[
        str, typer.Argument(help="A playbook file, or a name from ./playbooks or the library")
    ],
    host: HostOpt,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to save the plan (JSON)")],
    allow: Annotated[
        list[str], typer.Option("--allow", help="Opt in to an irreversible step by id (repeatable)")
    ] = [],  # noqa: B006
    var: VarOpt = [],  # noqa: B006
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    report: ReportOpt = [],  # noqa: B006
    forks: fleet.ForksOpt = fleet.DEFAULT_FORKS,
    limit: fleet.LimitOpt = None,
) -> None:
    """Save a dry-run as a plan for review; `wbplay apply PLAN` then does exactly that, or nothing.

    With several PCs the file is a fleet plan: every PC's plan, one digest for the fleet."""
    try:
        specs = report_mod.parse_specs(report)
        req = app_mod.RunRequest(
            playbook=playbook,
            host=host,
            dry_run=True,
            variables=parse_assignments(var),
            allow=frozenset(allow),
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify, limit=limit),
        )
        hosts = app_mod.hosts_of(req)
        if len(hosts) > 1:
            fleet.plan_fleet(req, hosts, output, specs, forks)
        doc = app_mod.make_plan(req, output, listener=ConsoleListener(out))
        report_mod.write(doc, specs)
    except WbplayError as e:
        raise fail(e) from None
    n = doc["summary"]["changes"]
    out.print(
        f"Plan saved to {plain(output)}: {n} change(s), digest {doc['digest']}. Review it "
        f"(--report md:FILE), then: wbplay apply {plain(output)} --expect {doc['digest']}"
    )
    raise typer.Exit(int(ExitCode.PENDING) if n else 0)


def apply(
    plan_file: Annotated[Path, typer.Argument(help="A plan saved by `wbplay plan -o`")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation")] = False,
    allow_stale: Annotated[
        bool, typer.Option("--allow-stale", help="Apply a plan older than its limit (24 h)")
    ] = False,
    expect: Annotated[
        str | None,
        typer.Option("--expect", help="Refuse unless the plan's digest is this one (shown in plan.md)"),
    ] = None,
    trust: Annotated[
        bool, typer.Option("--trust", help="Apply a plan not signed by this installation (made elsewhere)")
    ] = False,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    report: ReportOpt = [],  # noqa: B006
    json_out: JsonOpt = False,
    forks: fleet.ForksOpt = fleet.DEFAULT_FORKS,
    timeout_per_host: fleet.TimeoutPerHostOpt = None,
) -> None:
    """Apply exactly the changes of a reviewed plan; refuse if the host or playbook changed since.

    A fleet plan is applied per PC: a PC that drifted since is refused alone."""
    console = err if json_out else out
    try:
        specs = report_mod.parse_specs(report)
        if fleet_plan.is_fleet_plan(plan_file):
            fleet.apply_fleet(
                plan_file, specs, yes=yes, allow_stale=allow_stale, expect=expect, trust=trust,
                connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify), forks=forks,
                timeout_per_host=timeout_per_host,
            )
        result, journal_path = app_mod.apply_plan(
            plan_file,
            allow_stale=allow_stale,
            expect=expect,
            trust=trust,
            listener=ConsoleListener(console),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
            ask_manual=_ask_manual if sys.stdin.isatty() else None,
        )
        app_mod.write_reports(result, specs)
    except WbplayError as e:
        raise fail(e) from None
    _finish(console, result, str(journal_path), json_out)


def resume(
    run_id: Annotated[str, typer.Argument(help="The interrupted run to carry on (see `wbplay runs`)")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation")] = False,
    var: VarOpt = [],  # noqa: B006
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    report: ReportOpt = [],  # noqa: B006
    json_out: JsonOpt = False,
    skip_manual: SkipManualOpt = False,
    reboot_timeout: RebootTimeoutOpt = 4 * 3600.0,
    reboot_poll: RebootPollOpt = 10.0,
) -> None:
    """Carry on an interrupted run once the PC answers: the same playbook, host, variables and
    opt-ins, every step read again, so what it already did reads as OK."""
    console = err if json_out else out
    try:
        specs = report_mod.parse_specs(report)
        result, journal_path, old = app_mod.resume_run(
            run_id,
            listener=ConsoleListener(console),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            ask_manual=_ask_manual if sys.stdin.isatty() else None,
            variables=parse_assignments(var),
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
            skip_manual=skip_manual,
            reboot_timeout_s=reboot_timeout,
            reboot_poll_s=reboot_poll,
        )
        app_mod.write_reports(result, specs)
    except WbplayError as e:
        raise fail(e) from None
    console.print(
        f"  This run resumed {plain(old)}; undo what that run changed with: wbplay rollback {plain(old)}",
        highlight=False,
    )
    _finish(console, result, str(journal_path), json_out)
