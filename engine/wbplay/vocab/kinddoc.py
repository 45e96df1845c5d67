"""Documentation of every check kind, remedy kind, matcher and argument: one source for
``wbplay doc`` and for the descriptions and examples in ``schemas/playbook.schema.json``.

What a kind *is* (its op, arguments, risk, inverse) stays in :mod:`wbplay.vocab.probe_catalog`
and :mod:`wbplay.vocab.actions`; this module only adds the words an author needs: what each
argument means, what Windows is read or changed, how it is undone, and an example.
:func:`annotate` writes those into the playbook schema; ``tests/test_kinddoc.py`` fails when
the shipped schema and this module drift apart (regenerate with
``python -m wbplay.vocab.kinddoc schemas/playbook.schema.json``).
"""

from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbplay.vocab.actions import ACTIONS
from wbplay.vocab.ops import OP_SPECS
from wbplay.vocab.probe_catalog import PROBES


@dataclass(frozen=True, slots=True)
class ArgDoc:
    type: str
    description: str
    example: Any


ARGS: dict[str, ArgDoc] = {
    "name": ArgDoc(
        "string", "a service's short name (VSS, not 'Volume Shadow Copy'), or a value name", "VSS"
    ),
    "key": ArgDoc(
        "string", "a registry key, HKLM\\... (HKLM, HKCU, HKU, HKCR, HKCC)", "HKLM\\SOFTWARE\\Policies"
    ),
    "path": ArgDoc("string", "a Windows path; may contain {{ variables }}", "E:\\WindowsImageBackup"),
    "new_name": ArgDoc("string", "the new leaf name (same folder)", "WindowsImageBackup.old"),
    "volume": ArgDoc(
        "volume",
        "a volume: C:, \\\\?\\Volume{GUID}\\, @boot (Windows), @system (boot manager) or @winre",
        "C:",
    ),
    "for_volume": ArgDoc("volume", "the volume whose shadow copies are stored", "C:"),
    "on_volume": ArgDoc("volume", "the volume that holds the shadow copy storage", "C:"),
    "storage_volume": ArgDoc("volume", "where the shadow storage lives, if not on the volume itself", "C:"),
    "target": ArgDoc("volume", "the backup destination volume (E:) or share", "E:"),
    "provider": ArgDoc(
        "string", "an event provider name, as Event Viewer shows it", "Microsoft-Windows-Backup"
    ),
    "ids": ArgDoc("list of integers", "event ids to keep (all if omitted)", [517, 521]),
    "log": ArgDoc("string", "the event log to read (Application, System...)", "Application"),
    "since_days": ArgDoc("integer", "how many days back to read (default 30)", 30),
    "max": ArgDoc("integer", "at most this many events, newest first", 20),
    "start_mode": ArgDoc("string", "Automatic, AutomaticDelayed, Manual or Disabled", "Manual"),
    "type": ArgDoc(
        "string", "REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ or REG_BINARY", "REG_DWORD"
    ),
    "value": ArgDoc("any", "the data to write (a number for REG_DWORD)", 1),
    "mode": ArgDoc("string", "f (chkdsk /F: fix metadata) or r (/R: also find bad sectors, hours)", "f"),
    "reason": ArgDoc("string", "why the PC restarts, shown in the plan and the journal", "finish the repair"),
    "max_size_mb": ArgDoc("integer", "the association's maximum in MB (0 = UNBOUNDED)", 10240),
    "notice_minutes": ArgDoc("integer", "minutes of warning signed-in users get (default 5)", 5),
    "window": ArgDoc("string", "maintenance window HH:MM-HH:MM, PC's local time; empty: any", "22:00-05:00"),
    "allow_signed_in": ArgDoc("boolean", "restart even while someone has a desktop session", False),
    "names": ArgDoc("list of strings", "service names (short names, as in sc query)", ["VSS", "swprv"]),
    "instruction": ArgDoc(
        "string", "what the human must do, in full sentences", "Reconnect the backup drive."
    ),
}

