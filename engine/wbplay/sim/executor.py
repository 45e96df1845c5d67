"""Run one op against a simulated PC, the way Windows would answer it.

Service behaviour follows the Service Control Manager (docs/domain.md §1-2):
starting a Disabled service fails with 1058 (ERROR_SERVICE_DISABLED, shown by
backup UIs as 0x80070422); starting a service starts its dependencies first,
and if one of them cannot start the dependent fails with 1068
(ERROR_SERVICE_DEPENDENCY_FAIL); stopping a service that running services
depend on fails with 1051.
"""

from __future__ import annotations

import ntpath
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from wbplay.sim import boot, clock, commands, storage
from wbplay.sim.model import SERVICES_KEY, START_VALUES, HostModel, normalise_key, normalise_path
from wbplay.vocab import ops as O
from wbplay.vocab.ops import Op, OpResult, win32_failure

ERROR_SERVICE_DEPENDENCY_DELETED = 1075

Handler = Callable[[HostModel, dict[str, Any]], OpResult]


# -- reads ----------------------------------------------------------------------------


def _os_info(m: HostModel, _: dict[str, Any]) -> OpResult:
    os = m.os
    return OpResult.success(
        {
            "hostname": m.hostname,
            "caption": os["caption"],
            "version": os["version"],
            "build": int(os["version"].split(".")[2]),
            "sp": os.get("sp", 0),
            "ps_version": os["ps_version"],
            "locale": os["locale"],
            "oem_codepage": os["oem_codepage"],
            "product_type": os["product_type"],
            # The agent reports PROCESSOR_ARCHITECTURE's vocabulary (OSArchitecture is localized).
            "arch": {"64-bit": "x64", "32-bit": "x86"}.get(os.get("arch", "64-bit"), "x64"),
            "boot_time": clock.last_boot(m),
        }
    )


def _service_record(m: HostModel, name: str) -> dict[str, Any] | None:
    canonical = m.service_name(name)
    if canonical is None:
        return None
    s = m.state["services"][canonical]
    return {
        "name": canonical,
        "display_name": s["display_name"],
        "start_mode": s["start_mode"],
        "state": s["state"],
        "depends_on": list(s.get("depends_on", [])),
        "path": s.get("path", ""),
    }


def _service_get(m: HostModel, a: dict[str, Any]) -> OpResult:
    return OpResult.success(_service_record(m, a["name"]))


def _service_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success([_service_record(m, n) for n in sorted(m.state["services"], key=str.lower)])


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


# Path rules shared with the agent (agent.ps1): absolute drive or UNC paths only.
ERROR_INVALID_NAME = 123
ERROR_BAD_PATHNAME = 161
ERROR_DIRECTORY = 267
_ABSOLUTE = re.compile(r"^([A-Za-z]:[\\/]|\\\\[^\\]+\\[^\\]+)")


def _relative(path: str) -> OpResult | None:
    return None if _ABSOLUTE.match(path) else win32_failure(ERROR_BAD_PATHNAME)


