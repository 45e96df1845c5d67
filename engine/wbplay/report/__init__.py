"""Report writers: ``--report md:FILE``, ``json:FILE``, ``junit:FILE`` (several at once)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbplay.errors import UsageError
from wbplay.report import junit, markdown


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "md": markdown.render,
    "json": _json,
    "junit": junit.render,
}


@dataclass(frozen=True, slots=True)
class ReportSpec:
    format: str
    path: Path


def parse_specs(items: Sequence[str]) -> list[ReportSpec]:
    specs = []
    for item in items:
        fmt, sep, path = item.partition(":")
        if not sep or fmt not in FORMATS or not path:
            raise UsageError(f"--report expects FORMAT:FILE with FORMAT one of md, json, junit; got {item!r}")
        specs.append(ReportSpec(fmt, Path(path)))
    return specs


def render(doc: dict[str, Any], fmt: str) -> str:
    return FORMATS[fmt](doc)


def write(doc: dict[str, Any], specs: Sequence[ReportSpec]) -> None:
    for spec in specs:
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        spec.path.write_text(render(doc, spec.format), encoding="utf-8")
