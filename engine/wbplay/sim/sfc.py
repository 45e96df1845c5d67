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


def _sfc_verifyonly(m: HostModel, _: dict[str, Any]) -> OpResult:
    sf = _system_files(m)
    found = bool(sf.get("corrupt") or sf.get("unrepairable"))
    return command("sfc /verifyonly", 0, sfc_output(m, verify_only=True, found=found, unrepaired=False))


def _cbs_sr_lines(m: HostModel, _: dict[str, Any]) -> OpResult:
    lines = [ln for ln in m.state.get("cbs_log", []) if "[SR]" in ln]
    out = "\r\n".join(lines) + ("\r\n" if lines else "")
    return command('findstr /c:"[SR]" %windir%\\Logs\\CBS\\CBS.log', 0 if lines else 1, out)


def _sfc_scannow(m: HostModel, _: dict[str, Any]) -> OpResult:
    sf = m.state.setdefault("system_files", {})
    repaired, unrepairable = list(sf.get("corrupt", [])), list(sf.get("unrepairable", []))
    if sf.get("store_corrupt"):
        # "Cannot repair member file": the store it copies from is damaged too.
        repaired, unrepairable = [], unrepairable + [f for f in repaired if f not in unrepairable]
        sf["unrepairable"] = unrepairable
    stamp = clock.advance(m, 20).replace("T", " ").rstrip("Z")
    m.state.setdefault("cbs_log", []).extend(cbs_sr_lines(stamp, repaired, unrepairable))
    sf["corrupt"] = []
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
