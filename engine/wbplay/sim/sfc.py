"""System File Checker: ``sfc /verifyonly``, ``sfc /scannow`` (repairs what the component
store can) and the ``[SR]`` lines it leaves in CBS.log."""

from __future__ import annotations

from typing import Any

from wbplay.sim import clock
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command
from wbplay.sim.text.sfc import cbs_sr_lines, sfc_output
from wbplay.vocab.ops import OpResult


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
    stamp = clock.advance(m, 20).replace("T", " ").rstrip("Z")
    m.state.setdefault("cbs_log", []).extend(cbs_sr_lines(stamp, repaired, unrepairable))
    sf["corrupt"] = []
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "sfc.verifyonly": _sfc_verifyonly,
    "cbs.sr_lines": _cbs_sr_lines,
    "sfc.scannow": _sfc_scannow,
}
