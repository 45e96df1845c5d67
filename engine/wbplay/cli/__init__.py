"""The command line: parse, call :mod:`wbplay.app`, render.  No logic lives here.

Exit codes are documented in the README and in :class:`wbplay.errors.ExitCode`.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.prompt import Confirm

from wbplay import app as app_mod
from wbplay import report as report_mod
from wbplay.cli import render, render_library
from wbplay.cli.console import ConsoleListener, summary
from wbplay.errors import ExitCode, UsageError, WbplayError
from wbplay.hosts.factory import ConnectOptions
from wbplay.lab.users import DEFAULT_USER
from wbplay.library import scenarios as scenarios_mod
from wbplay.playbook.model import Step
from wbplay.playbook.variables import parse_assignments
from wbplay.run import journal
from wbplay.run.results import RunReport
from wbplay.sim import state as sim_state

LAB_ACCOUNT = (
    f"Without --users the lab has one account, {DEFAULT_USER.name} / {DEFAULT_USER.password}: a documented "
    "lab-only login that exists nowhere but inside `wbplay lab`. Connect with WBPLAY_USER and "
    "WBPLAY_PASSWORD set to it and --host 127.0.0.1:5985 (port 5985 implies http; messages are still "
    "NTLM-encrypted)."
)

app = typer.Typer(
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # never print locals: they can hold credentials
    add_completion=False,
    help="Declarative playbooks that diagnose and fix Windows Backup, with dry-run, rollback and step logs.",
)
sim_app = typer.Typer(no_args_is_help=True, help="Manage the built-in simulated PCs.")
app.add_typer(sim_app, name="sim")

# soft_wrap: lines are pasted into change reviews and logs, so never hard-wrap them at 80 columns.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

HostOpt = Annotated[
    str,
    typer.Option(
        "--host",
        "-H",
        help="sim:NAME or sim:FILE (simulated PC), local, an inventory name, or host[:port] / https://host:port",
    ),
]
VarOpt = Annotated[
    list[str], typer.Option("--var", "-e", help="Set a playbook variable: NAME=VALUE (repeatable)")
]
InventoryOpt = Annotated[Path | None, typer.Option("--inventory", "-i", help="Inventory file (see README)")]
TransportOpt = Annotated[
    str | None, typer.Option("--transport", help="WinRM auth: ntlm, kerberos, credssp, certificate or basic")
]
ReportOpt = Annotated[
    list[str],
    typer.Option("--report", help="Write a report: md:FILE, json:FILE or junit:FILE (repeatable)"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the JSON report on stdout; logs go to stderr")]
SkipManualOpt = Annotated[
    bool,
    typer.Option(
        "--skip-manual", help="Without a terminal, leave steps that need a human pending instead of failing"
    ),
]
RebootTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--reboot-timeout", help="Seconds to wait for a PC to come back after a restart (chkdsk /r: hours)"
    ),
]
RebootPollOpt = Annotated[float, typer.Option("--reboot-poll", help="Seconds between reconnection attempts")]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure-skip-tls-verify", help="Do not validate the host's TLS certificate (prints a warning)"
    ),
]


def _fail(e: WbplayError) -> typer.Exit:
    err.print(f"[red]error:[/] {e}", highlight=False, markup=True, soft_wrap=True)
    if os.environ.get("WBPLAY_DEBUG") == "1":
        raise e
    return typer.Exit(int(e.exit_code))


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
        return Confirm.ask(f"Apply {n} change(s) to {report.host}?", default=False, console=err)

    return confirm


def _ask_manual(step: Step, instruction: str) -> bool:
    err.print(f"[magenta]Manual step {step.id}:[/] {instruction}", highlight=False)
    return Confirm.ask("Is it done?", default=False, console=err)


@app.command()
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
) -> None:
    """Check a host against a playbook and fix what drifted (or, with --dry-run, show the plan)."""
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
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
            skip_manual=skip_manual,
            reboot_timeout_s=reboot_timeout,
            reboot_poll_s=reboot_poll,
        )
        hosts = app_mod.hosts_of(req)
        if len(hosts) > 1:
            if json_out:
                raise UsageError(
                    "--json prints one report; use --report json:FILE per host, or one host at a time"
                )
            _run_many(req, hosts, specs, yes)
        result, journal_path = app_mod.run(
            req,
            listener=ConsoleListener(console),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            ask_manual=_ask_manual if sys.stdin.isatty() else None,
        )
        app_mod.write_reports(result, specs)
    except WbplayError as e:
        raise _fail(e) from None
    _finish(console, result, str(journal_path), json_out)


def _run_many(
    req: app_mod.RunRequest, hosts: list[str], specs: list[report_mod.ReportSpec], yes: bool
) -> None:
    """Each PC in turn, then one line per PC; exit with the worst PC's code."""

    def header(host: str) -> None:
        out.rule(f"[bold]{host}[/]")

    outcomes = app_mod.run_many(
        req,
        hosts,
        listener=ConsoleListener(out),
        confirm=_confirm(yes),  # type: ignore[arg-type]
        ask_manual=_ask_manual if sys.stdin.isatty() else None,
        on_host=header,
    )
    out.rule("[bold]all hosts[/]")
    for o in outcomes:
        if o.report is not None:
            app_mod.write_reports(
                o.report, [report_mod.ReportSpec(s.format, _per_host(s.path, o.host)) for s in specs]
            )
            out.print(f"  {o.host}: exit {int(o.exit_code)} ({o.report.outcome}); journal {o.journal}")
        else:
            out.print(f"  {o.host}: exit {int(o.exit_code)}: {o.error}")
    skipped = hosts[len(outcomes) :]
    if skipped:
        out.print(f"  not run (interrupted): {', '.join(skipped)}")
    raise typer.Exit(int(app_mod.worst(o.exit_code for o in outcomes)))


