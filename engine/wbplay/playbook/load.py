"""Load a playbook: safe YAML -> JSON Schema -> semantic checks -> frozen model.

Every error names ``file:line:column``, the key path and what would be valid,
and is raised before any host is contacted.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from wbplay.errors import PlaybookError, UsageError
from wbplay.playbook import variables
from wbplay.playbook.model import Action, AppliesTo, Playbook, Probe, Risk, Step, VarSpec, Verify
from wbplay.playbook.schema import validate
from wbplay.playbook.yamlsafe import Document, KeyPath, load_text, read_text
from wbplay.resources import playbooks_dir
from wbplay.vocab import actions
from wbplay.vocab.probe_fields import RECORD_FIELDS, SINGLE_VALUE_KINDS

# Validated playbooks by (path, content hash), for this process: a fleet, triage or a
# library listing loads and validates each file once.  The file is read every time,
# so an edited playbook is never served stale.  Not on disk: a cache file would be
# one more thing to trust, and a cold load is a few milliseconds since libyaml and
# the by-kind schema (measured in bench/bench_startup.py).
_CACHE: dict[tuple[str, str], Playbook] = {}
CACHE_SIZE = 512  # entries; far above the shipped library


def load(path: Path) -> Playbook:
    """Read, validate and build one playbook file (validated once per content, per process)."""
    text, raw = read_text(path, what="playbook")
    key = (str(path), hashlib.sha256(raw).hexdigest())
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    doc = load_text(text, str(path))
    if not isinstance(doc.data, dict):
        raise doc.error("a playbook must be a YAML mapping", (), "start with id:, title:, steps:")
    validate(doc, "playbook")
    playbook = _build(doc, key[1])
    if len(_CACHE) >= CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))  # the oldest entry
    _CACHE[key] = playbook
    return playbook


def resolve(name: str, cwd: Path | None = None) -> Path:
    """A playbook argument -> a file: a path, then ./playbooks/, then the library.

    ``fix-0x80070422``, ``fix-0x80070422.yml`` and ``playbooks/fix-0x80070422.yml``
    all work.
    """
    cwd = cwd or Path.cwd()
    candidates = [Path(name)]
    if not name.endswith((".yml", ".yaml")):
        candidates += [Path(name + ".yml"), Path(name + ".yaml")]
    for base in (cwd, cwd / "playbooks", playbooks_dir()):
        for c in candidates:
            p = c if c.is_absolute() else base / c
            if p.is_file():
                return p
    library = ", ".join(sorted(p.stem for p in library_files())) or "(empty)"
    raise UsageError(f"no playbook named {name!r} (looked in ., ./playbooks and the library: {library})")


def library_files() -> list[Path]:
    return sorted(playbooks_dir().glob("*.yml"))


def expand_paths(paths: list[Path]) -> Iterator[Path]:
    """Files as given, folders as every *.yml / *.yaml inside them (recursively)."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix in (".yml", ".yaml") and q.is_file())
        else:
            yield p


# -- building the model -----------------------------------------------------------


def _probe(data: Mapping[str, Any]) -> Probe:
    args = {k: v for k, v in data.items() if k not in ("kind", "field")}
    return Probe(data["kind"], args, data.get("field"))


def _action(data: Mapping[str, Any]) -> Action:
    return Action(data["kind"], {k: v for k, v in data.items() if k != "kind"})


