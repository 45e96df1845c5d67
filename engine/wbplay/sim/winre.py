"""The Windows Recovery Environment: ``reagentc /info`` and ``winre.enable``/``disable``.
``reagentc /enable`` puts WinRE back where it was unless that disk is gone (KB975692's
reason to unplug the external drive first)."""

from __future__ import annotations

from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command
from wbplay.sim.text.reagentc import reagentc_info
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure


def _reagentc_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    return command("reagentc /info", 0, reagentc_info(m))


def _winre_disable(m: HostModel, _: dict[str, Any]) -> OpResult:
    re_ = m.state.get("winre")
    if re_ is None:
        return win32_failure(O.ERROR_NOT_SUPPORTED)
    re_["enabled"] = False  # winre.wim goes back to C:\Windows\System32\Recovery; the location is remembered
    return OpResult.success()


def _winre_enable(m: HostModel, _: dict[str, Any]) -> OpResult:
    """Back to the remembered location if its disk is still attached, else to the home
    location: why KB975692 says to disconnect the external drive first [V]."""
    re_ = m.state.get("winre")
    if re_ is None:
        return win32_failure(O.ERROR_NOT_SUPPORTED)
    if re_.get("enabled"):
        return OpResult.success()
    remembered = storage.disk(m, re_["disk"]) if "disk" in re_ else None
    if remembered is None or not remembered.get("attached", True):
        boot = storage.boot_volume(m)
        if boot is None:
            return win32_failure(O.ERROR_FILE_NOT_FOUND)
        re_["disk"] = re_.get("home_disk", boot["disk"])
        re_["partition"] = re_.get("home_partition", boot["partition"])
        re_["path"] = re_.get("home_path", "\\Recovery\\WindowsRE")
    re_["enabled"] = True
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "reagentc.info": _reagentc_info,
    "winre.disable": _winre_disable,
    "winre.enable": _winre_enable,
}