def _per_host(path: Path, host: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in host)
    return path.with_name(f"{path.stem}.{safe}{path.suffix}")


def _finish(console: Console, result: RunReport, journal_path: str, json_out: bool) -> None:
    summary(console, result, journal_path)
    if json_out:
        sys.stdout.write(
            json.dumps(app_mod.document(result), ensure_ascii=False, default=str, indent=2) + "\n"
        )
    raise typer.Exit(int(result.exit_code))


@app.command()
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
) -> None:
    """Save a dry-run as a plan for review; `wbplay apply PLAN` then does exactly that, or nothing."""
    try:
        specs = report_mod.parse_specs(report)
        req = app_mod.RunRequest(
            playbook=playbook,
            host=host,
            dry_run=True,
            variables=parse_assignments(var),
            allow=frozenset(allow),
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
        )
        doc = app_mod.make_plan(req, output, listener=ConsoleListener(out))
        report_mod.write(doc, specs)
    except WbplayError as e:
        raise _fail(e) from None
    n = doc["summary"]["changes"]
    out.print(
        f"Plan saved to {output}: {n} change(s). Review it (--report md:FILE), then: wbplay apply {output}"
    )
    raise typer.Exit(int(ExitCode.PENDING) if n else 0)


@app.command()
def apply(
    plan_file: Annotated[Path, typer.Argument(help="A plan saved by `wbplay plan -o`")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation")] = False,
    allow_stale: Annotated[
        bool, typer.Option("--allow-stale", help="Apply a plan older than its limit (24 h)")
    ] = False,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
    report: ReportOpt = [],  # noqa: B006
    json_out: JsonOpt = False,
) -> None:
    """Apply exactly the changes of a reviewed plan; refuse if the host or playbook changed since."""
    console = err if json_out else out
    try:
        specs = report_mod.parse_specs(report)
        result, journal_path = app_mod.apply_plan(
            plan_file,
            allow_stale=allow_stale,
            listener=ConsoleListener(console),
            confirm=_confirm(yes),  # type: ignore[arg-type]
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
        )
        app_mod.write_reports(result, specs)
    except WbplayError as e:
        raise _fail(e) from None
    _finish(console, result, str(journal_path), json_out)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Playbook files or folders")],
) -> None:
    """Check playbooks without touching any host; exits 2 if any is invalid."""
    try:
        results = app_mod.validate(paths)
    except WbplayError as e:
        raise _fail(e) from None
    render.validation(out, results)
    raise typer.Exit(int(ExitCode.INVALID) if any(r.error for r in results) else 0)


