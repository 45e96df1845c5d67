"""The registry of the simulated PC: ``registry.*`` ops.  A service's key under
``HKLM\\SYSTEM\\CurrentControlSet\\Services`` is a view of the service model, so writing its
``Start`` value changes the start mode, as on Windows."""

from __future__ import annotations

import re
from typing import Any

from wbplay.sim.model import SERVICES_KEY, START_VALUES, HostModel, normalise_key
from wbplay.sim.reply import Handler
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure


def _service_values(m: HostModel, service: str) -> dict[str, dict[str, Any]]:
    """The registry values Windows keeps under Services\\<name> for what the model knows."""
    s = m.state["services"][service]
    values: dict[str, dict[str, Any]] = {
        "Start": {"type": "REG_DWORD", "value": START_VALUES[s["start_mode"]]},
        "DisplayName": {"type": "REG_SZ", "value": s["display_name"]},
    }
    if s["start_mode"] == "AutomaticDelayed":
        values["DelayedAutostart"] = {"type": "REG_DWORD", "value": 1}
    if s.get("path"):
        values["ImagePath"] = {"type": "REG_EXPAND_SZ", "value": s["path"]}
    if s.get("depends_on"):
        values["DependOnService"] = {"type": "REG_MULTI_SZ", "value": list(s["depends_on"])}
    return values


def _key_values(m: HostModel, key: str) -> dict[str, dict[str, Any]] | None:
    found = m.registry_key(key)
    service = m.service_for_key(key)
    if found is None and service is None:
        return None
    values = dict(found[1]) if found else {}
    if service is not None:
        values.update(_service_values(m, service))
    return values


def _registry_get(m: HostModel, a: dict[str, Any]) -> OpResult:
    values = _key_values(m, a["key"]) or {}
    for name, v in values.items():
        if name.lower() == a["name"].lower():
            return OpResult.success({"exists": True, "type": v["type"], "value": v["value"]})
    return OpResult.success({"exists": False, "type": None, "value": None})


def _registry_list(m: HostModel, a: dict[str, Any]) -> OpResult:
    values = _key_values(m, a["key"])
    want = normalise_key(a["key"]).lower() + "\\"
    subkeys = set()
    for stored in m.state["registry"]:
        norm = normalise_key(stored)
        if norm.lower().startswith(want):
            subkeys.add(norm[len(want) :].split("\\")[0])
    if normalise_key(a["key"]).lower() == SERVICES_KEY.lower():
        subkeys |= set(m.state["services"])
    if values is None and not subkeys:
        return OpResult.success({"exists": False, "subkeys": [], "values": {}})
    return OpResult.success(
        {"exists": True, "subkeys": sorted(subkeys, key=str.lower), "values": values or {}}
    )


def _registry_set(m: HostModel, a: dict[str, Any]) -> OpResult:
    if a["type"] not in O.REGISTRY_TYPES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    service = m.service_for_key(a["key"])
    if service is not None and a["name"].lower() in ("start", "delayedautostart"):
        return _service_value_write(m, service, a["name"].lower(), a["value"])
    found = m.registry_key(a["key"])
    if found is None:
        values: dict[str, Any] = {}
        m.state["registry"][normalise_key(a["key"])] = values
    else:
        values = found[1]
    for existing in list(values):
        if existing.lower() == a["name"].lower():
            del values[existing]
    values[a["name"]] = {"type": a["type"], "value": a["value"]}
    return OpResult.success()


def _service_value_write(m: HostModel, service: str, name: str, value: Any) -> OpResult:
    s = m.state["services"][service]
    if name == "start":
        by_value = {2: "Automatic", 3: "Manual", 4: "Disabled"}
        if value not in by_value:
            return win32_failure(O.ERROR_INVALID_PARAMETER)
        delayed = s["start_mode"] == "AutomaticDelayed"
        s["start_mode"] = "AutomaticDelayed" if value == 2 and delayed else by_value[value]
    elif s["start_mode"] in ("Automatic", "AutomaticDelayed"):
        s["start_mode"] = "AutomaticDelayed" if value == 1 else "Automatic"
    return OpResult.success()


def _registry_delete(m: HostModel, a: dict[str, Any]) -> OpResult:
    found = m.registry_key(a["key"])
    if found is not None:
        for existing in list(found[1]):
            if existing.lower() == a["name"].lower():
                del found[1][existing]
                return OpResult.success()
    # Deleting an absent value succeeds, as in the agent: it is the rollback of "create a value".
    return OpResult.success()


_INTERNATIONAL = re.compile(
    r"^HKU\\(\.DEFAULT|S-1-5-21-[\d-]+)\\Control Panel\\International$", re.IGNORECASE
)


def international(m: HostModel) -> list[dict[str, Any]]:
    """As the agent's Get-WbUserInternational: HKU\\.DEFAULT and each loaded user hive."""
    out = []
    for stored, values in m.state["registry"].items():
        found = _INTERNATIONAL.match(normalise_key(stored))
        if found is None:
            continue
        named = {n.lower(): v["value"] for n, v in values.items()}
        out.append(
            {
                "hive": "HKU\\" + found.group(1),
                "decimal": named.get("sdecimal"),
                "locale_name": named.get("localename"),
            }
        )
    return sorted(out, key=lambda h: h["hive"])


def _user_international(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success(international(m))


def _no_hkcu(handler: Handler) -> Handler:
    """HKCU is refused with 50, as the agent refuses it when the account's hive is not loaded:
    over WinRM (no profile) HKCU would be the default profile's hive, not the account's
    (docs/agent-review.md likely bug 3).  The simulated PC loads no user profile for wbplay."""

    def guarded(m: HostModel, a: dict[str, Any]) -> OpResult:
        if normalise_key(a["key"]).split("\\", 1)[0] == "HKCU":
            return OpResult.failure(
                O.ERROR_NOT_SUPPORTED, "HKCU is not this account's hive here (its profile is not loaded)"
            )
        return handler(m, a)

    return guarded


HANDLERS: dict[str, Handler] = {
    "registry.get": _no_hkcu(_registry_get),
    "registry.list": _no_hkcu(_registry_list),
    "registry.set": _no_hkcu(_registry_set),
    "registry.delete": _no_hkcu(_registry_delete),
    "user.international": _user_international,
}
