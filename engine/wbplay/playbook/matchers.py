"""Expectations as data: ``equals / in / not / matches / lt / gt / lte / gte /
exists / contains``, combinable with ``all`` / ``any`` (several keys in one
mapping mean *all of them*).

Each comparison is generic (goss's model): a probe only reads a value, the
matcher decides, and :func:`describe` renders the expectation for the
console, plans and reports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

MATCHER_KEYS = (
    "equals",
    "in",
    "not",
    "matches",
    "lt",
    "gt",
    "lte",
    "gte",
    "exists",
    "contains",
    "all",
    "any",
)


def _version_tuple(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)+", value.strip()):
        return tuple(int(p) for p in value.strip().split("."))
    return None


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _ordered(actual: Any, expected: Any) -> tuple[Any, Any] | None:
    """Make two values comparable: numbers as numbers, dotted versions as tuples.
    NaN and infinities are never comparable (NaN would make ``not: {lt: x}`` always pass)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return None
    if not (_finite(actual) and _finite(expected)):
        return None
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual, expected
    va, ve = _version_tuple(str(actual)), _version_tuple(str(expected))
    if va is not None and ve is not None:
        width = max(len(va), len(ve))
        return va + (0,) * (width - len(va)), ve + (0,) * (width - len(ve))
    try:
        pair = float(actual), float(expected)
    except (TypeError, ValueError, OverflowError):
        return None
    return pair if all(math.isfinite(v) for v in pair) else None


def _one(op: str, arg: Any, actual: Any) -> bool:
    if op == "equals":
        return bool(actual == arg)
    if op == "in":
        return actual in arg
    if op == "not":
        return not matches(arg, actual)
    if op == "matches":
        return actual is not None and re.search(arg, str(actual)) is not None
    if op == "exists":
        return (actual is not None) == bool(arg)
    if op == "contains":
        return isinstance(actual, str | Sequence) and actual is not None and arg in actual
    if op == "all":
        return all(matches(m, actual) for m in arg)
    if op == "any":
        return any(matches(m, actual) for m in arg)
    if actual is None:
        return False
    pair = _ordered(actual, arg)
    if pair is None:
        return False
    a, e = pair
    return {"lt": a < e, "gt": a > e, "lte": a <= e, "gte": a >= e}[op]


def matches(matcher: Mapping[str, Any], actual: Any) -> bool:
    """True when ``actual`` satisfies every key of ``matcher``."""
    return all(_one(op, arg, actual) for op, arg in matcher.items())


def _fmt(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def describe(matcher: Mapping[str, Any]) -> str:
    """Human text for an expectation, e.g. ``not Disabled`` or ``one of [Manual, Automatic]``."""
    parts: list[str] = []
    for op, arg in matcher.items():
        if op == "equals":
            parts.append(_fmt(arg))
        elif op == "in":
            parts.append(f"one of {_fmt(arg)}")
        elif op == "not":
            parts.append(f"not {describe(arg)}")
        elif op == "matches":
            parts.append(f"matching /{arg}/")
        elif op == "exists":
            parts.append("present" if arg else "absent")
        elif op == "contains":
            parts.append(f"containing {_fmt(arg)}")
        elif op == "all":
            parts.append(" and ".join(f"({describe(m)})" for m in arg))
        elif op == "any":
            parts.append(" or ".join(f"({describe(m)})" for m in arg))
        else:
            sign = {"lt": "<", "gt": ">", "lte": "<=", "gte": ">="}[op]
            parts.append(f"{sign} {_fmt(arg)}")
    return " and ".join(parts)


def show(value: Any) -> str:
    """Render an observed value the way :func:`describe` renders expectations."""
    return _fmt(value)
