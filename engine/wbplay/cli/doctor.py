"""``wbplay doctor --host H [--record DIR]``: the read-only self-test to run first on a new PC."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wbplay.cli.common import HostOpt, InsecureOpt, InventoryOpt, TransportOpt, err, fail, out
from wbplay.cli.lazy import lazy_module
from wbplay.errors import WbplayError
from wbplay.hosts.factory import ConnectOptions
from wbplay.safetext import bounded, one_line

if TYPE_CHECKING:
    from wbplay.hosts.doctor import Check

app_mod = lazy_module("wbplay.app")
# The statuses of wbplay.hosts.doctor (which imports the agent): not imported for --help.
PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"

_STYLE = {PASS: "green", WARN: "yellow", FAIL: "red", SKIP: "dim"}


def _line(check: Check) -> str:
    # Plain text after the status word: a PC's error text is never read as markup.
    return f"[{_STYLE[check.status]}]{check.status:<4}[/] {check.name:<30} "


def _print(check: Check) -> None:
    # The detail quotes the PC (its errors, tool output): the one rendering rule for untrusted
    # text, on one line, long enough to keep a raw error whole for a bug report.
    out.print(_line(check), end="")
    out.print(bounded(one_line(check.detail), 2000), markup=False)


def doctor(
    host: HostOpt,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Save each op's raw agent output (redacted) here, as replay fixtures"),
    ] = None,
    skip_slow: Annotated[
        bool, typer.Option("--skip-slow", help="Skip chkdsk and sfc scans (minutes to hours on a real PC)")
    ] = False,
    inventory: InventoryOpt = None,
    transport: TransportOpt = None,
    insecure_skip_tls_verify: InsecureOpt = False,
) -> None:
    """Check that wbplay can work on a PC, changing nothing: connection, the agent, PowerShell,
    quotas, admin rights, then every read op once.  Exits 5 if any check fails."""
    options = ConnectOptions(
        inventory=inventory, transport=transport, insecure_skip_tls_verify=insecure_skip_tls_verify
    )
    try:
        result = app_mod.doctor(host, connect=options, record=record, skip_slow=skip_slow, progress=_print)
    except WbplayError as e:
        raise fail(e) from None
    report = result.report
    counts = {s: sum(c.status == s for c in report.checks) for s in (PASS, WARN, FAIL, SKIP)}
    out.print(
        f"wbplay doctor {one_line(report.host)}: {counts[PASS]} passed, {counts[WARN]} warnings, "
        f"{counts[FAIL]} failed, {counts[SKIP]} skipped",
        markup=False,
    )
    if result.recorded:
        err.print(
            f"recorded {len(result.recorded)} files in {record} (names and SIDs redacted)", markup=False
        )
    raise typer.Exit(int(report.exit_code))