# Arguments whose example differs per kind (a writer is not a service).
_KIND_ARGS: dict[str, dict[str, Any]] = {
    "vss.writer": {"name": "System Writer"},
    "registry.value": {"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\VSS", "name": "Start"},
    "registry.entry": {"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\VSS", "name": "Start"},
    "registry.key": {"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\VSS"},
    "registry.set": {"key": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Backup", "name": "x"},
    "registry.delete": {"key": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Backup\\Client", "name": "x"},
    "path.children": {"path": "E:\\"},
    "shadowstorage.room": {"volume": "@system"},
    "volume.critical": {"volume": "E:"},
}
_KIND_ARGS["registry.set"] = {
    "key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\VSS",
    "name": "Start",
    "type": "REG_DWORD",
    "value": 3,
}
_KIND_ARGS["registry.delete"] = {
    "key": "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Backup\\Client",
    "name": "DisableBackupUI",
}

# A typical expectation per check kind, for ``wbplay doc``'s example and ``wbplay new``.
EXPECT: dict[str, tuple[str | None, dict[str, Any]]] = {
    "os.info": ("build", {"gte": 7601}),
    "service": ("state", {"equals": "Running"}),
    "service.exists": (None, {"equals": True}),
    "service.start_mode": (None, {"not": {"in": ["Disabled", None]}}),
    "service.state": (None, {"equals": "Running"}),
    "registry.value": (None, {"equals": 3}),
    "registry.entry": ("exists", {"equals": False}),
    "registry.key": ("exists", {"equals": True}),
    "path.exists": (None, {"equals": False}),
    "path": ("exists", {"equals": False}),
    "volume": ("free_percent", {"gte": 10}),
    "disk": ("bus_type", {"not": {"equals": "USB"}}),
    "volume.critical": ("critical", {"equals": False}),
    "volume.dirty": (None, {"equals": False}),
    "chkdsk.scheduled": (None, {"equals": False}),
    "vss.failed_writers": (None, {"equals": []}),
    "vss.writer": ("failed", {"equals": False}),
    "winre": ("enabled", {"equals": True}),
    "session": ("elevated", {"equals": True}),
    "sfc.verify": ("violations", {"equals": False}),
    "image.target": ("critical", {"equals": False}),
    "shadowstorage.room": ("ok", {"equals": True}),
    "disk.errors": ("count", {"equals": 0}),
    "volume.repair_needed": ("needed", {"equals": False}),
    "backup.errors": (None, {"equals": []}),
    "printer.easy_print": ("present", {"equals": False}),
    "host.reboot_ok": ("ok", {"equals": True}),
    "backup.in_progress": ("running", {"equals": False}),
    "capi2.system_writer": (None, {"equals": []}),
    "dism.health": ("healthy", {"equals": True}),
    "libraries.unavailable": (None, {"equals": []}),
    "vss.third_party_providers": (None, {"equals": []}),
    "backup.last_result": ("id", {"not": {"equals": 561}}),
    "wsb.disks": (None, {"exists": True}),
    "user.decimal_not_period": (None, {"equals": []}),
    "services.missing_volume": (None, {"equals": []}),
    "services.policy_disabled": (None, {"equals": []}),
    # Nothing (no pass recorded, no association) passes these too: a PC never checked is fine.
    "chkdsk.last_result": ("clean", {"not": {"equals": False}}),
    "shadowstorage.max": (None, {"not": {"equals": 0}}),
}

# What each op family reads or changes on a real PC (the agent's side, agent/*.ps1).
_WINDOWS: dict[str, str] = {
    "os": "Win32_OperatingSystem and the registry's CurrentVersion key",
    "service": "the Service Control Manager (Win32_Service; HKLM\\SYSTEM\\CurrentControlSet\\Services)",
    "registry": "the registry (Microsoft.Win32.Registry, 64-bit view)",
    "path": "the file system (Get-Item / Rename-Item / Remove-Item -LiteralPath)",
    "events": "the event logs (Get-WinEvent, or Get-EventLog on PowerShell 2.0)",
    "disk": "Win32_DiskDrive / MSFT_Disk",
    "volume": "Win32_Volume and partition data",
    "shadowstorage": "Win32_ShadowStorage / vssadmin",
    "backup": "the backup catalog (wbadmin get versions)",
    "session": "the agent's own token (WindowsIdentity)",
    "user": "the loaded user hives (HKU\\<SID>, HKU\\.DEFAULT) and profiles",
    "printer": "Win32_Printer / Win32_PrinterDriver",
    "chkdsk": "chkdsk.exe",
    "chkntfs": "chkntfs.exe",
    "fsutil": "fsutil.exe",
    "vssadmin": "vssadmin.exe",
    "wbadmin": "wbadmin.exe",
    "reagentc": "reagentc.exe",
    "sfc": "sfc.exe",
    "cbs": "%windir%\\Logs\\CBS\\CBS.log",
    "winre": "reagentc.exe",
    "host": "Restart-Computer",
    "dism": "DISM.exe /Online /Cleanup-Image",
}

UNDO: dict[str, str] = {
    "service.set_start_mode": "sets the start mode it read before",
    "service.start": "stops the service again, unless it was already running",
    "service.stop": "starts the service again if it was running",
    "service.restart": "stops the service if it was stopped before; a running one stays running",
    "registry.set": "writes the old data and type back, or deletes the value if it did not exist",
    "registry.delete": "writes the deleted data and type back",
    "path.rename": "renames it back",
    "path.delete": "none: the data is gone (irreversible)",
    "chkdsk.schedule": "none once the check has run (irreversible)",
    "chkdsk.run": "none: the repair changes file-system metadata (irreversible)",
    "sfc.scannow": "none: replaced files stay replaced (irreversible)",
    "dism.restorehealth": "none: the repaired component store stays repaired (irreversible)",
    "host.reboot": "none: a restart cannot be taken back (irreversible)",
    "shadowstorage.add": "deletes the association, or resizes it back if one existed",
    "shadowstorage.resize": "resizes it back (a shrink may already have deleted shadow copies)",
    "shadowstorage.delete": "re-creates the association; deleted shadow copies do not come back",
    "winre.disable": "reagentc /enable if it was enabled",
    "winre.enable": "reagentc /disable if it was disabled",
    "manual": "none needed: wbplay changes nothing",
}

MATCHERS: dict[str, tuple[str, Any]] = {
    "equals": ("the value is exactly this (null: nothing was found)", {"equals": "Running"}),
    "in": ("the value is one of these", {"in": ["Automatic", "AutomaticDelayed"]}),
    "not": ("the inner expectation does not hold", {"not": {"in": ["Disabled", None]}}),
    "matches": ("the value, as text, matches this Python regular expression", {"matches": "^10\\."}),
    "lt": ("less than a number or dotted version", {"lt": 5}),
    "gt": ("greater than a number or dotted version", {"gt": 0}),
    "lte": ("at most a number or dotted version", {"lte": 100}),
    "gte": ("at least a number or dotted version", {"gte": 10}),
    "exists": ("true: something was found; false: nothing was", {"exists": False}),
    "contains": ("a list or text contains this item", {"contains": "System Writer"}),
    "all": ("every inner expectation holds", {"all": [{"gte": 1}, {"lte": 10}]}),
    "any": ("at least one inner expectation holds", {"any": [{"equals": "Manual"}, {"equals": "Automatic"}]}),
}


def arg_description(kind: str, name: str) -> str:
    """What an argument means for this kind (``name`` is a service, a registry value or a writer)."""
    if name == "name" and kind.startswith("registry"):
        return "the registry value's name under key"
    if name == "name" and kind == "vss.writer":
        return "the writer's name as `vssadmin list writers` shows it, e.g. System Writer"
    if name == "name":
        return "a service's short name (VSS, not 'Volume Shadow Copy'), as `sc query` shows it"
    return ARGS[name].description


def check_kinds() -> list[str]:
    return sorted(PROBES)


def remedy_kinds() -> list[str]:
    return sorted(ACTIONS)


def probe_args(kind: str) -> tuple[tuple[str, bool], ...]:
    """A check kind's arguments, each with whether it is required."""
    spec = PROBES[kind]
    optional = set(spec.optional_args) | {u for u in spec.uses if (kind, u) in _OPTIONAL_USES}
    names = list(spec.args) + list(spec.optional_args) + [u for u in spec.uses if u not in spec.args]
    return tuple((n, n not in optional) for n in dict.fromkeys(names))


# Joined probes' arguments that have defaults (ProbeSpec does not say which; the schema test
# keeps this list and the schema's ``required`` in step).
_OPTIONAL_USES = frozenset(
    {
        ("shadowstorage.room", "storage_volume"),
        ("disk.errors", "since_days"),
        ("shadowstorage", "for_volume"),
        ("backup.versions", "target"),
        ("backup.errors", "since_days"),
        ("backup.last_result", "since_days"),
        ("volume.repair_needed", "since_days"),
        ("capi2.system_writer", "since_days"),
        ("host.reboot_ok", "window"),
        ("host.reboot_ok", "allow_signed_in"),
    }
)


# Remedy arguments with a default (ActionSpec does not say which).
_OPTIONAL_ACTION_ARGS = frozenset({("host.reboot", "notice_minutes")})


def action_args(kind: str) -> tuple[tuple[str, bool], ...]:
    return tuple((n, (kind, n) not in _OPTIONAL_ACTION_ARGS) for n in ACTIONS[kind].args)


def example_args(kind: str, names: list[str]) -> dict[str, Any]:
    overrides = _KIND_ARGS.get(kind, {})
    return {n: overrides.get(n, ARGS[n].example) for n in names}


def check_example(kind: str) -> dict[str, Any]:
    """A valid ``check:`` of this kind (required arguments only)."""
    out: dict[str, Any] = {"kind": kind}
    out.update(example_args(kind, [n for n, req in probe_args(kind) if req]))
    fld = EXPECT.get(kind, (None, {}))[0]
    if fld:
        out["field"] = fld
    return out


def expect_example(kind: str) -> dict[str, Any]:
    return dict(EXPECT.get(kind, (None, {"exists": True}))[1])


def remedy_example(kind: str) -> dict[str, Any]:
    return {"kind": kind, **example_args(kind, [n for n, _ in action_args(kind)])}


def windows_side(op: str | None) -> str:
    if op is None:
        return "nothing: a person does it"
    return _WINDOWS.get(op.split(".")[0], op)


@dataclass(frozen=True, slots=True)
class KindDoc:
    """One kind as ``wbplay doc KIND`` shows it."""

    kind: str
    role: str  # check | remedy
    summary: str
    risk: str
    op: str | None
    windows: str
    args: tuple[tuple[str, str, bool, str], ...]  # name, type, required, description
    undo: str
    example: dict[str, Any]


def describe(kind: str) -> KindDoc:
    """Everything known about one check or remedy kind (KeyError if it is neither)."""
    if kind in PROBES:
        spec = PROBES[kind]
        ops = [spec.op] + [name for name, _ in spec.extra]
        args = tuple((n, ARGS[n].type, req, arg_description(kind, n)) for n, req in probe_args(kind))
        _fld, expect = EXPECT.get(kind, (None, {"exists": True}))
        example = {"check": check_example(kind), "expect": expect}
        reads = "; ".join(dict.fromkeys(f"{windows_side(o)} ({o})" for o in ops))
        return KindDoc(
            kind,
            "check",
            spec.doc,
            "read-only",
            spec.op,
            "reads " + reads,
            args,
            "none needed: a check never changes the PC",
            example,
        )
    spec_a = ACTIONS[kind]
    args = tuple((n, ARGS[n].type, True, arg_description(kind, n)) for n, _ in action_args(kind))
    risk = spec_a.risk.label + (" (raised to irreversible by a shrink)" if spec_a.risk_for else "")
    op_doc = OP_SPECS[spec_a.op].doc if spec_a.op else ""
    windows = (
        f"changes {windows_side(spec_a.op)} ({spec_a.op}: {op_doc})" if spec_a.op else windows_side(None)
    )
    return KindDoc(
        kind,
        "remedy",
        spec_a.doc,
        risk,
        spec_a.op,
        windows,
        args,
        UNDO[kind],
        {"remedy": remedy_example(kind)},
    )


# -- the schema ------------------------------------------------------------------------------


def _branch_doc(kd: KindDoc) -> str:
    return f"{kd.summary}. Risk: {kd.risk}. On Windows: {kd.windows}. Undo: {kd.undo}."


def annotate(schema: dict[str, Any]) -> dict[str, Any]:
    """The playbook schema with a description and an example on every kind, argument and matcher."""
    out = copy.deepcopy(schema)
    defs = out["$defs"]
    for node, role in (("check", "check"), ("action", "remedy")):
        kind_prop = defs[node]["properties"]["kind"]
        kinds = list(kind_prop["enum"])
        docs = {k: describe(k) for k in kinds}
        kind_prop["description"] = f"the {role} kind: `wbplay doc` lists them, `wbplay doc KIND` explains one"
        kind_prop["markdownEnumDescriptions"] = [_branch_doc(docs[k]) for k in kinds]
        kind_prop["enumDescriptions"] = [docs[k].summary for k in kinds]
        for branch in defs[node]["allOf"]:
            kd = docs[branch["if"]["properties"]["kind"]["const"]]
            then = branch["then"]
            then["description"] = _branch_doc(kd)
            then["examples"] = [kd.example["check"] if role == "check" else kd.example["remedy"]]
            for name, _type, _req, desc in kd.args:
                prop = then["properties"][name]
                prop.setdefault("description", desc)  # the schema's own wording wins
                prop["examples"] = [example_args(kd.kind, [name])[name]]
    for key, (desc, example) in MATCHERS.items():
        prop = defs["matcher"]["properties"][key]
        prop["description"] = desc
        prop["examples"] = [example[key]]
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    """Rewrite a playbook schema file in place with the current documentation."""
    path = Path(argv[0])
    path.write_text(render(annotate(json.loads(path.read_text(encoding="utf-8")))), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
