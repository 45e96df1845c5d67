"""``wbplay results import FILE``: another engine's per-device results, shown as wbplay's fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wbplay.cli.common import ReportOpt, fail, out
from wbplay.cli.lazy import lazy_module
from wbplay.cli.text import plain
from wbplay.errors import WbplayError

# Lazily, like every command module: `wbplay --help` imports no engine or report writer.
app_mod = lazy_module("wbplay.app")
report_mod = lazy_module("wbplay.report")

results_app = typer.Typer(no_args_is_help=True, help="Read what Intune recorded for an exported playbook.")

FileArg = Annotated[
    Path,
    typer.Argument(help="Intune device status: the portal's CSV export or Graph deviceRunStates JSON"),
]
_SHOWN = 10  # PCs named per group on the console; the reports name them all


@results_app.command("import")
def import_(file: FileArg, report: ReportOpt = []) -> None:  # noqa: B006
    """Group the PCs by wbplay's outcome and the detection line (compliant, fixed, failed, recurred)."""
    try:
        doc = app_mod.import_results(file, report_mod.parse_specs(report))
    except WbplayError as e:
        raise fail(e) from None
    out.print(f"{doc['devices']} PC(s) from {plain(doc['source'])} ({doc['format']})", highlight=False)
    for outcome, count in doc["counts"].items():
        if count:
            out.print(f"  {outcome}: {count}  ({doc['meaning'][outcome]})", highlight=False)
    for g in doc["groups"]:
        names = g["devices"]
        shown = ", ".join(plain(n) for n in names[:_SHOWN]) + (
            f", +{len(names) - _SHOWN} more" if len(names) > _SHOWN else ""
        )
        out.print(
            f"\n{g['outcome']} ({len(names)}): {plain(g['line']) or '(no detection line)'}", highlight=False
        )
        for after in g["after"]:
            out.print(f"  after remediation: {plain(after)}", highlight=False)
        out.print(f"  {shown}", highlight=False)
