"""Remedy kinds: typed writes that know their risk, their before-state, how to
describe themselves for a plan, and their inverse.

Rollback needs no author code for these: the runner records the before-state
with :attr:`ActionSpec.before`, and :attr:`ActionSpec.inverse` turns it into
the action that restores it.  ``manual`` is the one kind with no op: it is an
instruction for a human, recorded and never executed.
"""

from __future__ import annotations

import ntpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wbplay.playbook.matchers import show
from wbplay.playbook.model import Action, Probe, Risk
from wbplay.vocab.ops import Op

Args = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    kind: str
    op: str | None
    risk: Risk
    args: tuple[str, ...]
    before: Callable[[Args], Probe] | None  # what to read before changing
    describe: Callable[[Args, Any], str]  # (args, before) -> "X: A -> B"
    inverse: Callable[[Args, Any], Action | None] | None  # (args, before) -> undo
    doc: str
    # Raises the risk of one particular change, judged from its before-state (e.g. a shrink).
    risk_for: Callable[[Args, Any], Risk] | None = None


def _svc_mode_inverse(args: Args, before: Any) -> Action | None:
    if before is None:
        return None
    return Action("service.set_start_mode", {"name": args["name"], "start_mode": before})


def _svc_start_inverse(args: Args, before: Any) -> Action | None:
    # Only stop what this run started; a service that was already running stays.
    return None if before == "Running" else Action("service.stop", {"name": args["name"]})


def _svc_stop_inverse(args: Args, before: Any) -> Action | None:
    return Action("service.start", {"name": args["name"]}) if before == "Running" else None


def _reg_inverse(args: Args, before: Any) -> Action | None:
    if before and before.get("exists"):
        return Action(
            "registry.set",
            {"key": args["key"], "name": args["name"], "type": before["type"], "value": before["value"]},
        )
    return Action("registry.delete", {"key": args["key"], "name": args["name"]})


def _rename_inverse(args: Args, before: Any) -> Action | None:
    parent = ntpath.dirname(args["path"])
    return Action(
        "path.rename",
        {"path": ntpath.join(parent, args["new_name"]), "new_name": ntpath.basename(args["path"])},
    )


def _storage_add_inverse(args: Args, before: Any) -> Action | None:
    pair = {"for_volume": args["for_volume"], "on_volume": args["on_volume"]}
    if before is None:
        return Action("shadowstorage.delete", pair)
    return Action("shadowstorage.resize", {**pair, "max_size_mb": before})


def _storage_resize_inverse(args: Args, before: Any) -> Action | None:
    if before is None:
        return None
    return Action(
        "shadowstorage.resize",
        {"for_volume": args["for_volume"], "on_volume": args["on_volume"], "max_size_mb": before},
    )


def _storage_delete_inverse(args: Args, before: Any) -> Action | None:
    if before is None:
        return None
    return Action(
        "shadowstorage.add",
        {"for_volume": args["for_volume"], "on_volume": args["on_volume"], "max_size_mb": before},
    )


def _shrinks(args: Args, before: Any) -> bool:
    """A new maximum below the current one (0 = UNBOUNDED) makes Windows delete shadow copies to fit."""
    new = args.get("max_size_mb")
    if not isinstance(before, int) or isinstance(before, bool) or not isinstance(new, int):
        return False
    return (before == 0 and new != 0) or (new != 0 and new < before)


def _resize_risk(args: Args, before: Any) -> Risk:
    # docs/domain.md §6: shrinking an association can delete existing shadow copies and restore
    # points [U], which nothing can bring back; growing it is a reversible config change.
    return Risk.IRREVERSIBLE if _shrinks(args, before) else Risk.REVERSIBLE


def _mb(value: Any) -> str:
    if value is None:
        return "(no association)"
    return "UNBOUNDED" if value == 0 else f"{value} MB"


def _storage_probe(a: Args) -> Probe:
    return Probe("shadowstorage.max", {"for_volume": a["for_volume"], "on_volume": a["on_volume"]})


def _restart_inverse(args: Args, before: Any) -> Action | None:
    # A restart leaves a running service running; only stop what was stopped before.
    return Action("service.stop", {"name": args["name"]}) if before == "Stopped" else None


def _reg_show(before: Any) -> str:
    if not before or not before.get("exists"):
        return "(absent)"
    return f"{show(before.get('value'))} ({before.get('type')})"