def _path_get(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return OpResult.success({"exists": False, "kind": None, "size": None, "reparse": False})
    e = m.state["files"][key]
    return OpResult.success(
        {
            "exists": True,
            "kind": e["kind"],
            "size": e.get("size", 0) if e["kind"] == "file" else None,  # a folder has no size
            "reparse": bool(e.get("reparse", False)),
        }
    )


def _path_list(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return OpResult.success(None)
    if m.state["files"][key]["kind"] != "directory":
        return win32_failure(ERROR_DIRECTORY)
    return OpResult.success(m.children(a["path"]))


def _event_text(value: Any) -> str | None:
    """Event data as a real PC delivers it: text from the event XML (Boolean as true/false)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _events_query(m: HostModel, a: dict[str, Any]) -> OpResult:
    provider = a["provider"].lower()
    ids = set(a.get("ids") or [])
    log = (a.get("log") or "").lower()
    clock = _parse_time(m.state.get("clock", "2030-01-01T00:00:00Z"))
    since = clock - timedelta(days=a["since_days"]) if a.get("since_days") else None
    found = []
    for e in m.state["events"]:
        if e["provider"].lower() != provider or (ids and e["id"] not in ids):
            continue
        if log and e["log"].lower() != log:
            continue
        if since and _parse_time(e["time"]) < since:
            continue
        found.append(
            {
                "log": e["log"],
                "provider": e["provider"],
                "id": e["id"],
                "level": e["level"],
                "time": e["time"],
                "message": e.get("message"),
                "fields": {k: _event_text(v) for k, v in e.get("fields", {}).items()},
            }
        )
    found.sort(key=lambda e: e["time"], reverse=True)
    return OpResult.success(found[: a.get("max") or 1000])  # the agent's default, too


# -- writes ---------------------------------------------------------------------------


def _set_start_mode(m: HostModel, a: dict[str, Any]) -> OpResult:
    s = m.service(a["name"])
    if s is None:
        return win32_failure(O.ERROR_SERVICE_DOES_NOT_EXIST)
    if a["start_mode"] not in O.START_MODES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    s["start_mode"] = a["start_mode"]
    return OpResult.success()


def start_service(m: HostModel, name: str, chain: tuple[str, ...] = ()) -> OpResult:
    """Start ``name`` and, first, its dependencies (as the SCM does)."""
    canonical = m.service_name(name)
    if canonical is None:
        return win32_failure(O.ERROR_SERVICE_DOES_NOT_EXIST)
    s = m.state["services"][canonical]
    if s["state"] == "Running":
        return OpResult.success()
    if s["start_mode"] == "Disabled":
        return win32_failure(O.ERROR_SERVICE_DISABLED)
    for dep in s.get("depends_on", []):
        if m.service_name(dep) is None:
            return OpResult.failure(
                ERROR_SERVICE_DEPENDENCY_DELETED,
                "The dependency service does not exist or has been marked for deletion.",
            )
        if dep.lower() in (c.lower() for c in chain):
            continue  # a dependency cycle; Windows refuses such configs, keep the sim total
        if not start_service(m, dep, (*chain, canonical)).ok:
            return win32_failure(O.ERROR_SERVICE_DEPENDENCY_FAIL)
    if s.get("fails_to_start"):
        return win32_failure(int(s["fails_to_start"]))
    s["state"] = "Running"
    return OpResult.success()


def _service_start(m: HostModel, a: dict[str, Any]) -> OpResult:
    return start_service(m, a["name"])


def _service_stop(m: HostModel, a: dict[str, Any]) -> OpResult:
    s = m.service(a["name"])
    if s is None:
        return win32_failure(O.ERROR_SERVICE_DOES_NOT_EXIST)
    if s["state"] == "Stopped":
        return OpResult.success()
    running = [d for d in m.dependents(a["name"]) if m.state["services"][d]["state"] == "Running"]
    if running:
        return win32_failure(O.ERROR_DEPENDENT_SERVICES_RUNNING)
    s["state"] = "Stopped"
    return OpResult.success()


def _service_restart(m: HostModel, a: dict[str, Any]) -> OpResult:
    """Restart-Service -Force: stop running dependents and the service, start them again.

    A writer hosted by the service comes back Stable (its failed state lived in that
    process), which is the documented first remedy for a failed writer (docs/domain.md s.2,
    0x807800A1: "fix the failing writer").
    """
    canonical = m.service_name(a["name"])
    if canonical is None:
        return win32_failure(O.ERROR_SERVICE_DOES_NOT_EXIST)
    services = m.state["services"]
    if services[canonical]["start_mode"] == "Disabled":
        return win32_failure(O.ERROR_SERVICE_DISABLED)
    stopped: list[str] = []

    def stop_tree(name: str) -> None:
        for dep in m.dependents(name):
            if services[dep]["state"] == "Running":
                stop_tree(dep)
        if services[name]["state"] == "Running":
            services[name]["state"] = "Stopped"
            stopped.append(name)

    stop_tree(canonical)
    storage.reset_writers_of(m, canonical)
    result = start_service(m, canonical)
    if not result.ok:
        return result
    for name in reversed(stopped):
        start_service(m, name)
    return OpResult.success()


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


def _path_rename(m: HostModel, a: dict[str, Any]) -> OpResult:
    new_name = a["new_name"]
    if not new_name or any(c in new_name for c in '\\/:*?"<>|'):
        return win32_failure(ERROR_INVALID_NAME)
    if bad := _relative(a["path"]):
        return bad
    key = m.file_key(a["path"])
    if key is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    old = normalise_path(key)
    new = ntpath.join(ntpath.dirname(old), new_name)
    if m.file_key(new) is not None:
        return win32_failure(O.ERROR_ALREADY_EXISTS)
    files = m.state["files"]
    for stored in list(files):
        norm = normalise_path(stored)
        if norm.lower() == old.lower() or norm.lower().startswith(old.lower() + "\\"):
            files[new + norm[len(old) :]] = files.pop(stored)
    return OpResult.success()


def _path_delete(m: HostModel, a: dict[str, Any]) -> OpResult:
    if bad := _relative(a["path"]):
        return bad
    if ntpath.splitdrive(normalise_path(a["path"]))[1] in ("", "\\"):
        return OpResult.failure(O.ERROR_INVALID_PARAMETER, f"refusing to operate on a root: {a['path']!r}")
    key = m.file_key(a["path"])
    if key is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    old = normalise_path(key).lower()
    for stored in list(m.state["files"]):
        norm = normalise_path(stored).lower()
        if norm == old or norm.startswith(old + "\\"):
            del m.state["files"][stored]
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "os.info": _os_info,
    "service.get": _service_get,
    "service.list": _service_list,
    "registry.get": _registry_get,
    "registry.list": _registry_list,
    "path.get": _path_get,
    "path.list": _path_list,
    "events.query": _events_query,
    "service.set_start_mode": _set_start_mode,
    "service.start": _service_start,
    "service.stop": _service_stop,
    "registry.set": _registry_set,
    "registry.delete": _registry_delete,
    "path.rename": _path_rename,
    "path.delete": _path_delete,
    "service.restart": _service_restart,
    "host.reboot": boot.handle_reboot,
    **commands.HANDLERS,
}


def execute(model: HostModel, op: Op) -> OpResult:
    """Answer ``op`` as the simulated Windows PC would."""
    problems = O.check_args(op)
    if problems:
        return OpResult.failure(O.ERROR_INVALID_PARAMETER, "; ".join(problems))
    handler = HANDLERS.get(op.name)
    if handler is None:
        return OpResult.failure(1, f"the simulator does not implement {op.name}")
    return handler(model, dict(op.args))
