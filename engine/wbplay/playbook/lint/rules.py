"""The lint rules over a playbook's raw, schema-valid YAML document (see :mod:`wbplay.playbook.lint`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from wbplay.playbook import variables
from wbplay.playbook.matchers import matches
from wbplay.playbook.model import Risk
from wbplay.playbook.yamlsafe import Document, KeyPath
from wbplay.resources import playbooks_dir
from wbplay.vocab.actions import ACTIONS

Emit = Callable[[str, KeyPath, str, str], None]  # (rule, key path, message, hint)

# A source: the seed, docs/domain.md or another .md, a KB, a confidence mark (docs/domain.md).
CITATION = re.compile(r"seed|docs/domain\.md|KB\d{6,7}|\[(V|3P|U)\]|\.md\b|\[V\d?\]|https?://", re.IGNORECASE)

# In-box services a backup playbook touches (docs/domain.md §1 and the simulated PCs), plus
# common ones; a name outside the list is only a warning, as third-party services exist.
KNOWN_SERVICES = frozenset(
    s.lower()
    for s in (
        "BITS",
        "CryptSvc",
        "DcomLaunch",
        "EventLog",
        "EventSystem",
        "HTTP",
        "LanmanServer",
        "LanmanWorkstation",
        "RpcEptMapper",
        "RpcSs",
        "SDRSVC",
        "SENS",
        "SQLWriter",
        "Spooler",
        "UALSVC",
        "VMAuthdService",
        "VSS",
        "WinRM",
        "Winmgmt",
        "WSearch",
        "swprv",
        "wbengine",
        "wscsvc",
        "TrustedInstaller",
        "wuauserv",
        "vds",
        "smphost",
        "Schedule",
        "msiserver",
    )
)
# Registry roots under which Windows keeps anything (a typo'd root fails silently: nothing found).
KNOWN_REGISTRY_ROOTS = (
    "HKLM\\SYSTEM",
    "HKLM\\SOFTWARE",
    "HKLM\\HARDWARE",
    "HKLM\\SAM",
    "HKLM\\SECURITY",
    "HKLM\\BCD00000000",
    "HKCU\\",
    "HKU\\",
    "HKCR\\",
    "HKCC\\",
)
_LONG_ROOTS = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKEY_CURRENT_USER": "HKCU",
    "HKEY_USERS": "HKU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
}


# -- the rules ------------------------------------------------------------------------------


def _steps(doc: Document) -> Iterator[tuple[int, Mapping[str, Any]]]:
    yield from enumerate(doc.data.get("steps") or [])


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _after_remedy(check: Mapping[str, Any], remedy: Mapping[str, Any]) -> tuple[bool, Any]:
    """(known, value): what ``check`` reads right after ``remedy`` succeeds, when that is certain."""
    kind, rk = check.get("kind"), remedy.get("kind")
    fld = check.get("field")
    if any(_is_template(v) for v in remedy.values()):
        return False, None
    same_name = str(check.get("name", "")).lower() == str(remedy.get("name", "")).lower()
    if rk in ("service.set_start_mode", "service.start", "service.restart", "service.stop") and same_name:
        value = {"service.set_start_mode": remedy.get("start_mode"), "service.stop": "Stopped"}.get(
            rk, "Running"
        )
        if kind == ("service.start_mode" if rk == "service.set_start_mode" else "service.state") and not fld:
            return True, value
        if kind == "service" and fld == ("start_mode" if rk == "service.set_start_mode" else "state"):
            return True, value
    same_value = same_name and str(check.get("key", "")).lower() == str(remedy.get("key", "")).lower()
    if rk in ("registry.set", "registry.delete") and same_value:
        present = rk == "registry.set"
        if kind == "registry.value" and not fld:
            return True, remedy.get("value") if present else None
        if kind == "registry.entry" and fld in ("exists", "value"):
            return True, present if fld == "exists" else (remedy.get("value") if present else None)
    if (
        rk in ("path.delete", "path.rename")
        and str(check.get("path", "")).lower() == str(remedy.get("path", "")).lower()
    ):
        if kind == "path.exists" and not fld:
            return True, False
        if kind == "path" and fld == "exists":
            return True, False
    return False, None


def _remedy_satisfies(doc: Document, emit: Emit) -> None:
    for i, s in _steps(doc):
        remedy = s.get("remedy")
        if not remedy or remedy.get("kind") == "manual" or _is_template(s.get("expect")):
            continue
        known, value = _after_remedy(s["check"], remedy)
        if known and not matches(s["expect"], value):
            emit(
                "WB001",
                ("steps", i, "remedy"),
                f"after {remedy['kind']} the check reads {value!r}, which the expect rejects",
                "make the remedy set a value the expect accepts, or fix the expect",
            )
        ver = s.get("verify")
        if ver:
            known, value = _after_remedy(ver["check"], remedy)
            if known and not matches(ver["expect"], value):
                emit(
                    "WB002",
                    ("steps", i, "verify", "expect"),
                    f"after {remedy['kind']} the verify reads {value!r}, which its expect rejects",
                    "verify what the remedy changes, with an expectation the changed value meets",
                )


def _step_refs(cond: Any, at: KeyPath) -> Iterator[tuple[KeyPath, Mapping[str, Any]]]:
    if isinstance(cond, list):
        for j, c in enumerate(cond):
            yield from _step_refs(c, (*at, j))
    elif isinstance(cond, Mapping):
        if "step" in cond:
            yield at, cond
        for key in ("all", "any"):
            if key in cond and isinstance(cond[key], list):
                yield from _step_refs(cond[key], (*at, key))
        if "not" in cond and "var" not in cond and "fact" not in cond:
            yield from _step_refs(cond["not"], (*at, "not"))


def _var_refs(cond: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(cond, list):
        for c in cond:
            yield from _var_refs(c)
    elif isinstance(cond, Mapping):
        if "var" in cond:
            yield cond
        for key in ("all", "any"):
            if key in cond and "var" not in cond and isinstance(cond[key], list):
                yield from _var_refs(cond[key])
        if "not" in cond and "var" not in cond and "fact" not in cond:
            yield from _var_refs(cond["not"])


def _when_steps(doc: Document, emit: Emit) -> None:
    ids = [s.get("id") for _, s in _steps(doc)]
    steps = dict(zip(ids, (s for _, s in _steps(doc)), strict=True))
    for i, s in _steps(doc):
        for at, ref in _step_refs(s.get("when"), ("steps", i, "when")):
            target = ref["step"]
            if target not in ids:
                emit(
                    "WB003",
                    (*at, "step"),
                    f"when: refers to unknown step {target!r}",
                    "name an earlier step's id: " + ", ".join(map(str, ids[:i])),
                )
            elif ids.index(target) >= i:
                emit(
                    "WB003",
                    (*at, "step"),
                    f"when: refers to step {target!r}, which runs later",
                    "a condition can only depend on steps that run before it",
                )
            elif not steps[target].get("remedy") and set(ref.get("status", [])) <= {"fixed"}:
                emit(
                    "WB006",
                    (*at, "status"),
                    f"step {target!r} has no remedy, so it is never 'fixed'",
                    "add 'ok' to status:, or give that step a remedy",
                )
        vars_ = doc.data.get("vars") or {}
        for cond in _var_refs(s.get("when")):
            spec = vars_.get(cond["var"]) or {}
            choices = spec.get("choices")
            if choices and "equals" in cond and cond["equals"] not in choices:
                emit(
                    "WB006",
                    ("steps", i, "when"),
                    f"variable {cond['var']!r} can never equal {cond['equals']!r} (choices: {choices})",
                    "compare against one of its choices",
                )


def _variables(doc: Document, emit: Emit) -> None:
    declared = doc.data.get("vars") or {}
    used: set[str] = set()
    for i, s in _steps(doc):
        for key in ("check", "expect", "remedy", "verify", "undo", "when"):
            for name in sorted(variables.references(s.get(key))):
                used.add(name)
                if name not in declared:
                    emit(
                        "WB004",
                        ("steps", i, key),
                        f"{{{{ {name} }}}} is never defined",
                        "declare it under vars: with a type and a description",
                    )
        for cond in _var_refs(s.get("when")):
            used.add(cond["var"])
            if cond["var"] not in declared:
                emit(
                    "WB004",
                    ("steps", i, "when"),
                    f"when: uses undefined variable {cond['var']!r}",
                    "declare it under vars:",
                )
        if s.get("opt_in"):
            used.add(s["opt_in"])
            if s["opt_in"] not in declared:
                emit(
                    "WB004",
                    ("steps", i, "opt_in"),
                    f"opt_in names undefined variable {s['opt_in']!r}",
                    "declare it under vars: with type: boolean and default: false",
                )
    for name in declared:
        if name not in used:
            emit(
                "WB005",
                ("vars", name),
                f"variable {name!r} is never used",
                "use it as {{ " + name + " }}, in a when:, as an opt_in, or remove it",
            )


def _risk(doc: Document, emit: Emit) -> None:
    steps = list(_steps(doc))
    for i, s in steps:
        remedy = s.get("remedy") or {}
        kind = remedy.get("kind")
        derived = ACTIONS[kind].risk if kind in ACTIONS else Risk.READ_ONLY
        declared = Risk.parse(s["risk"]) if "risk" in s else derived
        if declared < derived:
            emit(
                "WB015",
                ("steps", i, "risk"),
                f"risk {s['risk']!r} is lower than {kind}'s own risk ({derived.label})",
                "remove risk: or raise it; a playbook may raise a risk, never lower it",
            )
        if max(declared, derived) == Risk.IRREVERSIBLE and not s.get("opt_in"):
            emit(
                "WB007",
                ("steps", i, "remedy"),
                f"{kind or 'this step'} is irreversible but has no opt_in",
                "declare a boolean variable with default: false and name it in opt_in:",
            )
        if kind == "manual" and not str(remedy.get("instruction") or "").strip():
            emit(
                "WB008",
                ("steps", i, "remedy"),
                "a manual step with no instruction",
                "write what the person must do in instruction:",
            )
        if kind and kind != "manual" and s.get("on_failure") == "continue":
            # A dependent that also runs on "failed" was written for the failure: not a finding.
            later = [
                t
                for _, t in steps[i + 1 :]
                for _, r in _step_refs(t.get("when"), ())
                if r["step"] == s["id"] and not {"failed", "error"} & set(r.get("status", []))
            ]
            if later:
                emit(
                    "WB009",
                    ("steps", i, "on_failure"),
                    f"on_failure: continue, but step {later[0]['id']!r} depends on this change",
                    "use on_failure: rollback (the default) or stop",
                )


def _sources(doc: Document, emit: Emit) -> None:
    for i, s in _steps(doc):
        text = str(s.get("why", "")) + " " + " ".join(map(str, s.get("references") or []))
        if not CITATION.search(text):
            emit(
                "WB010",
                ("steps", i, "why"),
                "the why cites no source",
                "name where the claim comes from: docs/domain.md §N, a KB article, a URL, or mark it [U]",
            )


def _names(doc: Document, emit: Emit) -> None:
    for i, s in _steps(doc):
        for part in ("check", "remedy", "undo"):
            node = s.get(part) or {}
            _name_of(node, ("steps", i, part), emit)
        if s.get("verify"):
            _name_of(s["verify"]["check"], ("steps", i, "verify", "check"), emit)


def _name_of(node: Mapping[str, Any], at: KeyPath, emit: Emit) -> None:
    kind = str(node.get("kind", ""))
    name = node.get("name")
    service = kind.startswith("service") and isinstance(name, str) and not _is_template(name)
    if service and str(name).lower() not in KNOWN_SERVICES:
        emit(
            "WB011",
            (*at, "name"),
            f"{name!r} is not a service wbplay knows Windows to have",
            "use the service's short name (sc query shows it), e.g. VSS, wbengine, SDRSVC",
        )
    key = node.get("key")
    if isinstance(key, str) and not _is_template(key):
        head, _, rest = key.partition("\\")
        short = _LONG_ROOTS.get(head.upper(), head.upper()) + "\\" + rest
        if not any(short.upper().startswith(root.upper()) for root in KNOWN_REGISTRY_ROOTS):
            emit(
                "WB012",
                (*at, "key"),
                f"{key!r} is not under a registry root Windows has",
                "start with HKLM\\SYSTEM, HKLM\\SOFTWARE, HKCU\\ or HKU\\",
            )


def _duplicates(doc: Document, emit: Emit) -> None:
    seen: dict[str, str] = {}
    for i, s in _steps(doc):
        # A re-check after other steps changed things has a different remedy (or none): not a duplicate.
        sig = repr((s["check"], s["expect"], s.get("when"), s.get("remedy")))
        if sig in seen:
            emit(
                "WB014",
                ("steps", i, "check"),
                f"same check and expectation as step {seen[sig]!r}",
                "remove one of them, or give them different expectations",
            )
        else:
            seen[sig] = s["id"]


def scenario_file(doc: Document, path: Path, emit: Emit) -> None:
    pb_id = doc.data.get("id")
    beside = path.with_name(path.name.removesuffix(path.suffix) + ".scenarios.yml")
    library = playbooks_dir() / "scenarios" / f"{pb_id}.yml"
    if not beside.is_file() and not library.is_file():
        emit(
            "WB013",
            ("id",),
            f"no scenario file for {pb_id!r}",
            f"write {beside.name} (wbplay new scaffolds one) and run wbplay test {path.name}",
        )


def _todos(doc: Document, emit: Emit) -> None:
    places: list[tuple[KeyPath, Any]] = [((key,), doc.data.get(key)) for key in ("title", "description")]
    for i, s in _steps(doc):
        places += [(("steps", i, key), s.get(key)) for key in ("title", "why")]
        places.append((("steps", i, "remedy", "instruction"), (s.get("remedy") or {}).get("instruction")))
    for at, value in places:
        if isinstance(value, str) and "TODO" in value:
            emit("WB016", at, "a TODO placeholder is still here", "replace it with the real text")


ALL_RULES: tuple[Callable[[Document, Emit], None], ...] = (
    _remedy_satisfies,
    _when_steps,
    _variables,
    _risk,
    _sources,
    _names,
    _duplicates,
    _todos,
)
