"""What every command group shares: the two consoles, the error exit and the option types."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wbplay.cli.text import wrapped_lines
from wbplay.errors import WbplayError

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
ForOpt = Annotated[
    str | None,
    typer.Option(
        "--for",
        help="The error code this run is for (e.g. 0x81000031); none explained: exit 6, no cause found",
    ),
]
ForEventOpt = Annotated[
    bool,
    typer.Option(
        "--for-event", help="The run is for the PC's newest backup failure event (its code and target)"
    ),
]
RebootPollOpt = Annotated[float, typer.Option("--reboot-poll", help="Seconds between reconnection attempts")]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure-skip-tls-verify", help="Do not validate the host's TLS certificate (prints a warning)"
    ),
]


def fail(e: WbplayError) -> typer.Exit:
    """Print the error and return the exit to raise (``raise fail(e) from None``)."""
    width = err.width if err.is_terminal else None
    err.print(f"[red]error:[/] {wrapped_lines(e, width=width, lead=7)}", highlight=False, soft_wrap=True)
    if os.environ.get("WBPLAY_DEBUG") == "1":
        raise e
    return typer.Exit(int(e.exit_code))
