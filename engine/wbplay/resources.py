"""Where the shipped playbooks, schemas, cited docs and simulated PCs live.

Installed from a wheel they sit inside the package (``wbplay/_data``); in a
source checkout (editable install, tests) they sit at the repository root.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    shipped = _PACKAGE / "_data" / name
    if shipped.is_dir():
        return shipped
    return _PACKAGE.parent.parent / name  # engine/wbplay -> repo root


def playbooks_dir() -> Path:
    return _data_dir("playbooks")


def schemas_dir() -> Path:
    return _data_dir("schemas")


def docs_dir() -> Path:
    """The notes the playbooks cite (``docs/domain.md``): beside them, so a ``docs/…``
    citation resolves from the playbook's own folder, in a checkout and in the wheel."""
    return playbooks_dir() / "docs"


def states_dir() -> Path:
    return _PACKAGE / "sim" / "states"


@cache
def schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in ``schemas/``, e.g. ``schema("playbook")``."""
    with (schemas_dir() / f"{name}.schema.json").open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data
