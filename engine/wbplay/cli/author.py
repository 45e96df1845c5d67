"""Authoring commands, touching no host: ``new``, ``schema``, ``doc`` and ``lint``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from wbplay.cli.common import fail, out
from wbplay.cli.lazy import lazy_module
from wbplay.errors import ExitCode, UsageError, WbplayError
from wbplay.playbook.lint import output as lint_output
from wbplay.playbook.lint.table import ERROR
from wbplay.vocab.kinddoc import KindDoc

app_mod = lazy_module("wbplay.app")


def new(
    name: Annotated[str, typer.Argument(help="The new playbook's id, e.g. fix-vss-disabled")],
    from_playbook: Annotated[
        str | None, typer.Option("--from", help="Copy this playbook's structure (and its scenarios)")
    ] = None,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="A step for this check kind (repeatable; `wbplay doc` lists them)"),
    ] = None,
    directory: Annotated[Path, typer.Option("--dir", "-C", help="Where to write the files")] = Path("."),
) -> None:
    """Scaffold NAME.yml and NAME.scenarios.yml (with a broken and a healthy simulated PC)."""
    try:
        made = app_mod.new_playbook(name, directory, from_playbook, check or [])
    except WbplayError as e:
        raise fail(e) from None
    for path in made.files:
        out.print(f"[green]created[/] {escape(str(path))}")
    target = escape(str(made.playbook))
    out.print(f"next: wbplay validate {target} && wbplay lint {target} && wbplay test {target}")


def schema(
    name: Annotated[str, typer.Argument(help="playbook, scenarios, hoststate, inventory or report")],
    path: Annotated[bool, typer.Option("--path", help="Print the installed file's path instead")] = False,
) -> None:
    """Print a JSON Schema (for editors: `# yaml-language-server: $schema=<wbplay schema NAME --path>`)."""
    try:
        file = app_mod.schema_file(name)
    except WbplayError as e:
        raise fail(e) from None
    if path:
        typer.echo(str(file))
    else:
        typer.echo(file.read_text(encoding="utf-8"), nl=False)


def _kind_line(kd: KindDoc) -> str:
    args = ", ".join(n if req else f"[{n}]" for n, _t, req, _d in kd.args)
    return f"  {kd.kind:<28} {kd.risk.split(' ')[0]:<12} {args:<34} {kd.summary}"


def doc(
    kind: Annotated[str | None, typer.Argument(help="A check or remedy kind; none: list them all")] = None,
) -> None:
    """Like ansible-doc: list the check and remedy kinds, or explain one with a YAML example."""
    try:
        if kind is None:
            checks, remedies = app_mod.kind_index()
            typer.echo("Check kinds (check: {kind: ..., ...}):")
            typer.echo("\n".join(_kind_line(k) for k in checks))
            typer.echo("\nRemedy kinds (remedy: {kind: ..., ...}):")
            typer.echo("\n".join(_kind_line(k) for k in remedies))
            typer.echo("\n`wbplay doc KIND` explains one.")
            return
        kd = app_mod.kind_doc(kind)
    except WbplayError as e:
        raise fail(e) from None
    typer.echo(_render_doc(kd))


def _render_doc(kd: KindDoc) -> str:
    lines = [f"{kd.kind} ({kd.role} kind)", "", f"  {kd.summary}", ""]
    lines.append(f"  risk:     {kd.risk}")
    lines.append(f"  windows:  {kd.windows}")
    lines.append(f"  undo:     {kd.undo}")
    lines += ["", "arguments:" if kd.args else "arguments: none"]
    for name, type_, required, desc in kd.args:
        lines.append(f"  {name:<16} {type_:<18} {'required' if required else 'optional':<9} {desc}")
    example = yaml.safe_dump(kd.example, sort_keys=False, allow_unicode=True, default_flow_style=None)
    lines += ["", "example:", *("  " + line for line in example.rstrip().splitlines())]
    return "\n".join(lines)


def lint(
    paths: Annotated[list[Path], typer.Argument(help="Playbook files or folders")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="text, json, github (Actions annotations) or sarif")
    ] = "text",
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too (exit 2)")] = False,
    scenarios: Annotated[
        bool, typer.Option("--scenarios", help="Also run the scenarios: warn about steps none of them runs")
    ] = False,
) -> None:
    """What a reviewer would catch: file:line:col, rule id, fix hint. Exits 2 on an error finding."""
    if fmt not in lint_output.FORMATS:
        raise fail(UsageError(f"--format must be one of {', '.join(lint_output.FORMATS)}"))
    try:
        findings = app_mod.lint(paths, run_scenarios=scenarios)
    except WbplayError as e:
        raise fail(e) from None
    rendered = lint_output.render(findings, fmt)
    if rendered:
        typer.echo(rendered)
    failing = [f for f in findings if strict or f.severity == ERROR]
    raise typer.Exit(int(ExitCode.INVALID) if failing else 0)
