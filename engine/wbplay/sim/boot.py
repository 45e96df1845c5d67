"""``host.reboot`` on the simulated PC: shut down, run the work scheduled for boot, start
the automatic services.

At boot autochk runs every check that ``chkdsk X: /R`` (or ``/F``) scheduled,
and also checks dirty volumes; its report lands in the Application log as
event 1001 of Wininit (docs/domain.md s.4: "Logs: Application log sources
Chkdsk and Wininit (after a boot-time run)" [V chkdsk.md]; the id 1001 and the
provider name per version are [U]).  Service states reset to what their start
modes give, and VSS writers, which live in their services' processes, come
back Stable.
"""

from __future__ import annotations

from wbplay.sim import clock, storage
from wbplay.sim.disks import repair_pass
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler
from wbplay.sim.services import start_service
from wbplay.vocab.ops import ERROR_INVALID_PARAMETER, OpResult, win32_failure

PASS_MINUTES = {
    "r": 45,
    "f": 5,
}  # a /R pass reads every sector: hours on a big HDD [V]; the sim only orders events


def wininit_provider(m: HostModel) -> str:
    return "Wininit" if m.major_minor < (6, 2) else "Microsoft-Windows-Wininit"


def reboot(m: HostModel) -> OpResult:
    clock.advance(m, 1)
    m.os["last_boot"] = m.state["clock"]
    for v in storage.online_volumes(m):
        mode = v.get("chkdsk_scheduled") or ("f" if v.get("dirty") else None)
        if mode is None:
            continue
        clock.advance(m, PASS_MINUTES[mode])
        report = repair_pass(m, v, mode, at_boot=True)
        clock.log_event(
            m,
            log="Application",
            provider=wininit_provider(m),
            event_id=1001,
            level="Information",
            message=report,
        )
    clock.advance(m, 1)
    services = m.state["services"]
    for name, mode in (m.state.get("policy_start_modes") or {}).items():
        if name in services:  # Group Policy applies its System Services settings again at boot
            services[name]["start_mode"] = mode
    for s in services.values():
        s["state"] = "Stopped"
    for name in sorted(services, key=str.lower):
        if services[name]["start_mode"] in ("Automatic", "AutomaticDelayed"):
            start_service(m, name)
    for w in m.state.get("vss_writers", []):
        w["state"], w["last_error"] = 1, "none"
    return OpResult.success()


def handle_reboot(m: HostModel, a: dict[str, object]) -> OpResult:
    notice = a.get("notice_minutes")
    minutes = 5 if notice is None else notice
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 720:
        return win32_failure(ERROR_INVALID_PARAMETER)
    clock.advance(m, minutes)  # the users' notice (shutdown /t), then the restart
    m.state.pop("signed_in", None)  # a restart ends every desktop session
    return reboot(m)


HANDLERS: dict[str, Handler] = {"host.reboot": handle_reboot}