def _build(doc: Document, sha256: str) -> Playbook:
    data = doc.data
    specs = {
        name: VarSpec(
            name=name,
            type=v["type"],
            description=v["description"],
            default=v.get("default"),
            required=bool(v.get("required", False)),
            choices=tuple(v.get("choices", ())),
        )
        for name, v in (data.get("vars") or {}).items()
    }
    problems: list[PlaybookError] = []  # every step's first problem: validate shows them all
    for name, spec in specs.items():
        if spec.default is not None:
            try:
                variables.coerce(spec, spec.default, "default")
            except UsageError as e:
                problems.append(doc.error(str(e), ("vars", name, "default"), f"give a {spec.type}"))

    steps: list[Step] = []
    seen: dict[str, int] = {}
    for i, s in enumerate(data["steps"]):
        at: KeyPath = ("steps", i)
        if s["id"] in seen:
            problems.append(
                doc.error(
                    f"duplicate step id {s['id']!r} (also steps[{seen[s['id']]}])",
                    (*at, "id"),
                    "ids must be unique",
                )
            )
            continue
        seen[s["id"]] = i
        try:
            steps.append(_step(doc, s, at, specs, set(seen) - {s["id"]}))
        except PlaybookError as e:
            problems.append(e)
    if problems:
        raise PlaybookError.all_of(problems)

    applies = data["applies_to"]
    return Playbook(
        id=data["id"],
        title=data["title"],
        description=data["description"].strip(),
        path=doc.path,
        sha256=sha256,
        applies_to=AppliesTo(
            os=tuple(applies.get("os", ())),
            error_codes=tuple(applies.get("error_codes", ())),
            messages={k: tuple(v) for k, v in applies.get("messages", {}).items()},
        ),
        references=tuple(data["references"]),
        vars=specs,
        steps=tuple(steps),
        notes=data.get("notes", "").strip(),
    )


def _step(
    doc: Document, s: Mapping[str, Any], at: KeyPath, specs: Mapping[str, VarSpec], earlier: set[str]
) -> Step:
    for key in ("check", "expect", "remedy", "verify", "undo", "when"):
        for name in sorted(variables.references(s.get(key))):
            if name not in specs:
                known = ", ".join(sorted(specs)) or "none declared"
                raise doc.error(
                    f"unknown variable {{{{ {name} }}}}", (*at, key), f"declare it under vars: ({known})"
                )
    _check_when(doc, s.get("when"), (*at, "when"), earlier, specs)
    _check_field(doc, s["check"], (*at, "check"))
    if "verify" in s:
        _check_field(doc, s["verify"]["check"], (*at, "verify", "check"))
    _check_regexes(doc, s.get("expect"), (*at, "expect"))
    if "verify" in s:
        _check_regexes(doc, s["verify"].get("expect"), (*at, "verify", "expect"))

    remedy = _action(s["remedy"]) if "remedy" in s else None
    undo = _action(s["undo"]) if "undo" in s else None
    derived = actions.ACTIONS[remedy.kind].risk if remedy else Risk.READ_ONLY
    risk = derived
    if "risk" in s:
        declared = Risk.parse(s["risk"])
        if declared < derived:
            raise doc.error(
                f"risk {s['risk']!r} is lower than the remedy's own risk ({derived.label})",
                (*at, "risk"),
                "a playbook may raise a step's risk, never lower it; remove risk: or raise it",
            )
        risk = declared
    if remedy and remedy.kind == "manual" and undo is not None:
        raise doc.error("a manual remedy cannot have an undo", (*at, "undo"), "remove undo:")
    opt_in = s.get("opt_in")
    if risk == Risk.IRREVERSIBLE and not opt_in:
        raise doc.error(
            "an irreversible remedy needs opt_in: <boolean variable>",
            (*at, "remedy"),
            "declare a boolean variable (default false) and name it in opt_in:, so the step only "
            "runs when the operator explicitly allows it",
        )
    if opt_in:
        spec = specs.get(opt_in)
        if spec is None or spec.type != "boolean":
            raise doc.error(
                f"opt_in names {opt_in!r}, which is not a declared boolean variable",
                (*at, "opt_in"),
                "declare it under vars: with type: boolean and default: false",
            )
        if spec.default is True:
            raise doc.error(
                f"the opt-in variable {opt_in!r} defaults to true",
                ("vars", opt_in, "default"),
                "an opt-in must default to false, so consent is always explicit",
            )
    verify = None
    if "verify" in s:
        verify = Verify(_probe(s["verify"]["check"]), s["verify"]["expect"])
    mark = doc.mark_for(at)
    return Step(
        id=s["id"],
        title=s["title"],
        why=s["why"].strip(),
        check=_probe(s["check"]),
        expect=s["expect"],
        remedy=remedy,
        verify=verify,
        undo=undo,
        when=s.get("when"),
        risk=risk,
        opt_in=opt_in,
        on_failure=s.get("on_failure", "rollback"),
        references=tuple(s.get("references", ())),
        line=mark.line if mark else None,
    )


