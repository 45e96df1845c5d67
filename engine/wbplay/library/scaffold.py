"""``wbplay new``: scaffold a playbook, its scenarios and the two simulated PCs they run on.

The generated files validate and their scenarios pass as written: each step comes from a
*recipe* that knows how to make a simulated PC healthy or broken for it (a Disabled VSS, a
backup policy value present); a check kind without a recipe gets its documented example
(:mod:`wbplay.vocab.kinddoc`) and a manual remedy, and both PCs are left healthy for it.
``--from`` copies an existing playbook (comments and all) under a new id, with its scenarios.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wbplay.errors import UsageError
from wbplay.library.scenarios import SUFFIX, scenarios_dir
from wbplay.playbook import load as playbook_mod
from wbplay.resources import schemas_dir, states_dir
from wbplay.vocab import kinddoc

BASE_PC = "win10-healthy"
State = dict[str, Any]
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_POLICY_KEY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\Backup\\Client"


@dataclass(frozen=True, slots=True)
class Recipe:
    """A step wbplay can both check and break on a simulated PC."""

    id: str
    title: str
    why: str
    check: dict[str, Any]
    expect: dict[str, Any]
    remedy: dict[str, Any]
    healthy: Callable[[State], None]
    broken: Callable[[State], None] | None  # None: the step's remedy is manual, nothing to break
    order: int  # a start mode is fixed before the service is started


def _service(name: str, **fields: Any) -> Callable[[State], None]:
    def patch(state: State) -> None:
        state["services"][name].update(fields)

    return patch


def _policy(name: str, present: bool) -> Callable[[State], None]:
    def patch(state: State) -> None:
        values = state.setdefault("registry", {}).setdefault(_POLICY_KEY, {})
        if present:
            values[name] = {"type": "REG_DWORD", "value": 1}
        else:
            values.pop(name, None)
            if not values:
                state["registry"].pop(_POLICY_KEY)

    return patch


def _no_change(state: State) -> None:
    del state


_RECIPES: dict[str, Recipe] = {
    "service.start_mode": Recipe(
        "vss-start-mode",
        "Volume Shadow Copy (VSS) starts on demand (Manual)",
        "Every backup is taken from a shadow copy, so a Disabled VSS fails it with 0x80070422; "
        "Windows' default is Manual (docs/domain.md §1).",
        {"kind": "service.start_mode", "name": "VSS"},
        {"equals": "Manual"},
        {"kind": "service.set_start_mode", "name": "VSS", "start_mode": "Manual"},
        _service("VSS", start_mode="Manual"),
        _service("VSS", start_mode="Disabled", state="Stopped"),
        0,
    ),
    "service.state": Recipe(
        "vss-running",
        "Volume Shadow Copy (VSS) is running",
        "A stopped VSS starts on demand, but a running one shows at once whether it can start "
        "(docs/domain.md §1, §6: starting it is reversible).",
        {"kind": "service.state", "name": "VSS"},
        {"equals": "Running"},
        {"kind": "service.start", "name": "VSS"},
        _service("VSS", state="Running"),
        _service("VSS", state="Stopped"),
        1,
    ),
    "registry.entry": Recipe(
        "backup-ui-policy-absent",
        "No policy hides the backup UI",
        "A DisableBackupUI policy value under Policies\\Microsoft\\Windows\\Backup\\Client turns "
        "the Backup and Restore UI off; deleting it is reversible [U].",
        {"kind": "registry.entry", "key": _POLICY_KEY, "name": "DisableBackupUI", "field": "exists"},
        {"equals": False},
        {"kind": "registry.delete", "key": _POLICY_KEY, "name": "DisableBackupUI"},
        _policy("DisableBackupUI", False),
        _policy("DisableBackupUI", True),
        2,
    ),
    "volume": Recipe(
        "system-drive-free",
        "The Windows drive has at least 10 % free space",
        "Shadow copies and the backup's own files need room on the source volume; below about "
        "10 % free VSS starts deleting old shadow copies (docs/domain.md §2 0x80780119 [U]).",
        {"kind": "volume", "volume": "@boot", "field": "free_percent"},
        {"gte": 10},
        {
            "kind": "manual",
            "instruction": "Free space on the Windows drive (Disk Cleanup, or move user data away) "
            "until at least 10 % of it is free, then answer done.",
        },
        _no_change,
        None,
        3,
    ),
}
_RECIPES["registry.value"] = Recipe(
    "system-backup-ui-policy-absent",
    "No policy hides the system image backup UI",
    "A DisableSystemBackupUI policy value under Policies\\Microsoft\\Windows\\Backup\\Client "
    "hides the system image options; deleting it is reversible [U].",
    {"kind": "registry.value", "key": _POLICY_KEY, "name": "DisableSystemBackupUI"},
    {"exists": False},
    {"kind": "registry.delete", "key": _POLICY_KEY, "name": "DisableSystemBackupUI"},
    _policy("DisableSystemBackupUI", False),
    _policy("DisableSystemBackupUI", True),
    2,
)


@dataclass(frozen=True, slots=True)
class Scaffold:
    files: tuple[Path, ...]
    playbook: Path


def _step_for(kind: str) -> Recipe:
    if kind in _RECIPES:
        return _RECIPES[kind]
    if kind not in kinddoc.check_kinds():
        raise UsageError(f"no check kind {kind!r}; `wbplay doc` lists them")
    return Recipe(
        re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-"),
        f"TODO: what {kind} should show",
        "TODO: say why this matters and cite the source (docs/domain.md §N, a KB article or a URL).",
        kinddoc.check_example(kind),
        kinddoc.expect_example(kind),
        {"kind": "manual", "instruction": f"TODO: tell the person what to do when {kind} is wrong."},
        _no_change,
        None,
        9,
    )


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000, allow_unicode=True, sort_keys=False)
    return text.strip().removesuffix("\n...").strip()  # a bare scalar ends with a document-end marker


def _wrap(text: str, indent: int) -> str:
    return textwrap.fill(text, width=96, initial_indent=" " * indent, subsequent_indent=" " * indent)


def _modeline(schema: str, dest: Path) -> str:
    target = (schemas_dir() / f"{schema}.schema.json").resolve()
    # Relative inside the checkout (it moves with it); absolute to an installed wheel's copy.
    where = str(target)
    if dest.resolve().is_relative_to(target.parent.parent):
        where = os.path.relpath(target, dest.resolve())
    return f"# yaml-language-server: $schema={Path(where).as_posix()}\n"


def _unique(recipes: list[Recipe]) -> list[Recipe]:
    seen: dict[str, int] = {}
    out = []
    for r in recipes:
        n = seen.get(r.id, 0) + 1
        seen[r.id] = n
        out.append(r if n == 1 else dataclasses.replace(r, id=f"{r.id}-{n}"))
    return out


def new(name: str, dest: Path, *, from_playbook: str | None = None, checks: Sequence[str] = ()) -> Scaffold:
    """Write NAME.yml and NAME.scenarios.yml (and, unless --from, two simulated PCs) into ``dest``."""
    if not _ID.match(name):
        raise UsageError(f"{name!r} is not a playbook id: lowercase letters, digits and dashes")
    playbook = dest / f"{name}.yml"
    if playbook.exists():
        raise UsageError(f"{playbook} already exists; choose another name or remove it")
    dest.mkdir(parents=True, exist_ok=True)
    if from_playbook:
        return _copy(name, dest, from_playbook)
    recipes = _unique(
        sorted((_step_for(k) for k in (checks or ["service.start_mode"])), key=lambda r: r.order)
    )
    with (states_dir() / f"{BASE_PC}.yml").open(encoding="utf-8") as f:
        base: State = yaml.safe_load(f)
    files = [playbook, dest / f"{name}{SUFFIX}"]
    for which in ("healthy", "broken"):
        state = copy.deepcopy(base)
        for r in recipes:
            r.healthy(state)
        for r in recipes if which == "broken" else ():
            if r.broken is not None:
                r.broken(state)
        state["description"] = f"{'A' if which == 'healthy' else 'The broken'} PC for {name} (from {BASE_PC})"
        path = dest / f"{name}.{which}.state.yml"
        body = yaml.safe_dump(state, sort_keys=False, allow_unicode=True, width=100)
        path.write_text(
            _modeline("hoststate", dest)
            + f"# A simulated PC for {name}'s scenarios, made by `wbplay new` from {BASE_PC}.\n"
            + body,
            encoding="utf-8",
        )
        files.append(path)
    playbook.write_text(_modeline("playbook", dest) + _playbook_text(name, recipes), encoding="utf-8")
    files[1].write_text(_modeline("scenarios", dest) + _scenarios_text(name, recipes), encoding="utf-8")
    return Scaffold(tuple(files), playbook)


def _copy(name: str, dest: Path, source: str) -> Scaffold:
    src = playbook_mod.resolve(source)
    pb = playbook_mod.load(src)
    text = src.read_text(encoding="utf-8")
    text = re.sub(r"^id:.*$", f"id: {name}", text, count=1, flags=re.MULTILINE)
    text = re.sub(r"^# yaml-language-server:.*\n", "", text, count=1)
    playbook = dest / f"{name}.yml"
    playbook.write_text(_modeline("playbook", dest) + text, encoding="utf-8")
    files = [playbook]
    beside = src.with_name(src.stem + SUFFIX)
    scen = beside if beside.is_file() else scenarios_dir() / f"{pb.id}.yml"
    if scen.is_file():
        with scen.open(encoding="utf-8") as f:
            data = yaml.safe_load(f)
        data["playbook"] = f"{name}.yml"
        for sc in data.get("scenarios") or []:
            # A copy ties with its original in triage, so "ranked first" cannot hold for both.
            (sc.get("before") or {}).pop("triage", None)
        out = dest / f"{name}{SUFFIX}"
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        out.write_text(
            _modeline("scenarios", dest)
            + f"# Scenarios copied from {scen.name} by `wbplay new --from` (triage expectations dropped).\n"
            + body,
            encoding="utf-8",
        )
        files.append(out)
    return Scaffold(tuple(files), playbook)


def _playbook_text(name: str, recipes: list[Recipe]) -> str:
    steps = "\n".join(_step_text(r) for r in recipes)
    return f"""\
