"""Tables and text for the commands that are not a run: list, show, validate, runs, log, rollback."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from wbplay.app import ValidationResult
from wbplay.cli.text import multiline, plain
from wbplay.playbook import matchers
from wbplay.playbook.model import Playbook
from wbplay.run import history
from wbplay.run.history import RunSummary
from wbplay.run.recorded import Skipped
from wbplay.run.rollback_run import RollbackPlan, RollbackResult

TABLE_WIDTH = 150  # tables are wider than a default 80-column pipe; pasted output must stay readable


def _print_table(console: Console, table: Table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    old = console.width
    console.width = max(old, TABLE_WIDTH)
    try:
        console.print(table)
    finally:
        console.width = old


def library(console: Console, playbooks: Sequence[Playbook]) -> None:
    table = Table(title="wbplay playbook library", show_lines=False)
    table.add_column("playbook", style="bold")
    table.add_column("title")
    table.add_column("error codes")
    table.add_column("steps", justify="right")
    for pb in playbooks:
        codes = ", ".join(pb.applies_to.error_codes) or "-"
        table.add_row(plain(pb.id), plain(pb.title), plain(codes), str(len(pb.steps)))
    _print_table(console, table)


def playbook(console: Console, pb: Playbook) -> None:
    console.print(f"[bold]{plain(pb.id)}[/]: {plain(pb.title)}", highlight=False)
    console.print(multiline(pb.description), highlight=False)
    if pb.applies_to.error_codes:
        console.print(f"Error codes: {plain(', '.join(pb.applies_to.error_codes))}", highlight=False)
    if pb.vars:
        console.print("Variables:", highlight=False)
        for v in pb.vars.values():
            req = "required" if v.required else f"default {v.default!r}"
            console.print(
                f"  {plain(v.name)} ({v.type}, {plain(req)}): {plain(v.description)}", highlight=False
            )
    table = Table(show_lines=True)
    for col in ("#", "step", "check → expected", "remedy", "risk"):
        table.add_column(col)
    for i, s in enumerate(pb.steps, 1):
        check = f"{s.check.kind} {_args(s.check.args)}" + (f" .{s.check.field}" if s.check.field else "")
        expected = matchers.describe(s.expect)
        if s.remedy is None:
            remedy = "(report only)"
        elif s.remedy.kind == "manual":
            remedy = "manual: " + s.remedy.args["instruction"].strip().splitlines()[0]
        else:
            remedy = f"{s.remedy.kind} {_args(s.remedy.args)}"
        risk = s.risk.label + (f"\nopt-in: {plain(s.opt_in)}" if s.opt_in else "")
        table.add_row(
            str(i),
            f"{plain(s.id)}\n[dim]{plain(s.title)}[/]",
            f"{plain(check)}\n→ {plain(expected)}",
            plain(remedy),
            risk,
        )
    _print_table(console, table)
    for ref in pb.references:
        console.print(f"  ref: {plain(ref)}", style="dim", highlight=False)


def _args(args: Any) -> str:
    return " ".join(f"{k}={v}" for k, v in args.items())


def validation(console: Console, results: Sequence[ValidationResult]) -> None:
    for r in results:
        if r.error is None:
            unit = {"playbook": "steps", "host state": "services"}.get(r.kind, "scenarios")
            console.print(f"[green]valid[/]   {plain(r.path)} ({r.items} {unit})", highlight=False)
        else:
            console.print(f"[red]INVALID[/] {multiline(r.error.render())}", highlight=False)
    bad = sum(1 for r in results if r.error)
    console.print(f"{len(results) - bad} valid, {bad} invalid", highlight=False)


def runs(console: Console, items: Sequence[RunSummary]) -> None:
    """One line per run, newest first, ids in full: pasteable into `wbplay rollback`."""
    if not items:
        console.print("no runs recorded (journals live in $WBPLAY_HOME/runs)", highlight=False)
        return
    for r in items:
        damaged = f"  [yellow]({r.damaged} damaged line(s))[/]" if r.damaged else ""
        console.print(
            f"{plain(r.run_id)}  {plain(r.started)}  {plain(r.playbook)}  {plain(r.host)}  {plain(r.mode)}  "
            f"{plain(r.status)}{damaged}",
            highlight=False,
            soft_wrap=True,
        )


def pruned(console: Console, result: history.Pruned) -> None:
    for r in result.deleted:
        console.print(f"deleted {plain(r.run_id)} (last record {plain(r.last_activity)})", highlight=False)
    for r in result.kept:
        console.print(f"[yellow]kept[/]    {plain(r.run_id)}: {plain(r.why_kept)}", highlight=False)
    console.print(
        f"{len(result.deleted)} journal(s) deleted, {len(result.kept)} old one(s) kept", highlight=False
    )


def log(console: Console, records: Sequence[dict[str, Any]]) -> None:
    for r in records:
        detail = {k: v for k, v in r.items() if k not in ("ts", "run", "seq", "event")}
        step = detail.pop("step", "")
        text = ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", [], {}))
        console.print(
            f"{plain(r['ts'])}  {plain(r['event']):<16} {plain(step):<24} {plain(text)}", highlight=False
        )


_DECISION = {
    "undo": ("UNDO", "cyan", "would change {detail}"),
    "not-applied": ("KEEP", "dim", "nothing to undo: {detail}"),
    "ran": ("RAN", "dim", "{detail}"),
    "irreversible": ("RAN", "red", "{detail}"),
    "conflict": ("CONFLICT", "red", "{detail}"),
    "needs-consent": ("CONSENT", "magenta", "{detail}"),
    "unconfirmed": ("UNKNOWN", "red", "{detail}"),
    "failed": ("FAILED", "red", "{detail}"),
    "undone": ("UNDONE", "green", "{detail}"),
}


def _entry(console: Console, status: str, step: str, detail: str) -> None:
    label, style, text = _DECISION.get(status, (status.upper(), "", "{detail}"))
    console.print(
        f" [{style}]{label:<8}[/] {plain(step):<24} {plain(text.format(detail=detail))}",
        highlight=False,
        soft_wrap=True,
    )


def rollback_plan(console: Console, plan: RollbackPlan) -> None:
    """What a rollback would do, newest change first, and every journal line it skipped."""
    console.print(
        f"[bold]Rollback of {plain(plan.run_id)}[/] on {plain(plan.pc.describe())}  "
        f"[dim]{plain(str(plan.journal))}[/]",
        highlight=False,
    )
    for d in plan.decisions:
        _entry(console, d.status, d.step_id, d.detail)
    _skipped(console, plan.skipped)


def _skipped(console: Console, skipped: Sequence[Skipped]) -> None:
    for s in skipped:
        style = "red" if s.hides_change else "dim"
        console.print(f" [{style}]{'SKIPPED':<8}[/] {plain(s.describe())}", highlight=False, soft_wrap=True)


_SUMMARY = {
    "undone": "undone",
    "not-applied": "not applied",
    "ran": "ran (nothing to restore)",
    "irreversible": "ran (cannot be undone)",
    "conflict": "conflict (left)",
    "needs-consent": "needs consent (left)",
    "failed": "failed",
    "unconfirmed": "unconfirmed",
}


def rollback_result(console: Console, result: RollbackResult, *, plan_shown: bool) -> None:
    """The closing lines of a rollback (each undo was shown as it happened)."""
    if result.applied:
        counts: dict[str, int] = {}
        for o in result.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        parts = [f"{n} {_SUMMARY.get(status, status)}" for status, n in counts.items()]
        console.print(f"[bold]Summary[/]  {' · '.join(parts) or 'nothing to undo'}", highlight=False)
    if not plan_shown:
        _skipped(console, result.skipped)
    code = int(result.exit_code)
    console.print(f"  Journal: {plain(str(result.journal))}", style="dim", highlight=False)
    console.print(f"  Exit {code}: {plain(result.message)}", highlight=False)