def _check_when(
    doc: Document, cond: Any, at: KeyPath, earlier: set[str], specs: Mapping[str, VarSpec]
) -> None:
    if cond is None:
        return
    if isinstance(cond, list):
        for i, c in enumerate(cond):
            _check_when(doc, c, (*at, i), earlier, specs)
        return
    if "step" in cond and cond["step"] not in earlier:
        raise doc.error(
            f"when: refers to step {cond['step']!r}, which is not an earlier step",
            (*at, "step"),
            "a condition can only depend on steps that run before it: "
            + (", ".join(sorted(earlier)) or "none"),
        )
    if "var" in cond and cond["var"] not in specs:
        raise doc.error(
            f"when: refers to undeclared variable {cond['var']!r}", (*at, "var"), "declare it under vars:"
        )
    for key in ("all", "any"):
        if key in cond and "var" not in cond and "fact" not in cond:
            for i, c in enumerate(cond[key]):
                _check_when(doc, c, (*at, key, i), earlier, specs)
    if "not" in cond and "var" not in cond and "fact" not in cond:
        _check_when(doc, cond["not"], (*at, "not"), earlier, specs)


def _check_field(doc: Document, check: Mapping[str, Any], at: KeyPath) -> None:
    """``field:`` must name something the check kind returns (else it would observe nothing)."""
    name, kind = check.get("field"), check["kind"]
    if name is None:
        return
    if kind in SINGLE_VALUE_KINDS:
        raise doc.error(
            f"check kind {kind!r} returns a single value, so it has no field {name!r}",
            (*at, "field"),
            "remove field:",
        )
    fields = RECORD_FIELDS.get(kind)
    first = str(name).split(".")[0]
    if fields is not None and first not in fields:
        close = difflib.get_close_matches(first, fields, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise doc.error(
            f"check kind {kind!r} returns no field {first!r}",
            (*at, "field"),
            hint + "valid fields: " + ", ".join(fields),
        )


_ORDERED = ("lt", "gt", "lte", "gte")


def _comparable(value: str) -> bool:
    """A string an ordering matcher can compare: a number, a dotted version, or a {{ variable }}."""
    text = value.strip()
    return "{{" in text or re.fullmatch(r"[+-]?\d+(\.\d+)*([eE][+-]?\d+)?", text) is not None


def _check_regexes(doc: Document, matcher: Any, at: KeyPath) -> None:
    """Regexes must compile and numbers must be finite: NaN compares false with everything,
    so ``not: {lt: .nan}`` would pass on any value."""
    if isinstance(matcher, float) and not math.isfinite(matcher):
        raise doc.error(
            f"{matcher} is not a usable number in an expectation", at, "write a finite number"
        )
    if isinstance(matcher, Mapping):
        for k, v in matcher.items():
            if k in _ORDERED and isinstance(v, str) and not _comparable(v):
                hint = "write a number or a dotted version such as 6.2"
                if v.strip().endswith("%"):
                    hint = (
                        "no check kind returns a percentage: compare the number it returns "
                        "(sizes are in MB, e.g. gte: 1024)"
                    )
                message = f"{k}: {v!r} is not a number or a version, so it would compare false"
                raise doc.error(message, (*at, k), hint)
            if k == "matches":
                try:
                    re.compile(v)
                except re.error as e:
                    raise doc.error(
                        f"invalid regular expression: {e}", (*at, k), "use Python re syntax"
                    ) from None
            else:
                _check_regexes(doc, v, (*at, k))
    elif isinstance(matcher, list):
        for i, m in enumerate(matcher):
            _check_regexes(doc, m, (*at, i))