ACTIONS: dict[str, ActionSpec] = {
    a.kind: a
    for a in (
        ActionSpec(
            "service.set_start_mode",
            "service.set_start_mode",
            Risk.REVERSIBLE,
            ("name", "start_mode"),
            lambda a: Probe("service.start_mode", {"name": a["name"]}),
            lambda a, b: f"{a['name']} start mode: {show(b)} → {a['start_mode']}",
            _svc_mode_inverse,
            "Set Start (and DelayedAutostart) in the service's registry key",
        ),
        ActionSpec(
            "service.start",
            "service.start",
            Risk.REVERSIBLE,
            ("name",),
            lambda a: Probe("service.state", {"name": a["name"]}),
            lambda a, b: f"{a['name']} state: {show(b)} → Running",
            _svc_start_inverse,
            "Start a service (Windows starts its dependencies first)",
        ),
        ActionSpec(
            "service.stop",
            "service.stop",
            Risk.REVERSIBLE,
            ("name",),
            lambda a: Probe("service.state", {"name": a["name"]}),
            lambda a, b: f"{a['name']} state: {show(b)} → Stopped",
            _svc_stop_inverse,
            "Stop a service",
        ),
        ActionSpec(
            "registry.set",
            "registry.set",
            Risk.REVERSIBLE,
            ("key", "name", "type", "value"),
            lambda a: Probe("registry.entry", {"key": a["key"], "name": a["name"]}),
            lambda a, b: f"{a['key']}\\{a['name']}: {_reg_show(b)} → {show(a['value'])} ({a['type']})",
            _reg_inverse,
            "Create or overwrite a registry value (the old value is recorded for rollback)",
        ),
        ActionSpec(
            "registry.delete",
            "registry.delete",
            Risk.REVERSIBLE,
            ("key", "name"),
            lambda a: Probe("registry.entry", {"key": a["key"], "name": a["name"]}),
            lambda a, b: f"{a['key']}\\{a['name']}: {_reg_show(b)} → (absent)",
            _reg_inverse,
            "Delete a registry value (its data is recorded for rollback)",
        ),
        ActionSpec(
            "path.rename",
            "path.rename",
            Risk.REVERSIBLE,
            ("path", "new_name"),
            lambda a: Probe("path", {"path": a["path"]}),
            lambda a, b: f"{a['path']} → {ntpath.join(ntpath.dirname(a['path']), a['new_name'])}",
            _rename_inverse,
            "Rename in place: the reversible way to quarantine an old backup set",
        ),
        ActionSpec(
            "path.delete",
            "path.delete",
            Risk.IRREVERSIBLE,
            ("path",),
            lambda a: Probe("path", {"path": a["path"]}),
            lambda a, b: f"{a['path']}: {'present' if b and b.get('exists') else 'absent'} → deleted",
            None,
            "Delete a file or folder tree.  Cannot be undone.",
        ),
        ActionSpec(
            "service.restart",
            "service.restart",
            Risk.REVERSIBLE,
            ("name",),
            lambda a: Probe("service.state", {"name": a["name"]}),
            lambda a, b: f"{a['name']}: {show(b)} → restarted (Running)",
            _restart_inverse,
            "Restart a service and its running dependents: clears the failed state of the VSS "
            "writers it hosts",
        ),
        ActionSpec(
            "chkdsk.schedule",
            "chkdsk.schedule",
            Risk.IRREVERSIBLE,
            ("volume", "mode"),
            lambda a: Probe("chkdsk.scheduled", {"volume": a["volume"]}),
            lambda a, b: (
                f"chkdsk {a['volume']} /{str(a['mode']).upper()} at the next restart "
                f"(scheduled now: {show(b)})"
            ),
            None,
            "Schedule chkdsk /F or /R for the next boot.  The pass changes file-system metadata and "
            "cannot be undone; /R reads every sector (hours on a big HDD, wear on an SSD)",
        ),
        ActionSpec(
            "chkdsk.run",
            "chkdsk.run",
            Risk.IRREVERSIBLE,
            ("volume", "mode"),
            lambda a: Probe("chkdsk.scan", {"volume": a["volume"]}, "problems"),
            lambda a, b: (
                f"chkdsk {a['volume']} /{str(a['mode']).upper()} /X now (read-only scan found "
                f"problems: {show(b)})"
            ),
            None,
            "Run chkdsk /F or /R now on a volume Windows can lock (not boot/system); forces a dismount",
        ),
        ActionSpec(
            "sfc.scannow",
            "sfc.scannow",
            Risk.IRREVERSIBLE,
            (),
            lambda a: Probe("sfc.verify", {}, "violations"),
            lambda a, b: f"sfc /scannow (integrity violations found: {show(b)})",
            None,
            "Replace corrupt protected system files from the component store",
        ),
        ActionSpec(
            "dism.restorehealth",
            "dism.restorehealth",
            Risk.IRREVERSIBLE,
            (),
            lambda a: Probe("dism.health", {}, "healthy"),
            lambda a, b: f"DISM /Online /Cleanup-Image /RestoreHealth (component store healthy: {show(b)})",
            None,
            "Repair the component store from Windows Update (Windows 8 and later), before sfc /scannow",
        ),
        ActionSpec(
            "host.reboot",
            "host.reboot",
            Risk.IRREVERSIBLE,
            ("reason", "notice_minutes"),
            lambda a: Probe("os.info", {}, "boot_time"),
            lambda a, b: (
                f"restart the PC in {a.get('notice_minutes', 5)} min ({a['reason']}; last boot {show(b)})"
            ),
            None,
            "Restart after a notice to signed-in users (5 minutes unless notice_minutes says); wbplay "
            "waits for the PC to come back and reads on",
        ),
        ActionSpec(
            "shadowstorage.add",
            "shadowstorage.add",
            Risk.REVERSIBLE,
            ("for_volume", "on_volume", "max_size_mb"),
            _storage_probe,
            lambda a, b: (
                f"shadow storage for {a['for_volume']} on {a['on_volume']}: {_mb(b)} → "
                f"max {_mb(a['max_size_mb'])}"
            ),
            _storage_add_inverse,
            "Create a shadow copy storage association (undone by deleting it)",
        ),
        ActionSpec(
            "shadowstorage.resize",
            "shadowstorage.resize",
            Risk.REVERSIBLE,
            ("for_volume", "on_volume", "max_size_mb"),
            _storage_probe,
            lambda a, b: (
                f"shadow storage for {a['for_volume']} on {a['on_volume']}: max {_mb(b)} → "
                f"{_mb(a['max_size_mb'])}"
                + (" (a shrink: Windows may delete existing shadow copies)" if _shrinks(a, b) else "")
            ),
            _storage_resize_inverse,
            "Change an association's maximum (shrinking can delete shadow copies: docs/domain.md s.6)",
            _resize_risk,
        ),
        ActionSpec(
            "shadowstorage.delete",
            "shadowstorage.delete",
            Risk.IRREVERSIBLE,
            ("for_volume", "on_volume"),
            _storage_probe,
            lambda a, b: f"shadow storage for {a['for_volume']} on {a['on_volume']}: {_mb(b)} → deleted",
            _storage_delete_inverse,
            "Delete an association and every shadow copy stored in it",
        ),
        ActionSpec(
            "winre.disable",
            "winre.disable",
            Risk.REVERSIBLE,
            (),
            lambda a: Probe("winre", {}, "enabled"),
            lambda a, b: f"Windows RE enabled: {show(b)} → false (reagentc /disable)",
            lambda a, b: Action("winre.enable", {}) if b is True else None,
            "reagentc /disable: WinRE goes back to C:\\Windows\\System32\\Recovery",
        ),
        ActionSpec(
            "winre.enable",
            "winre.enable",
            Risk.REVERSIBLE,
            (),
            lambda a: Probe("winre", {}, "enabled"),
            lambda a, b: f"Windows RE enabled: {show(b)} → true (reagentc /enable)",
            lambda a, b: Action("winre.disable", {}) if b is False else None,
            "reagentc /enable (KB975692: it might fail)",
        ),
        ActionSpec(
            "manual",
            None,
            Risk.READ_ONLY,
            ("instruction",),
            None,
            lambda a, b: f"ask a human: {a['instruction'].strip().splitlines()[0]}",
            None,
            "An instruction for a human; wbplay records the answer and changes nothing",
        ),
    )
}


def before_probe(action: Action) -> Probe | None:
    """The read that captures what ``action`` will change."""
    spec = ACTIONS[action.kind]
    return spec.before(action.args) if spec.before else None


def to_op(action: Action) -> Op:
    spec = ACTIONS[action.kind]
    if spec.op is None:
        raise ValueError(f"{action.kind} has no op")
    return Op(spec.op, {k: v for k, v in action.args.items() if k in spec.args})


def risk_of(action: Action, before: Any, declared: Risk) -> Risk:
    """The risk of this change: the step's (derived or raised) risk, raised further by its before-state."""
    spec = ACTIONS[action.kind]
    return max(declared, spec.risk_for(action.args, before)) if spec.risk_for else declared


def describe(action: Action, before: Any) -> str:
    return ACTIONS[action.kind].describe(action.args, before)


def inverse(action: Action, before: Any, undo: Action | None = None) -> Action | None:
    """The action that restores ``before``; an author's ``undo`` takes precedence."""
    if undo is not None:
        return undo
    spec = ACTIONS[action.kind]
    return spec.inverse(action.args, before) if spec.inverse else None
