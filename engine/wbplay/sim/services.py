"""The services of the simulated PC: ``service.*`` ops and :func:`start_service`, which the
boot and the backup engine use too.

Service behaviour follows the Service Control Manager (docs/domain.md §1-2):
starting a Disabled service fails with 1058 (ERROR_SERVICE_DISABLED, shown by
backup UIs as 0x80070422); starting a service starts its dependencies first,
and if one of them cannot start the dependent fails with 1068
(ERROR_SERVICE_DEPENDENCY_FAIL); stopping a service that running services
depend on fails with 1051.
"""

from __future__ import annotations

from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure

ERROR_SERVICE_DEPENDENCY_DELETED = 1075


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
    # Every service stopped is started again; any that stays stopped fails the restart by
    # name, as the agent does (docs/agent-review.md likely bug 8).
    down: list[str] = []
    first: OpResult | None = None
    for name in [canonical, *reversed([n for n in stopped if n != canonical])]:
        result = start_service(m, name)
        if not result.ok and result.error is not None:
            first = first or result
            down.append(f"{name} ({result.error.code})")
    if first is not None and first.error is not None:
        return OpResult.failure(
            first.error.code, f"the restart left stopped: {', '.join(down)}; {first.error.message}"
        )
    return OpResult.success()


def _service_policy(m: HostModel, _: dict[str, Any]) -> OpResult:
    # RSOP_SystemService's winning entries (a state's ``policy_start_modes``).
    modes = m.state.get("policy_start_modes") or {}
    return OpResult.success([{"name": n, "start_mode": modes[n]} for n in sorted(modes, key=str.lower)])


HANDLERS: dict[str, Handler] = {
    "service.policy": _service_policy,
    "service.get": _service_get,
    "service.list": _service_list,
    "service.set_start_mode": _set_start_mode,
    "service.start": _service_start,
    "service.stop": _service_stop,
    "service.restart": _service_restart,
}
