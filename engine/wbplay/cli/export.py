"""``wbplay export intune|configmgr``: a playbook as scripts for an engine that reaches every PC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wbplay import app as app_mod
from wbplay.cli.common import VarOpt, fail, out
from wbplay.cli.text import plain
from wbplay.errors import WbplayError
from wbplay.playbook.variables import parse_assignments

export_app = typer.Typer(
    no_args_is_help=True,
    help="Compile a playbook into an Intune Remediation or a Configuration Manager configuration item.",
)

PlaybookArg = Annotated[str, typer.Argument(help="Playbook id or file")]
OutOpt = Annotated[
    Path, typer.Option("--output", "-o", help="Directory to write the scripts and README.md to")
]
AllowOpt = Annotated[
    list[str],
    typer.Option("--allow", help="Include an irreversible step in the remediation, by id (repeatable)"),
]


def _export(engine: str, playbook: str, output: Path, var: list[str], allow: list[str]) -> None:
    try:
        result = app_mod.export(playbook, engine, output, parse_assignments(var), frozenset(allow))
    except WbplayError as e:
        raise fail(e) from None
    for f in result.files:
        out.print(f"  wrote {plain(str(result.directory / f.name))} ({f.size:,} bytes)", highlight=False)
    if result.manual:
        out.print(f"  manual, reported only: {plain(', '.join(result.manual))}", highlight=False)
    if result.reported:
        shown = plain(", ".join(result.reported))
        out.print(f"  reported only, not checked unattended (see README.md): {shown}", highlight=False)
    if result.left_out:
        left = plain(", ".join(result.left_out))
        out.print(f"  irreversible, left out (--allow STEP): {left}", highlight=False)


@export_app.command()
def intune(playbook: PlaybookArg, output: OutOpt, var: VarOpt = [], allow: AllowOpt = []) -> None:  # noqa: B006
    """detect.ps1, remediate.ps1 and README.md for Intune Remediations."""
    _export("intune", playbook, output, var, allow)


@export_app.command()
def configmgr(playbook: PlaybookArg, output: OutOpt, var: VarOpt = [], allow: AllowOpt = []) -> None:  # noqa: B006
    """discovery.ps1, remediation.ps1 and README.md for a configuration item's script setting."""
    _export("configmgr", playbook, output, var, allow)
