"""What every simulated op answers with: the handler signature, a console command's
``{command_line, exit_code, output}``, and the lookup of a volume argument."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure

Handler = Callable[[HostModel, dict[str, Any]], OpResult]


def command(line: str, exit_code: int, output: str) -> OpResult:
    return OpResult.success({"command_line": line, "exit_code": exit_code, "output": output})


def volume_or_fail(m: HostModel, selector: str) -> Vol | OpResult:
    v = storage.find_volume(m, selector)
    return win32_failure(O.ERROR_FILE_NOT_FOUND) if v is None else v
