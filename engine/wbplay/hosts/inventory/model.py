"""A loaded inventory: its groups and hosts, and each host's merged vars (all < groups < host)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wbplay.errors import InventoryError
from wbplay.playbook.yamlsafe import Document, KeyPath, format_key_path

VAR_NAMES = (
    "address",
    "port",
    "scheme",
    "transport",
    "cert_validation",
    "ca_bundle",
    "username",
    "cert_pem",
    "cert_key_pem",
    "operation_timeout",
    "read_timeout",
    "read_deadline",
    "write_deadline",
)


@dataclass(frozen=True)
class VarValue:
    """A var's value and where it was set, so semantic errors can point at the line."""

    value: Any
    key_path: KeyPath


@dataclass(frozen=True)
class Inventory:
    """A loaded, schema-valid inventory."""

    path: str
    document: Document | None  # None for an empty file
    all_vars: Mapping[str, Any]
    groups: Mapping[str, tuple[str, ...]]  # group -> host names, in file order
    host_names: tuple[str, ...]  # every host, in order of first appearance

    def _data(self) -> dict[str, Any]:
        return self.document.data if self.document else {}

    def error(self, message: str, key_path: KeyPath, hint: str = "") -> InventoryError:
        if self.document is None:
            return InventoryError(message, path=self.path, key_path=format_key_path(key_path), hint=hint)
        err = self.document.error(message, key_path, hint, cls=InventoryError)
        assert isinstance(err, InventoryError)
        return err

    def host_vars(self, host: str) -> dict[str, VarValue]:
        """``host``'s merged vars (all < groups < host), each with its key path."""
        data = self._data()
        merged: dict[str, VarValue] = {}
        for k, v in (data.get("all") or {}).get("vars", {}).items():
            merged[k] = VarValue(v, ("all", "vars", k))
        self._merge_layer(
            merged,
            [
                (("groups", g, "vars"), (data["groups"][g] or {}).get("vars") or {})
                for g, members in self.groups.items()
                if host in members
            ],
            host,
        )
        entries: list[tuple[KeyPath, Mapping[str, Any]]] = []
        if (data.get("hosts") or {}).get(host):
            entries.append((("hosts", host), data["hosts"][host]))
        for g, members in self.groups.items():
            if host in members and ((data["groups"][g] or {}).get("hosts") or {}).get(host):
                entries.append((("groups", g, "hosts", host), data["groups"][g]["hosts"][host]))
        self._merge_layer(merged, entries, host)
        return merged

    def _merge_layer(
        self, merged: dict[str, VarValue], layer: list[tuple[KeyPath, Mapping[str, Any]]], host: str
    ) -> None:
        """Apply one precedence level; within a level, two different values are an error."""
        level: dict[str, VarValue] = {}
        for base, values in layer:
            for k, v in values.items():
                if k in level and level[k].value != v:
                    first = format_key_path(level[k].key_path)
                    raise self.error(
                        f"{host} gets two different values for {k!r}: {level[k].value!r} from {first} "
                        f"and {v!r} here",
                        (*base, k),
                        f"set {k} for {host} in one place (its host entry wins over all groups)",
                    )
                level.setdefault(k, VarValue(v, (*base, k)))
        merged.update(level)

    def first_entry(self, name: str) -> KeyPath:
        """Where host ``name`` first appears (its top-level entry, else its first group's)."""
        data = self._data()
        if name in (data.get("hosts") or {}):
            return ("hosts", name)
        for g, members in self.groups.items():
            if name in members:
                return ("groups", g, "hosts", name)
        return ()
