"""Typed playbook variables and ``{{ name }}`` substitution into op arguments.

Substitution produces *data* (strings, numbers, lists) for typed op
arguments; it never produces code.  A value that is exactly ``{{ name }}``
takes the variable's type; ``{{ name }}`` inside longer text is replaced by
the variable's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from wbplay.errors import UsageError
from wbplay.playbook.model import VarSpec

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_WHOLE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def references(value: Any) -> set[str]:
    """Every variable name referenced anywhere inside ``value``."""
    if isinstance(value, str):
        return set(TEMPLATE.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(references(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()


def substitute(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return values[whole.group(1)]
        return TEMPLATE.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, Mapping):
        return {k: substitute(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, values) for v in value]
    return value


def coerce(spec: VarSpec, raw: Any, source: str) -> Any:
    """Turn a value from the command line (text) or YAML into the declared type."""
    value = raw
    if spec.type == "boolean" and isinstance(raw, str):
        low = raw.strip().lower()
        if low not in _TRUE | _FALSE:
            raise UsageError(f"{source}: variable {spec.name!r} is a boolean; use true or false, not {raw!r}")
        value = low in _TRUE
    elif spec.type == "integer" and isinstance(raw, str):
        try:
            value = int(raw, 0)
        except ValueError:
            raise UsageError(f"{source}: variable {spec.name!r} is an integer, not {raw!r}") from None
    elif spec.type == "list" and isinstance(raw, str):
        value = [item.strip() for item in raw.split(",") if item.strip()]
    expected = {"string": str, "integer": int, "boolean": bool, "list": list}[spec.type]
    if not isinstance(value, expected) or (spec.type == "integer" and isinstance(value, bool)):
        raise UsageError(f"{source}: variable {spec.name!r} must be a {spec.type}, got {raw!r}")
    if spec.choices and value not in spec.choices:
        allowed = ", ".join(map(str, spec.choices))
        raise UsageError(f"{source}: variable {spec.name!r} must be one of {allowed}; got {raw!r}")
    return value


def bind(specs: Mapping[str, VarSpec], given: Mapping[str, Any], source: str = "--var") -> dict[str, Any]:
    """Defaults + given values, type-checked; unknown and missing required names are errors."""
    unknown = sorted(set(given) - set(specs))
    if unknown:
        known = ", ".join(sorted(specs)) or "(none)"
        raise UsageError(f"{source}: unknown variable {unknown[0]!r}; this playbook takes: {known}")
    values: dict[str, Any] = {}
    for name, spec in specs.items():
        if name in given:
            values[name] = coerce(spec, given[name], source)
        elif spec.required:
            raise UsageError(f"variable {name!r} is required: {spec.description} (pass --var {name}=...)")
        else:
            values[name] = spec.default
    return values


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x"]`` from repeated ``--var`` options."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var expects NAME=VALUE, got {item!r}")
        out[name.strip()] = value
    return out
