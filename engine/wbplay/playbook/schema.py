"""JSON Schema validation that points at ``file:line:column`` and says what
would be valid, instead of dumping jsonschema's internals.

Speed (issue 17): jsonschema is imported on first use (``wbplay --help`` never
pays for it), each schema's validator is built once per process, and a
mapping whose ``kind`` selects its argument schema (``$defs/check``,
``$defs/action``: an ``allOf`` of ``if kind == K then ...`` branches closed by
``unevaluatedProperties: false``) is rewritten at load time into a table the
validator looks the kind up in (:func:`by_kind`): one schema applied instead
of dozens of ``if`` branches tried, and ``unevaluatedProperties`` (which
re-evaluates every branch) becomes a plain ``additionalProperties`` on the
selected one.  The schema file is unchanged; errors say the same things.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from wbplay.errors import PlaybookError
from wbplay.playbook.yamlsafe import Document, KeyPath
from wbplay.resources import schema
from wbplay.safetext import bounded, quoted

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

BY_KIND = "x-wbplay-by-kind"  # the keyword of the rewritten schema: kind -> that kind's schema


def by_kind(schema_doc: Mapping[str, Any]) -> dict[str, Any]:
    """``schema_doc`` with every kind-dispatched ``$defs`` entry rewritten as a :data:`BY_KIND` table.

    Each table entry is the mapping's own ``properties`` plus that kind's
    ``then`` (``properties``, ``required``), closed with
    ``additionalProperties: false``.  An entry whose ``allOf`` is anything
    else is left as it is.
    """
    out = copy.deepcopy(dict(schema_doc))
    for name, part in out.get("$defs", {}).items():
        kinds = _kind_branches(part)
        if kinds is None:
            continue
        table = {
            kind: {
                "properties": {**part.get("properties", {}), **then.get("properties", {})},
                "required": list(then.get("required", [])),
                "additionalProperties": False,
            }
            for kind, then in kinds.items()
        }
        rest = {k: v for k, v in part.items() if k not in ("allOf", "unevaluatedProperties")}
        out["$defs"][name] = {**rest, BY_KIND: table}
    leaves = {f"#/$defs/{n}": d for n, d in out.get("$defs", {}).items() if not _refs(d)}
    return _inline(out, leaves)  # type: ignore[no-any-return]


INLINED = "x-wbplay-ref"  # where an inlined ``$ref`` is remembered (the hints read it)


def _inline(part: Any, leaves: Mapping[str, Any]) -> Any:
    """``part`` with each ``$ref`` to a ref-free ``$defs`` entry replaced by a copy of it:
    the validator then resolves no reference for them (a lookup per use, the next cost)."""
    if isinstance(part, list):
        return [_inline(v, leaves) for v in part]
    if not isinstance(part, dict):
        return part
    ref = part.get("$ref")
    if isinstance(ref, str) and ref in leaves and len(part) == 1:
        return {**copy.deepcopy(leaves[ref]), INLINED: ref}
    return {k: _inline(v, leaves) for k, v in part.items()}


def _kind_branches(part: Any) -> dict[str, Any] | None:
    if not isinstance(part, dict) or part.get("unevaluatedProperties") is not False or "allOf" not in part:
        return None
    kinds: dict[str, Any] = {}
    for branch in part["allOf"]:
        cond = branch.get("if", {}) if isinstance(branch, dict) else {}
        const = cond.get("properties", {}).get("kind", {}).get("const")
        plain = set(branch) == {"if", "then"} and not set(cond) - {"properties", "required"}
        if not plain or not isinstance(const, str) or set(cond["properties"]) != {"kind"} or const in kinds:
            return None
        kinds[const] = branch["then"]
    return kinds


def _apply_by_kind(validator: Any, table: Mapping[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not isinstance(instance, dict):
        return
    kind = instance.get("kind")
    chosen = table.get(kind) if isinstance(kind, str) else None
    if chosen is not None:  # an unknown kind is the enum's error, reported on its own
        yield from validator.descend(instance, chosen)


@cache
def _validator(schema_name: str) -> Validator:
    """The validator of a shipped schema, built once per process."""
    import jsonschema  # deferred: the heaviest import of a playbook load, and only validation needs it

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {BY_KIND: _apply_by_kind})
    return cls(by_kind(schema(schema_name)))  # type: ignore[no-any-return]


_UNEXPECTED = re.compile(r"'(.+)' (?:was|were) unexpected")


def _all_errors(error: ValidationError) -> Iterator[ValidationError]:
    yield error
    for sub in error.context or ():
        yield from _all_errors(sub)


# Which of several errors at one spot helps most: a typo'd key explains a "missing" one.
_PRIORITY = {
    "additionalProperties": 0,
    "unevaluatedProperties": 0,
    "enum": 1,
    "const": 1,
    "type": 2,
    "required": 3,
}


def _priority(error: ValidationError) -> int:
    if error.validator == "pattern" and "{{" in str(error.schema.get("description", "")):
        return 9  # the "or a {{ variable }}" branch is never the interesting one
    return _PRIORITY.get(str(error.validator), 5)


def _deepest(error: ValidationError) -> ValidationError:
    """Within anyOf/oneOf, the sub-error that got furthest (then the most telling) is the useful one."""
    candidates = [e for e in _all_errors(error) if e is not error] or [error]
    return min(candidates, key=lambda e: (-len(e.absolute_path), _priority(e)))


def _allowed_keys(error: ValidationError) -> list[str]:
    keys: set[str] = set(error.schema.get("properties", {}))  # the selected kind's, in a by-kind table
    for branch in error.schema.get("allOf", []):
        kind = branch.get("if", {}).get("properties", {}).get("kind", {}).get("const")
        if kind is not None and isinstance(error.instance, dict) and error.instance.get("kind") == kind:
            keys |= set(branch.get("then", {}).get("properties", {}))
    return sorted(keys)


def _explain(error: ValidationError) -> tuple[str, KeyPath, str]:
    path: KeyPath = tuple(error.absolute_path)
    validator = error.validator
    if validator in ("additionalProperties", "unevaluatedProperties"):
        found = _UNEXPECTED.search(error.message)
        allowed = _allowed_keys(error)
        names = found.group(1).split("', '") if found else ["?"]
        # A failed if/then leaves even valid keys "unevaluated": blame the ones that are not valid.
        key = next((n for n in names if n not in allowed), names[0])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {quoted(key)}", (*path, key), hint + "valid keys here: " + ", ".join(allowed)
    if validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        desc = error.schema.get("properties", {}).get(name, {}).get("description", "")
        return f"missing required key {name!r}", path, desc or f"add {name}: ..."
    if validator == "enum":
        return (
            f"{quoted(error.instance)} is not allowed here",
            path,
            "use one of: " + ", ".join(str(v) for v in error.validator_value if v is not None),
        )
    if validator == "const":
        return f"{quoted(error.instance)} is not allowed here", path, f"use {error.validator_value!r}"
    if validator == "pattern":
        desc = error.schema.get("description", "")
        return (
            f"{quoted(error.instance)} does not have the expected form",
            path,
            desc or f"it must match {error.validator_value}",
        )
    if validator == "type":
        return f"expected {error.validator_value}, got {quoted(error.instance)}", path, ""
    if validator in ("minItems", "minProperties"):
        return "must not be empty", path, "an empty list or mapping would silently assert nothing"
    if validator == "minLength":
        return f"too short (at least {error.validator_value} characters)", path, ""
    if validator in ("anyOf", "oneOf"):
        deeper = _deepest(error)
        if deeper is not error:
            message, path, hint = _explain(deeper)
            if any("template" in str(ref) for ref in _refs(error.schema)):
                hint = (hint + "; " if hint else "") + "or a {{ variable }} reference"
            return message, path, hint
        desc = error.schema.get("description", "")
        return "this value has none of the accepted forms", path, desc
    return bounded(error.message), path, ""  # jsonschema's message quotes the whole instance


def validate(doc: Document, schema_name: str, cls: type[PlaybookError] = PlaybookError) -> None:
    """Raise ``cls`` for every schema violation in ``doc`` (the most relevant one per place,
    in file order), so one ``validate`` shows all there is to fix."""
    errors = sorted(_validator(schema_name).iter_errors(doc.data), key=lambda e: _sort_key(doc, e))
    found: list[PlaybookError] = []
    seen: set[tuple[str | int, ...]] = set()
    for error in errors:
        place = tuple(error.absolute_path)
        # A typo'd key explains the "missing" one at the same place, and a wrong kind the keys
        # its mapping then does not allow: report the cause, not its echoes.
        if place in seen or any(p[: len(place)] == place for p in seen):
            continue
        seen.add(place)
        message, path, hint = _explain(error)
        found.append(doc.error(message, path, hint, cls))
    if found:
        raise cls.all_of(found)


def _sort_key(doc: Document, error: ValidationError) -> tuple[int, int, int]:
    mark = doc.mark_for(tuple(error.absolute_path))
    return (mark.line if mark else 0, -len(error.absolute_path), _priority(error))


def _refs(schema_part: Any) -> list[str]:
    if isinstance(schema_part, dict):
        own = [str(schema_part[k]) for k in ("$ref", INLINED) if k in schema_part]
        return own + [r for v in schema_part.values() for r in _refs(v)]
    if isinstance(schema_part, list):
        return [r for v in schema_part for r in _refs(v)]
    return []


def check_value(value: Any, schema_name: str) -> list[str]:
    """Schema problems of in-memory data (no file), as readable lines."""
    return [
        f"{bounded('/'.join(map(str, e.absolute_path))) or '(top)'}: {bounded(e.message)}"
        for e in _validator(schema_name).iter_errors(value)
    ]
