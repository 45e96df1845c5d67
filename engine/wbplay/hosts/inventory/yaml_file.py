"""The YAML inventory format (``schemas/inventory.schema.json``): parse, validate, index."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from wbplay import resources
from wbplay.errors import InventoryError
from wbplay.hosts.inventory.files import read_text
from wbplay.hosts.inventory.model import VAR_NAMES, Inventory
from wbplay.playbook.yamlsafe import Document, KeyPath, load_text


def load_inventory(path: Path) -> Inventory:
    """Read, parse and validate an inventory file; errors name ``file:line``."""
    text = read_text(path)
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return Inventory(str(path), None, {}, {}, ())
    doc = load_text(text, str(path), InventoryError)
    if not isinstance(doc.data, dict):
        raise doc.error(
            "an inventory is a mapping with 'all', 'groups' and/or 'hosts'", (), cls=InventoryError
        )
    return index(doc)


def index(doc: Document) -> Inventory:
    """A parsed inventory document (of any file format), validated against the schema and indexed."""
    _validate(doc)
    data: dict[str, Any] = doc.data
    groups: dict[str, tuple[str, ...]] = {}
    order: dict[str, None] = dict.fromkeys((data.get("hosts") or {}).keys())
    for g, body in (data.get("groups") or {}).items():
        members = tuple(((body or {}).get("hosts") or {}).keys())
        groups[g] = members
        order.update(dict.fromkeys(members))
    for g in groups:
        if g in order:
            raise doc.error(
                f"{g!r} is both a group and a host name",
                ("groups", g),
                "--host NAME must mean one thing; rename the group or the host",
                cls=InventoryError,
            )
    return Inventory(doc.path, doc, dict((data.get("all") or {}).get("vars") or {}), groups, tuple(order))


def _validate(doc: Document) -> None:
    error = best_match(Draft202012Validator(resources.schema("inventory")).iter_errors(doc.data))
    if error is None:
        return
    key_path: KeyPath = tuple(error.absolute_path)
    message, hint = error.message, ""
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        unexpected = re.findall(r"'([^']*)'", error.message)
        if unexpected:
            key = unexpected[0]
            key_path = (*key_path, key)
            known = (
                VAR_NAMES if _holds_vars(key_path[:-1]) else ("all", "groups", "hosts", "vars", "description")
            )
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
            if key == "password":
                hint = (
                    "passwords never go in the inventory: use WBPLAY_PASSWORD_<HOST>, "
                    "the OS keyring or the interactive prompt"
                )
    raise doc.error(message, key_path, hint, cls=InventoryError)


def _holds_vars(parent: KeyPath) -> bool:
    """Whether the mapping at ``parent`` is a vars mapping or a host entry."""
    return (len(parent) >= 1 and parent[-1] == "vars") or (len(parent) >= 2 and parent[-2] == "hosts")
