"""The simulated PC: a schema-validated host state plus Windows' lookup rules.

The state is plain data (the YAML file's content) so it can be saved, diffed
and compared file-for-file; this class adds what Windows does when you look
things up: names are case-insensitive, ``HKEY_LOCAL_MACHINE`` is ``HKLM``, and
a service's ``Start`` value lives in its registry key.
"""

from __future__ import annotations

import copy
from typing import Any

HIVE_ALIASES = {
    "HKEY_LOCAL_MACHINE": "HKLM",
    "HKEY_CURRENT_USER": "HKCU",
    "HKEY_USERS": "HKU",
    "HKEY_CLASSES_ROOT": "HKCR",
    "HKEY_CURRENT_CONFIG": "HKCC",
}
SERVICES_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services"
START_VALUES = {"Automatic": 2, "AutomaticDelayed": 2, "Manual": 3, "Disabled": 4}


def normalise_key(key: str) -> str:
    """``HKEY_LOCAL_MACHINE\\Software\\`` -> ``HKLM\\Software`` (case kept, trailing \\ dropped)."""
    hive, _, rest = key.strip().rstrip("\\").partition("\\")
    hive = HIVE_ALIASES.get(hive.upper(), hive.upper())
    return f"{hive}\\{rest}" if rest else hive


def normalise_path(path: str) -> str:
    """Windows paths compare case-insensitively; ``/`` is accepted as ``\\``."""
    p = path.replace("/", "\\").rstrip("\\")
    return p + "\\" if len(p) == 2 and p[1] == ":" else p


class HostModel:
    """One simulated PC.  ``state`` is the dict that is saved back to YAML."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        state.setdefault("services", {})
        state.setdefault("registry", {})
        state.setdefault("files", {})
        state.setdefault("events", [])

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    # -- facts -----------------------------------------------------------------------
    @property
    def os(self) -> dict[str, Any]:
        os: dict[str, Any] = self.state["os"]
        return os

    @property
    def hostname(self) -> str:
        return str(self.state["hostname"])

    @property
    def major_minor(self) -> tuple[int, int]:
        major, minor, _ = (int(p) for p in self.os["version"].split("."))
        return major, minor

    # -- services --------------------------------------------------------------------
    def service_name(self, name: str) -> str | None:
        """The canonical name of a service, matched case-insensitively."""
        low = name.lower()
        for key in self.state["services"]:
            if key.lower() == low:
                return str(key)
        return None

    def service(self, name: str) -> dict[str, Any] | None:
        canonical = self.service_name(name)
        return None if canonical is None else self.state["services"][canonical]

    def dependents(self, name: str) -> list[str]:
        """Services that list ``name`` in their DependOnService."""
        low = name.lower()
        return [
            n
            for n, s in self.state["services"].items()
            if low in (d.lower() for d in s.get("depends_on", []))
        ]

    # -- registry --------------------------------------------------------------------
    def registry_key(self, key: str) -> tuple[str, dict[str, Any]] | None:
        """The stored key (canonical spelling, values) matching ``key`` case-insensitively."""
        want = normalise_key(key).lower()
        for stored, values in self.state["registry"].items():
            if normalise_key(stored).lower() == want:
                return stored, values
        return None

    def service_for_key(self, key: str) -> str | None:
        """``HKLM\\SYSTEM\\CurrentControlSet\\Services\\wbengine`` -> ``wbengine``."""
        norm = normalise_key(key)
        prefix = SERVICES_KEY.lower() + "\\"
        if not norm.lower().startswith(prefix):
            return None
        rest = norm[len(prefix) :]
        return None if "\\" in rest else self.service_name(rest)

    # -- files -----------------------------------------------------------------------
    def file_key(self, path: str) -> str | None:
        want = normalise_path(path).lower()
        for stored in self.state["files"]:
            if normalise_path(stored).lower() == want:
                return str(stored)
        return None

    def children(self, path: str) -> list[str]:
        base = normalise_path(path).lower().rstrip("\\") + "\\"
        names = []
        for stored in self.state["files"]:
            norm = normalise_path(stored)
            if norm.lower().startswith(base) and "\\" not in norm[len(base) :]:
                names.append(norm[len(base) :])
        return sorted(names)  # ordinal, as the agent sorts (String.CompareOrdinal)
