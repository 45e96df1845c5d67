"""Run one op against a simulated PC, the way Windows would answer it.

Each family of ops lives in its own module with a ``HANDLERS`` table; this module
only joins the tables and dispatches, so nothing below it imports it.
"""

from __future__ import annotations

from collections.abc import Mapping

from wbplay.sim import (
    boot,
    catalog,
    disks,
    eventlog,
    files,
    pclock,
    registry,
    services,
    sfc,
    sysinfo,
    vss,
    winre,
)
from wbplay.sim.account import refuse_write
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler
from wbplay.vocab import ops as O
from wbplay.vocab.ops import Op, OpResult

FAMILIES: tuple[Mapping[str, Handler], ...] = (
    sysinfo.HANDLERS,
    services.HANDLERS,
    registry.HANDLERS,
    files.HANDLERS,
    eventlog.HANDLERS,
    disks.HANDLERS,
    vss.HANDLERS,
    catalog.HANDLERS,
    winre.HANDLERS,
    sfc.HANDLERS,
    boot.HANDLERS,
    pclock.HANDLERS,
)


def join_handlers(families: tuple[Mapping[str, Handler], ...]) -> dict[str, Handler]:
    """One table from the families'; an op claimed twice is a programming error, not a silent override."""
    joined: dict[str, Handler] = {}
    for family in families:
        for name, handler in family.items():
            if name in joined:
                raise ValueError(f"two simulator handlers for {name}")
            joined[name] = handler
    return joined


HANDLERS: dict[str, Handler] = join_handlers(FAMILIES)


def execute(model: HostModel, op: Op) -> OpResult:
    """Answer ``op`` as the simulated Windows PC would."""
    problems = O.check_args(op)
    if problems:
        return OpResult.failure(O.ERROR_INVALID_PARAMETER, "; ".join(problems))
    handler = HANDLERS.get(op.name)
    if handler is None:
        return OpResult.failure(1, f"the simulator does not implement {op.name}")
    if op.writes:
        denied = refuse_write(model)
        if denied is not None:
            return denied
    return handler(model, dict(op.args))