# A wbplay playbook: ordered steps of check -> expect -> remedy (-> verify, -> undo).
# `wbplay doc` lists the check and remedy kinds; `wbplay doc KIND` explains one.
# `wbplay validate {name}.yml`, `wbplay lint {name}.yml`, `wbplay test {name}.yml`.
schema_version: 1            # the playbook format's version; always 1 today
# id: unique, lowercase, dashes; journals, plans and reports name the playbook by it
id: {name}
title: "TODO: one line that names the failure this fixes"   # shown by wbplay list
description: >               # what the playbook checks and changes, for the operator
  TODO: describe the failure, what this playbook checks and what it may change.
applies_to:                  # how triage finds this playbook
  os: [windows-10, windows-11]     # the Windows versions it is written for
  # error_codes: ["0x80070422"]    # the HRESULTs it explains, upper-case hex
references:                  # where the facts come from (at least one)
  - "docs/domain.md"
vars: {{}}                     # NAME: {{type, description, default}}; use as {{{{ NAME }}}}, --var NAME=VALUE
steps:                       # run in order; each: check -> expect -> remedy if it does not hold
{steps}"""


def _step_text(r: Recipe) -> str:
    remedy = r.remedy
    if remedy.get("kind") == "manual":
        remedy_text = (
            "    remedy:                  # manual: wbplay asks a person and records the answer\n"
            "      kind: manual\n"
            f"      instruction: >\n{_wrap(remedy['instruction'], 8)}\n"
        )
    else:
        remedy_text = (
            "    # remedy: the typed change; wbplay records the before-state and undoes it on rollback\n"
            f"    remedy: {_flow(remedy)}\n"
        )
    return (
        f"  - id: {r.id}{' ' * max(1, 20 - len(r.id))}# unique here; when: and --allow name it\n"
        f"    title: {_flow(r.title)}\n"
        "    why: >                   # why the step exists, with its source (lint checks for one)\n"
        f"{_wrap(r.why, 6)}\n"
        f"    check: {_flow(r.check)}   # what to read (read-only)\n"
        f"    expect: {_flow(r.expect)}   # the healthy value: equals, in, not, gte, exists...\n"
        + remedy_text
        + "    # on_failure: rollback    # if the remedy fails: rollback (default), stop or continue\n"
    )


def _scenarios_text(name: str, recipes: list[Recipe]) -> str:
    fixable = [r for r in recipes if r.broken is not None]
    statuses = {r.id: "fixed" for r in fixable}
    broken_run = {"exit": 0, "changes": len(fixable), **({"statuses": statuses} if statuses else {})}
    return f"""\
# Scenarios for {name}.yml: `wbplay test {name}.yml` runs each on a copy of its simulated PC,
# dry-run first (which must change nothing), then for real, then a second run (which must
# change nothing), then a rollback (which must restore the PC).
schema_version: 1
playbook: {name}.yml          # the playbook, relative to this file
scenarios:
  - name: broken              # the PC this playbook is for
    description: {name}.broken.state.yml has what the playbook must fix
    host: {name}.broken.state.yml   # a state file beside this one, or a built-in PC (wbplay sim list)
    run: {_flow(broken_run)}   # exit code, number of changes, step statuses
    rollback: restores        # undoing the run gives back the PC as it was

  - name: healthy             # a PC with nothing to fix: no change at all
    host: {name}.healthy.state.yml
    run: {{exit: 0, changes: 0}}
    rollback: restores
"""
