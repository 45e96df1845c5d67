"""The exported files: the agent's functions, the plan as one base64 line, the runner.

Each script is ``agent_script()`` without its main block, then two literals
this module writes (the mode, from a fixed set, and the base64 of the plan),
then ``runner.ps1``.  No playbook text is outside the base64 line.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from importlib import resources

from wbplay.agent.script import agent_script, drop_comment_lines, strip_indentation
from wbplay.library.export.compile import ExportError, Plan

# 200 KB per Remediations script: found only in a third-party source (IntuneScriptLab's
# Find-IslScriptSize rule, PowerShell Gallery, which quotes Microsoft Learn for it and measured the
# service taking more through Graph); the export refuses anything bigger rather than guess.
SIZE_LIMIT = 200 * 1024
MODES = ("detect", "remediate", "discover", "configmgr")
_AGENT_MAIN = "\n$wbJson = $null\n"

# Intune runs 32-bit PowerShell unless "Run script in 64-bit PowerShell" is Yes (remediations.md via
# docs/domain-review.md C.3; redirection: EUCPilots/vcredist#51, third party); System32 and
# HKLM\Software are then redirected and the checks would read the wrong registry. Refuse loudly
# (exit 1: never a silent "compliant") instead of reading it.
_BITNESS = """if ($env:PROCESSOR_ARCHITEW6432) {
[Console]::Out.WriteLine('wbplay export: 32-bit PowerShell: set Run script in 64-bit PowerShell to Yes')
exit 1
}
"""


@dataclass(frozen=True, slots=True)
class Exported:
    name: str
    text: str

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))


def _agent_functions() -> str:
    text = agent_script()
    cut = text.find(_AGENT_MAIN)
    if cut < 0:
        raise ExportError("the agent's main block was not found; the export cannot embed it")
    return text[: cut + 1]


def _runner() -> str:
    raw = resources.files("wbplay.library.export").joinpath("runner.ps1").read_text(encoding="ascii")
    return strip_indentation(drop_comment_lines(raw.replace("\r\n", "\n")))


def encode_plan(plan: Plan) -> str:
    text = json.dumps(plan.data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def script(plan: Plan, mode: str, name: str) -> Exported:
    """One exported script; raises :class:`ExportError` past :data:`SIZE_LIMIT`."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    agent = _agent_functions()
    head, _, rest = agent.partition("param([string]$Request)\n")
    if not rest:
        raise ExportError("the agent does not open with its param() block")
    # param() must stay the first statement; the bitness guard comes right after it.
    body = (
        head
        + "param([string]$Request)\n"
        + _BITNESS
        + rest
        + f"$WbExportMode = '{mode}'\n"
        + f"$WbExportData = '{encode_plan(plan)}'\n"
        + _runner()
    )
    out = Exported(name, body.replace("\n", "\r\n"))
    if out.size > SIZE_LIMIT:
        raise ExportError(
            f"{name} would be {out.size} bytes; Intune takes scripts up to {SIZE_LIMIT} bytes (200 KB)"
        )
    return out
