"""``wbplay inventory``: which PCs a ``--host`` expression names, without connecting to any."""

from __future__ import annotations

from typing import Annotated

import typer

from wbplay import app as app_mod
from wbplay.cli.common import InventoryOpt, TransportOpt, fail, out
from wbplay.cli.fleet import LimitOpt
from wbplay.cli.text import plain
from wbplay.errors import WbplayError
from wbplay.hosts.factory import ConnectOptions


def inventory(
    host: Annotated[str, typer.Argument(help="A --host expression: PCs, groups, a comma-separated list")],
    inventory: InventoryOpt = None,
    limit: LimitOpt = None,
    transport: TransportOpt = None,
) -> None:
    """List the PCs a --host expression (and --limit) resolves to, and how each would be reached."""
    try:
        rows = app_mod.inventory_list(host, ConnectOptions(inventory, transport, limit=limit))
    except WbplayError as e:
        raise fail(e) from None
    width = max(len(r.name) for r in rows)
    for r in rows:
        out.print(f"{plain(r.name):<{width}}  {plain(r.where)}  {plain(r.transport)}  ({plain(r.origin)})")
    out.print(f"{len(rows)} PC(s)", style="dim")