@app.command("list")
def list_() -> None:
    """The playbook library, with titles and the error codes each one handles."""
    try:
        render.library(out, app_mod.library())
    except WbplayError as e:
        raise _fail(e) from None


@app.command()
def show(playbook: Annotated[str, typer.Argument(help="A playbook file or name")]) -> None:
    """A playbook's steps as a table: check, expectation, remedy and risk."""
    try:
        render.playbook(out, app_mod.load_playbook(playbook))
    except WbplayError as e:
        raise _fail(e) from None


@app.command()
def runs() -> None:
    """Past runs, from their journals."""
    render.runs(out, list(journal.summaries()))


@app.command()
def log(run_id: Annotated[str, typer.Argument(help="A run id (a unique prefix is enough)")]) -> None:
    """One run's journal, event by event."""
    try:
        render.log(out, journal.read(run_id))
    except WbplayError as e:
        raise _fail(e) from None


@app.command()
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
        raise _fail(e) from None
    for o in result.outcomes:
        out.print(f"  {o.step_id}: {o.status} ({o.detail})", highlight=False)
    unconfirmed = [o.step_id for o in result.outcomes if o.status == "unconfirmed"]
    if unconfirmed:
        out.print(f"[red]Could not confirm: {', '.join(unconfirmed)}[/]")
    raise typer.Exit(int(result.exit_code))


@app.command(epilog=LAB_ACCOUNT)
def lab(
    state: Annotated[
        str, typer.Option("--state", help="A built-in simulated PC (e.g. pc42) or a host state file")
    ] = "pc42",
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default 5985, or 5986 with --tls)")
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option("--users", help="Accounts file: YAML {user: password} or user:password lines"),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="HTTPS with a throw-away self-signed CA (its path is printed)")
    ] = False,
    basic: Annotated[bool, typer.Option("--basic", help="Also accept Basic auth (over HTTPS only)")] = False,
    reboot_downtime: Annotated[
        float | None,
        typer.Option("--reboot-downtime", help="Seconds the PC stays unreachable when it restarts"),
    ] = None,
) -> None:
    """Serve a simulated PC over WinRM on 127.0.0.1, for pywinrm, pypsrp and `wbplay run --host`.

    A state file given with --state is updated in place as runs change the PC.
    """
    from wbplay.lab.serve import serve

    try:
        serve(state, port=port, users=users, tls=tls, basic=basic, reboot_downtime_s=reboot_downtime)
    except WbplayError as e:
        raise _fail(e) from None


@app.command("triage")
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
) -> None:
    """Which playbook fixes this failure? Ranks the library with the evidence that matched."""
    if not host and not error:
        raise _fail(UsageError("give --error TEXT (offline) or --host H (read its backup events)"))
    try:
        result = app_mod.triage(
            error=error,
            host_spec=host,
            since_days=since_days,
            connect=ConnectOptions(inventory, transport, insecure_skip_tls_verify),
        )
    except WbplayError as e:
        raise _fail(e) from None
    render_library.triage(out, result)
    raise typer.Exit(0 if result.matches else int(ExitCode.PENDING))


@app.command("test")
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
        raise _fail(e) from None
    results = []
    for r in scenarios_mod.run_files(paths):
        render_library.scenario(out, r)
        results.append(r)
    render_library.scenario_summary(out, results, time.monotonic() - started)
    raise typer.Exit(1 if any(not r.passed for r in results) or not results else 0)


@sim_app.command("list")
def sim_list() -> None:
    """The built-in simulated PCs."""
    for name in sim_state.builtin_names():
        out.print(name)


@sim_app.command("reset")
def sim_reset(name: Annotated[str, typer.Argument(help="A built-in simulated PC, e.g. pc42")]) -> None:
    """Restore a simulated PC's working copy to its built-in (broken) state."""
    try:
        path = sim_state.reset(name)
    except WbplayError as e:
        raise _fail(e) from None
    out.print(f"reset sim:{name} ({path})")


def _show_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
    err.print(f"[yellow]warning:[/] {message}", highlight=False)


def main() -> None:
    warnings.showwarning = _show_warning  # type: ignore[assignment]
    app()
