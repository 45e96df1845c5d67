"""Check kinds: named reads of the host, each a read op plus what to pick from it.

A probe never changes the host.  Several probes that need the same op with the
same arguments share one read, and every probe of a run travels in one batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wbplay.model import Probe
from wbplay.ops import Op, OpResult


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    kind: str
    op: str
    args: tuple[str, ...]
    pick: Callable[[Any], Any]
    doc: str
    optional_args: tuple[str, ...] = ()


def _field(name: str) -> Callable[[Any], Any]:
    return lambda v: None if v is None else v.get(name)


def _identity(v: Any) -> Any:
    return v


PROBES: dict[str, ProbeSpec] = {
    p.kind: p
    for p in (
        ProbeSpec("os.info", "os.info", (), _identity, "OS facts (use field: version, build, locale...)"),
        ProbeSpec("service", "service.get", ("name",), _identity, "The whole service record, or nothing"),
        ProbeSpec("service.exists", "service.get", ("name",), lambda v: v is not None, "Whether it exists"),
        ProbeSpec(
            "service.start_mode",
            "service.get",
            ("name",),
            _field("start_mode"),
            "Automatic, AutomaticDelayed, Manual or Disabled (nothing if missing)",
        ),
        ProbeSpec("service.state", "service.get", ("name",), _field("state"), "Running, Stopped..."),
        ProbeSpec("services", "service.list", (), _identity, "Every service with its image path"),
        ProbeSpec(
            "registry.value",
            "registry.get",
            ("key", "name"),
            lambda v: v.get("value") if v and v.get("exists") else None,
            "A registry value's data (nothing if absent)",
        ),
        ProbeSpec(
            "registry.entry", "registry.get", ("key", "name"), _identity, "{exists, type, value} of one value"
        ),
        ProbeSpec("registry.key", "registry.list", ("key",), _identity, "A key's subkeys and values"),
        ProbeSpec("path.exists", "path.get", ("path",), _field("exists"), "Whether a file or folder exists"),
        ProbeSpec("path", "path.get", ("path",), _identity, "exists, kind, size, reparse"),
        ProbeSpec(
            "path.children", "path.list", ("path",), _identity, "Names inside a folder (nothing if missing)"
        ),
        ProbeSpec(
            "events",
            "events.query",
            ("provider",),
            _identity,
            "Recent events of a provider, newest first",
            ("ids", "log", "since_days", "max"),
        ),
    )
}


def to_op(probe: Probe) -> Op:
    spec = PROBES[probe.kind]
    names = spec.args + spec.optional_args
    return Op(spec.op, {k: v for k, v in probe.args.items() if k in names})


def select(value: Any, dotted: str | None) -> Any:
    """Follow ``a.b.0.c`` into nested dicts and lists; missing parts give None."""
    if not dotted:
        return value
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def observe(probe: Probe, result: OpResult) -> Any:
    """The value a probe observed from its op's result (the caller handles failures)."""
    return select(PROBES[probe.kind].pick(result.value), probe.field)
