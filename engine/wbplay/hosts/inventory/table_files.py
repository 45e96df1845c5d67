"""Inventories as a CSV table or a plain host list, read into the same model as the YAML format.

CSV (``*.csv``): a header row, then one PC per row.  ``name`` is required;
``groups`` lists the PC's groups (separated by spaces or ``;``); every other
column is a host var (``address``, ``port``, ``scheme``, ``transport``,
``username``...).  Empty cells are unset.

Host list (``*.txt``, ``*.hosts``, ``*.list``): one ``--host`` item per line
(``pc42``, ``host:port``, ``https://host:port``), ``#`` comments.  Every PC is
in the group named after the file (``office.txt`` -> ``office``).

Errors name ``file:line`` like the YAML format's: each row keeps its line.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from wbplay.errors import InventoryError, UsageError
from wbplay.hosts.inventory.files import read_text
from wbplay.hosts.inventory.model import VAR_NAMES, Inventory
from wbplay.hosts.inventory.spec import parse_spec
from wbplay.hosts.inventory.yaml_file import index
from wbplay.playbook.yamlsafe import Document, KeyPath, Mark

CSV_SUFFIXES = (".csv",)
LIST_SUFFIXES = (".txt", ".hosts", ".list")
_INT_VARS = {"port", "operation_timeout", "read_timeout"}
_FLOAT_VARS = {"read_deadline", "write_deadline"}


def _value(key: str, text: str, path: Path, line: int) -> Any:
    try:
        if key in _INT_VARS:
            return int(text)
        if key in _FLOAT_VARS:
            return float(text)
    except ValueError:
        raise InventoryError(f"{key} {text!r} is not a number", path=str(path), line=line) from None
    return text


def load_csv(path: Path) -> Inventory:
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "name" not in header:
        raise InventoryError(
            "a CSV inventory needs a header row with a 'name' column", path=str(path), line=1
        )
    unknown = [h for h in header if h not in (*VAR_NAMES, "name", "groups") and h]
    if unknown:
        raise InventoryError(
            f"unknown column {unknown[0]!r}",
            path=str(path),
            line=1,
            hint="columns: name, groups, " + ", ".join(VAR_NAMES),
        )
    hosts: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    marks: dict[KeyPath, Mark] = {}
    for row in reader:
        line = reader.line_num
        cells = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        name = cells.pop("name", "")
        if not name:
            raise InventoryError("this row has no name", path=str(path), line=line)
        if name in hosts:
            raise InventoryError(f"{name!r} appears twice", path=str(path), line=line)
        member_of = [g for g in re.split(r"[\s;]+", cells.pop("groups", "")) if g]
        hosts[name] = {k: _value(k, v, path, line) for k, v in cells.items() if v}
        marks[("hosts", name)] = Mark(line, 1)
        for k in hosts[name]:
            marks[("hosts", name, k)] = Mark(line, 1)
        for g in member_of:
            groups.setdefault(g, {"hosts": {}})["hosts"][name] = None
            marks.setdefault(("groups", g), Mark(line, 1))
    return _indexed(path, {"groups": groups, "hosts": hosts}, marks)


def load_host_list(path: Path) -> Inventory:
    text = read_text(path)
    group = re.sub(r"[^A-Za-z0-9._-]", "-", path.stem) or "hosts"
    hosts: dict[str, Any] = {}
    marks: dict[KeyPath, Mark] = {}
    for line_no, line in enumerate(text.splitlines(), 1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            spec = parse_spec(item)
        except UsageError as e:
            raise InventoryError(str(e).replace("--host ", ""), path=str(path), line=line_no) from None
        name = spec.name if spec.port is None else f"{spec.name}-{spec.port}"
        name = name.replace(":", "-")  # an IPv6 address as a name
        entry: dict[str, Any] = {"address": spec.name}
        if spec.port is not None:
            entry["port"] = spec.port
        if spec.scheme is not None:
            entry["scheme"] = spec.scheme
        hosts.setdefault(name, entry)
        marks.setdefault(("groups", group, "hosts", name), Mark(line_no, 1))
    if group in hosts:
        group = f"{group}-hosts"
    return _indexed(path, {"groups": {group: {"hosts": hosts}}}, marks)


def _indexed(path: Path, data: dict[str, Any], marks: dict[KeyPath, Mark]) -> Inventory:
    return index(Document(str(path), data, marks))
