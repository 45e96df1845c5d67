"""Text for ``wbplay triage`` and ``wbplay test`` (the library tools)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from wbplay.cli.text import multiline, plain
from wbplay.library.scenarios import Result
from wbplay.library.triage import ASK_FOR_ERROR_MESSAGE, TriageResult


def triage(console: Console, result: TriageResult) -> None:
    if not result.evidence:
        console.print("No backup failures found.", highlight=False)
    for ev in result.evidence[:5]:
        codes = " / ".join(c for c in (ev.code, ev.detailed_code) if c) or "no code"
        console.print(f"[dim]evidence[/] {plain(ev.source)}: {plain(codes)}", highlight=False)
    if len(result.evidence) > 5:
        console.print(f"[dim]evidence[/] ... and {len(result.evidence) - 5} more", highlight=False)
    for code in result.unknown_codes:
        console.print(f"[dim]unknown[/] {plain(ASK_FOR_ERROR_MESSAGE.format(code=code))}", highlight=False)
    if not result.matches:
        console.print("No playbook in the library applies.", highlight=False)
        return
    table = Table(title="playbooks that apply, best first")
    for col in ("#", "playbook", "score", "why"):
        table.add_column(col)
    for i, m in enumerate(result.matches, 1):
        why = "\n".join(plain(r) for r in m.reasons)
        if m.suggested_vars:
            hint = " ".join(f"--var {k}={v}" for k, v in m.suggested_vars.items())
            why += f"\n[dim]try: {plain(hint)}[/]"
        table.add_row(
            str(i), f"[bold]{plain(m.playbook_id)}[/]\n[dim]{plain(m.title)}[/]", f"{m.score:.0f}", why
        )
    console.print(table)


def scenario(console: Console, r: Result) -> None:
    status = "[green]PASSED[/]" if r.passed else "[red]FAILED[/]"
    console.print(f"{plain(r.id)} [dim]({plain(r.host)}, {r.seconds:.2f}s)[/] {status}", highlight=False)


def scenario_summary(console: Console, results: list[Result], seconds: float) -> None:
    failed = [r for r in results if not r.passed]
    if failed:
        console.print("\n[bold red]FAILURES[/]", highlight=False)
        for r in failed:
            console.print(f"[bold]{plain(r.id)}[/] [dim]{plain(r.file)}[/]", highlight=False)
            for f in r.failures:
                console.print(f"  - {multiline(f)}", highlight=False)
    colour = "red" if failed else "green"
    console.print(
        f"[{colour}]{len(results) - len(failed)} passed, {len(failed)} failed in {seconds:.2f}s[/]",
        highlight=False,
    )
