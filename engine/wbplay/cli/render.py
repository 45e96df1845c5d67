"""Tables and text for the commands that are not a run: list, show, validate, runs, log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from wbplay.cli.text import multiline, plain
from wbplay.playbook import matchers
from wbplay.playbook.model import Playbook

if TYPE_CHECKING:
    from wbplay.app import ValidationResult
    from wbplay.run.journal import RunSummary

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
            unit = "steps" if r.kind == "playbook" else "scenarios"
            console.print(f"[green]valid[/]   {plain(r.path)} ({r.items} {unit})", highlight=False)
        else:
            console.print(f"[red]INVALID[/] {multiline(r.error.render())}", highlight=False)
    bad = sum(1 for r in results if r.error)
    console.print(f"{len(results) - bad} valid, {bad} invalid", highlight=False)


def runs(console: Console, items: Sequence[RunSummary]) -> None:
    table = Table(title="wbplay runs")
    for col in ("run", "started", "playbook", "host", "mode", "outcome"):
        table.add_column(col)
    for r in items:
        table.add_row(*(plain(v) for v in (r.run_id, r.started, r.playbook, r.host, r.mode, r.outcome)))
    _print_table(console, table)


def log(console: Console, records: Sequence[dict[str, Any]]) -> None:
    for r in records:
        detail = {k: v for k, v in r.items() if k not in ("ts", "run", "seq", "event")}
        step = detail.pop("step", "")
        text = ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, "", [], {}))
        console.print(
            f"{plain(r['ts'])}  {plain(r['event']):<16} {plain(step):<24} {plain(text)}", highlight=False
        )
