"""Start-up (issue 17): ``wbplay --help`` and ``--version`` import nothing heavy.

The engine, jsonschema, pywinrm, the simulator and the lab load when a command
needs them (``wbplay.cli.lazy``); this guards the import set, not a time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Imported (executed) by --help, these would mean a command's whole stack is paid for up front.
HEAVY = (
    "jsonschema",
    "winrm",
    "requests",
    "spnego",
    "wbplay.app",
    "wbplay.agent",
    "wbplay.hosts.sim",
    "wbplay.hosts.winrm",
    "wbplay.lab.server",
    "wbplay.lab.agent_handler",
    "wbplay.library.",  # a trailing dot: the package itself (a docstring) may be imported, not its modules
    # wbplay.playbook.load/schema may be imported (cli/author's lint imports them): they import
    # jsonschema only when validating, and jsonschema is on this list.
    "wbplay.report",
    "wbplay.run.runner",
    "wbplay.sim.",
)

PROBE = """
import json, sys
sys.argv = ["wbplay", *json.loads(sys.argv[1])]
from wbplay.cli import main
try:
    main()
except SystemExit:
    pass
loaded = [name for name, m in sys.modules.items() if type(m).__name__ != "_LazyModule"]
print(json.dumps(loaded), file=sys.stderr)
"""


def _under(module: str, heavy: str) -> bool:
    if heavy.endswith("."):
        return module.startswith(heavy)
    return module == heavy or module.startswith(heavy + ".")


def loaded_by(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))], capture_output=True, text=True, timeout=120
    )
    return set(json.loads(out.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"]])
def test_help_and_version_import_nothing_heavy(args: list[str]) -> None:
    loaded = loaded_by(*args)
    assert "wbplay.cli" in loaded  # the probe did run the CLI
    heavy = sorted(m for m in loaded if any(_under(m, h) for h in HEAVY))
    assert heavy == [], heavy


def test_a_command_still_gets_what_it_needs() -> None:
    # The lazy modules load on use: `list` reads the library through wbplay.app and the loader.
    loaded = loaded_by("list")
    assert {"wbplay.app", "wbplay.playbook.load", "wbplay.playbook.schema"} <= loaded
