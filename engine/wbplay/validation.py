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
from wbplay.resources import schema
from wbplay.yamlsafe import Document, KeyPath

_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")


def _all_errors(error: ValidationError) -> Iterator[ValidationError]:
    yield error
    for sub in error.context or ():
        yield from _all_errors(sub)


def _deepest(error: ValidationError) -> ValidationError:
    """Within anyOf/oneOf, the sub-error that got furthest is the useful one."""
    best = error
    for candidate in _all_errors(error):
        if len(candidate.absolute_path) > len(best.absolute_path):
            best = candidate
    return best


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
        key = found.group(1).split("', '")[0] if found else "?"
        allowed = _allowed_keys(error)
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {key!r}", (*path, key), hint + "valid keys here: " + ", ".join(allowed)
    if validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        desc = error.schema.get("properties", {}).get(name, {}).get("description", "")
        return f"missing required key {name!r}", path, desc or f"add {name}: ..."
    if validator == "enum":
        return (
            f"{error.instance!r} is not allowed here",
            path,
            "use one of: " + ", ".join(str(v) for v in error.validator_value),
        )
    if validator == "const":
        return f"{error.instance!r} is not allowed here", path, f"use {error.validator_value!r}"
    if validator == "pattern":
        desc = error.schema.get("description", "")
        return (
            f"{error.instance!r} does not have the expected form",
            path,
            desc or f"it must match {error.validator_value}",
        )
    if validator == "type":
        return f"expected {error.validator_value}, got {error.instance!r}", path, ""
    if validator in ("minItems", "minProperties"):
        return "must not be empty", path, "an empty list or mapping would silently assert nothing"
    if validator == "minLength":
        return f"too short (at least {error.validator_value} characters)", path, ""
    if validator in ("anyOf", "oneOf"):
        deeper = _deepest(error)
        if deeper is not error:
            return _explain(deeper)
        desc = error.schema.get("description", "")
        return "this value has none of the accepted forms", path, desc
    return error.message, path, ""


def validate(doc: Document, schema_name: str, cls: type[PlaybookError] = PlaybookError) -> None:
    """Raise ``cls`` for the first (most relevant) schema violation in ``doc``."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: _sort_key(doc, e))
    if not errors:
        return
    message, path, hint = _explain(errors[0])
    raise doc.error(message, path, hint, cls)


def _sort_key(doc: Document, error: ValidationError) -> tuple[int, int]:
    mark = doc.mark_for(tuple(error.absolute_path))
    return (mark.line if mark else 0, -len(error.absolute_path))


def check_value(value: Any, schema_name: str) -> list[str]:
    """Schema problems of in-memory data (no file), as readable lines."""
    validator = jsonschema.Draft202012Validator(schema(schema_name))
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(value)
    ]
