"""System File Checker: ``sfc /verifyonly``, ``sfc /scannow`` (repairs what the component
store can) and the ``[SR]`` lines it leaves in CBS.log; DISM ``/ScanHealth`` and
``/RestoreHealth`` for the store itself (Windows 8 and later: KB929833 says to run DISM before
sfc, because sfc repairs files *from* the store; a damaged store leaves them unrepaired)."""

from __future__ import annotations

from typing import Any

from wbplay.sim import clock
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command
from wbplay.sim.text.sfc import cbs_sr_lines, dism_output, sfc_output
from wbplay.vocab.ops import ERROR_INVALID_PARAMETER, OpResult, win32_failure


def _system_files(m: HostModel) -> dict[str, list[str]]:
    sf: dict[str, list[str]] = m.state.get("system_files") or {}
    return sf


def _cbs_log(m: HostModel) -> list[str] | None:
    """CBS.log's lines (``cbs_log``, absent: empty); ``None`` when the state says there is
    none (``null``).  A read: the state is not touched."""
    if "cbs_log" in m.state and m.state["cbs_log"] is None:
        return None
    log: list[str] = m.state.get("cbs_log") or []
    return log


def _stamp(m: HostModel, seconds: int) -> str:
    return clock.advance(m, seconds).replace("T", " ").rstrip("Z")


def _sfc_verifyonly(m: HostModel, _: dict[str, Any]) -> OpResult:
    # The agent's Get-WbSfcVerify: the console text, and the [SR] lines the run wrote to
    # CBS.log (cbs; null without a CBS.log), which decide the verdict (cmdparse.sfc_run).
    # A real verify appends those lines to CBS.log too; the sim keeps every read free of
    # side effects (clock included), so they are returned and not kept.
    sf = _system_files(m)
    corrupt, unrepairable = list(sf.get("corrupt", [])), list(sf.get("unrepairable", []))
    found = bool(corrupt or unrepairable)
    out = sfc_output(m, verify_only=True, found=found, unrepaired=False)
    cbs = None
    if _cbs_log(m) is not None:
        stamp = clock.fmt(clock.now(m)).replace("T", " ").rstrip("Z")
        cbs = "\r\n".join(cbs_sr_lines(stamp, corrupt, unrepairable, verify_only=True)) + "\r\n"
    result = command("sfc /verifyonly", 0, out)
    return OpResult.success({**result.value, "cbs": cbs})


def _cbs_sr_lines(m: HostModel, _: dict[str, Any]) -> OpResult:
    lines = [ln for ln in _cbs_log(m) or [] if "[SR]" in ln]
    out = "\r\n".join(lines) + ("\r\n" if lines else "")
    return command('findstr /c:"[SR]" %windir%\\Logs\\CBS\\CBS.log', 0 if lines else 1, out)


def _sfc_scannow(m: HostModel, _: dict[str, Any]) -> OpResult:
    sf = m.state.setdefault("system_files", {})
    repaired, unrepairable = list(sf.get("corrupt", [])), list(sf.get("unrepairable", []))
    if sf.get("store_corrupt"):
        # "Cannot repair member file": the store it copies from is damaged too.
        repaired, unrepairable = [], unrepairable + [f for f in repaired if f not in unrepairable]
        sf["unrepairable"] = unrepairable
    sf["corrupt"] = []
    log = _cbs_log(m)
    stamp = _stamp(m, 20)
    if log is None:
        # The agent judges /scannow by the [SR] lines CBS.log gained: none to read is an
        # unknown outcome, never success (its exit codes are undocumented, docs/domain.md s.4).
        return OpResult.failure(1, "no CBS.log to read, so the outcome of sfc /scannow is unknown")
    m.state["cbs_log"] = [*log, *cbs_sr_lines(stamp, repaired, unrepairable)]
    return OpResult.success()


def _dism_scanhealth(m: HostModel, _: dict[str, Any]) -> OpResult:
    line = "DISM /Online /Cleanup-Image /ScanHealth"
    if m.major_minor < (6, 2):
        # Windows 7's DISM has no /ScanHealth: it prints error 87 and exits with it [3P]; the
        # agent reports that as the command's output, so the simulator does too.
        return command(line, 87, "\r\nError: 87\r\n\r\nThe scanhealth option is unknown.\r\n")
    healthy = not _system_files(m).get("store_corrupt")
    return command(line, 0, dism_output(m, scan=True, healthy=healthy))


def _dism_restorehealth(m: HostModel, _: dict[str, Any]) -> OpResult:
    if m.major_minor < (6, 2):
        return win32_failure(ERROR_INVALID_PARAMETER)  # DISM's error 87 on Windows 7
    sf = m.state.setdefault("system_files", {})
    clock.advance(m, 15)
    if sf.get("store_corrupt"):
        sf["store_corrupt"] = False
        # The files sfc could not repair before become repairable again.
        sf["corrupt"] = sorted({*sf.get("corrupt", []), *sf.get("unrepairable", [])})
        sf["unrepairable"] = []
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "dism.scanhealth": _dism_scanhealth,
    "dism.restorehealth": _dism_restorehealth,
    "sfc.verifyonly": _sfc_verifyonly,
    "cbs.sr_lines": _cbs_sr_lines,
    "sfc.scannow": _sfc_scannow,
}
