"""The check kinds whose value the exported runner derives on the PC, and the data each needs.

A kind here parses a tool's text or joins several reads in Python (:mod:`wbplay.vocab.derive`,
:mod:`wbplay.vocab.cmdparse`).  ``runner.ps1``'s ``Get-WbDerived`` holds the same algorithm in
PowerShell 2.0 and ``interp.derive`` in Python, line for line; every table they use (regexes,
provider ids, writer states, phrases) travels in the plan from the Python constants below, so
the PC never holds a copy that could drift.  A kind that is not here is exported as a
reported-only step (:mod:`wbplay.library.export.compile`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wbplay.vocab import cmdparse, domain

# The writer/provider block grammar of cmdparse.writers and cmdparse.providers.
_BLOCKS: dict[str, Any] = {
    "name_re": cmdparse._BLOCK_NAME.pattern,
    "guid_re": cmdparse._GUID.pattern,
    "state_re": cmdparse._STATE.pattern,
}


def _writers() -> dict[str, Any]:
    return {
        **_BLOCKS,
        "failed_states": list(domain.WRITER_FAILED_STATES),
        "busy_states": list(domain.WRITER_BUSY_STATES),
    }


def _named(args: Mapping[str, Any]) -> dict[str, Any]:
    return {**_writers(), "name": str(args.get("name", "")).lower()}


def _in_progress(_args: Mapping[str, Any]) -> dict[str, Any]:
    return {**_writers(), "started_id": domain.BACKUP_STARTED_ID, "completed_id": domain.BACKUP_COMPLETED_ID}


def _providers(_args: Mapping[str, Any]) -> dict[str, Any]:
    return {**_BLOCKS, "microsoft": sorted(domain.MICROSOFT_VSS_PROVIDERS)}


def _policy(args: Mapping[str, Any]) -> dict[str, Any]:
    return {"names": sorted({str(n).lower() for n in args.get("names") or []})}


def _capi2(_args: Mapping[str, Any]) -> dict[str, Any]:
    return {"benign": list(domain.BENIGN_CAPI2_513_MARKERS)}


def _easy_print(_args: Mapping[str, Any]) -> dict[str, Any]:
    return {"phrase": "easy print", "port_re": r"^TS\d+"}


# kind -> (the runner's derivation, its parameters from the probe's arguments).
DERIVED: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "vss.writers": ("writers", lambda _a: _writers()),
    "vss.writer": ("writer", _named),
    "vss.failed_writers": ("failed_writers", lambda _a: _writers()),
    "backup.in_progress": ("in_progress", _in_progress),
    "vss.providers": ("providers", _providers),
    "vss.third_party_providers": ("third_party_providers", _providers),
    "services.policy_disabled": ("policy_disabled", _policy),
    "capi2.system_writer": ("system_writer_errors", _capi2),
    "printer.easy_print": ("easy_print", _easy_print),
}
