"""JSON Schema validation that points at ``file:line:column`` and says what
would be valid, instead of dumping jsonschema's internals."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from wbplay.errors import PlaybookError
from wbplay.playbook.yamlsafe import Document, KeyPath
from wbplay.resources import schema
from wbplay.safetext import bounded, quoted

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
    keys: set[str] = set(error.schema.get("properties", {}))
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
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: _sort_key(doc, e))
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
        return [str(schema_part.get("$ref", ""))] + [r for v in schema_part.values() for r in _refs(v)]
    if isinstance(schema_part, list):
        return [r for v in schema_part for r in _refs(v)]
    return []


def check_value(value: Any, schema_name: str) -> list[str]:
    """Schema problems of in-memory data (no file), as readable lines."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    return [
        f"{bounded('/'.join(map(str, e.absolute_path))) or '(top)'}: {bounded(e.message)}"
        for e in validator.iter_errors(value)
    ]
