"""A change that restarts the PC (``OpSpec.reboots``): send it, then wait until the
host answers with a new boot time.

The connection usually drops while the restart request is in flight; that is the
expected outcome, not a failure, so transport errors are tolerated here and the new
boot time is the proof that the PC restarted (work scheduled for boot, such as a
chkdsk pass, has run by then).
"""

from __future__ import annotations

import time
from typing import Any

from wbplay.errors import HostError
from wbplay.hosts.base import Host
from wbplay.run.context import RunContext
from wbplay.vocab.ops import ERROR_TIMEOUT, Op, OpResult, win32_failure


def boot_time(host: Host) -> Any:
    result = host.read([Op("os.info", {})])[0]
    return result.value.get("boot_time") if result.ok and result.value else None


def reboot(ctx: RunContext, step_id: str, op: Op) -> OpResult:
    """Send a restart, then wait until the host answers with a new boot time."""
    before = boot_time(ctx.host)
    try:
        sent = ctx.host.apply(op)
    except HostError as e:
        ctx.emit("host.reboot.dropped", step=step_id, error=str(e))
    else:
        if not sent.ok:
            return sent
    timeout_s = ctx.options.reboot_timeout_s
    ctx.emit("host.reboot.wait", step=step_id, boot_time=before, timeout_s=timeout_s)
    t0 = time.monotonic()
    try:
        with ctx.interruptible():  # Ctrl-C stops waiting at once, not after the poll or a timeout
            return _wait_until_back(ctx, step_id, before, t0 + timeout_s)
    except KeyboardInterrupt:
        ctx.interrupted = True
        ctx.host_away = "the PC was restarting when the run was interrupted"
        ctx.emit("host.reboot.interrupted", step=step_id, waited_s=round(time.monotonic() - t0, 1))
        return OpResult.failure(ERROR_TIMEOUT, "interrupted while waiting for the PC to restart")


def _wait_until_back(ctx: RunContext, step_id: str, before: Any, deadline: float) -> OpResult:
    while True:
        if ctx.interrupted:  # Ctrl-C came while the restart was being sent
            raise KeyboardInterrupt
        try:
            now = boot_time(ctx.host)
        except HostError as e:
            now = None
            ctx.emit("host.reboot.retry", step=step_id, error=str(e))
        if now is not None and now != before:
            ctx.emit("host.back", step=step_id, boot_time=now)
            return OpResult.success()
        if time.monotonic() >= deadline:
            ctx.host_away = "the PC did not come back from its restart in time"
            return win32_failure(ERROR_TIMEOUT)
        time.sleep(ctx.options.reboot_poll_s)


def answers(host: Host) -> bool:
    """One read of os.info: does the PC answer now?  (Before an automatic rollback.)"""
    try:
        return boot_time(host) is not None
    except HostError:
        return False
