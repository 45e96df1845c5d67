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
        # ``fails_to_start_times``: only that many attempts fail (a slow start whose wait ran
        # out, 1053, while the SCM went on starting it); absent, every attempt fails.
        left = s.get("fails_to_start_times")
        if left is None or int(left) > 0:
            if left is not None:
                s["fails_to_start_times"] = int(left) - 1
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
    if s.get("fails_to_stop"):
        # A service that ignores the stop: the agent's wait runs out (1053) and it keeps
        # running (a real one may sit in StopPending; the sim keeps it simple).
        return win32_failure(int(s["fails_to_stop"]))
    s["state"] = "Stopped"
    return OpResult.success()


def _running_dependents(m: HostModel, name: str, seen: set[str]) -> list[str]:
    """The running services that depend on ``name``, directly or not, deepest first (the
    order they can be stopped in), as the agent's Add-WbRunningDependents walks them."""
    order: list[str] = []
    for dep in m.dependents(name):
        if dep.lower() in seen:
            continue
        seen.add(dep.lower())
        order += _running_dependents(m, dep, seen)
        if m.state["services"][dep]["state"] != "Stopped":
            order.append(dep)
    return order


def _service_restart(m: HostModel, a: dict[str, Any]) -> OpResult:
    """Restart-Service -Force: stop running dependents and the service, start them again.

    A writer hosted by the service comes back Stable (its failed state lived in that
    process), which is the documented first remedy for a failed writer (docs/domain.md s.2,
    0x807800A1: "fix the failing writer").  A failure restores what it can, as the agent's
    Restart-WbService does (docs/agent-review.md likely bug 8): a failed stop starts again
    what was stopped; a failed start of the service is tried once more, then its dependents
    are started anyway (1068 when they need it); the op fails with the first error and each
    service's final state.
    """
    canonical = m.service_name(a["name"])
    if canonical is None:
        return win32_failure(O.ERROR_SERVICE_DOES_NOT_EXIST)
    services = m.state["services"]
    if services[canonical]["start_mode"] == "Disabled":
        return win32_failure(O.ERROR_SERVICE_DISABLED)
    order = _running_dependents(m, canonical, set())
    first: OpResult | None = None
    for name in [*order, canonical]:
        stopped = _service_stop(m, {"name": name})
        if not stopped.ok:
            first = stopped
            break
    if services[canonical]["state"] == "Stopped":
        storage.reset_writers_of(m, canonical)
    codes: dict[str, int] = {}
    for attempt in range(1 if first is not None else 2):
        started = start_service(m, canonical)
        codes.pop(canonical, None)
        if started.ok or started.error is None:
            break
        codes[canonical] = started.error.code
        if first is None and attempt == 1:
            first = started
    for name in reversed(order):
        started = start_service(m, name)
        if not started.ok and started.error is not None:
            codes[name] = started.error.code
            first = first or started
    if first is None or first.error is None:
        return OpResult.success()
    states = ", ".join(
        f"{n} {services[n]['state']}" + (f" ({codes[n]})" if n in codes else "") for n in [canonical, *order]
    )
    return OpResult.failure(
        first.error.code, f"the restart failed; final states: {states}; {first.error.message}"
    )


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
