"""Disks, volumes and their file systems: the typed lists, the read-only checks (chkdsk,
chkntfs, fsutil) and the repairs.  ``chkdsk.schedule`` only arms the boot-time check
(:mod:`wbplay.sim.boot` runs it at ``host.reboot``); ``chkdsk.run`` repairs a lockable
volume now."""

from __future__ import annotations

import uuid
from typing import Any

from wbplay.sim import clock, storage
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command, volume_or_fail
from wbplay.sim.storage import Vol
from wbplay.sim.text.chkdsk import bad_sector_kb, chkdsk_pass_text, chkdsk_readonly, chkntfs, schedule_prompt
from wbplay.sim.text.fsutil import fsutil_dirty, fsutil_ntfsinfo
from wbplay.sim.text.wbadmin import wbadmin_disks
from wbplay.vocab import ops as O
from wbplay.vocab import prompts
from wbplay.vocab.ops import OpResult, win32_failure

CHKDSK_EVENT = ("Chkdsk", 26226)  # an online chkdsk's report, Application log [U: id]


def _disk_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    attached = [d for d in storage.disks(m) if d.get("attached", True)]
    return OpResult.success([storage.disk_record(m, d) for d in sorted(attached, key=lambda d: d["number"])])


def disk_identifier(m: HostModel, number: int) -> str:
    """The GUID ``wbadmin get disks`` shows for a disk (stable per PC and disk in the sim)."""
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_OID, f"wbplay-disk:{m.hostname}:{number}")) + "}"


def _wbadmin_disks(m: HostModel, _: dict[str, Any]) -> OpResult:
    """``wbadmin get disks`` lists the disks online now (wbadmin-get-disks.md [V]): a detached
    one is not there."""
    rows = []
    for d in sorted(storage.disks(m), key=lambda d: d["number"]):
        if not d.get("attached", True):
            continue
        used = sum(v["size_mb"] - v["free_mb"] for v in storage.volumes(m) if v["disk"] == d["number"])
        rows.append((d.get("model", ""), d["number"], disk_identifier(m, d["number"]), d["size_mb"], used))
    return command("wbadmin get disks", 0, wbadmin_disks(m, rows))


def _volume_list(m: HostModel, _: dict[str, Any]) -> OpResult:
    return OpResult.success([storage.volume_record(m, v) for v in storage.online_volumes(m)])


def _chkdsk_scan(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    # No switch on any version: /scan repairs online (docs/agent-review.md D1), so a read op
    # never runs it.
    code, out = chkdsk_readonly(m, v)
    return command(f"chkdsk {storage.name_of(v)}", code, out)


def _chkntfs(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    return command(f"chkntfs {storage.name_of(v)}", 0, chkntfs(m, v))


def _fsutil_dirty(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    return command(f"fsutil dirty query {storage.name_of(v)}", 0, fsutil_dirty(m, v))


def _fsutil_ntfsinfo(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    code, out = fsutil_ntfsinfo(m, v)
    return command(f"fsutil fsinfo ntfsinfo {storage.name_of(v)}", code, out)


def repair_pass(m: HostModel, v: Vol, mode: str, *, at_boot: bool) -> str:
    """One chkdsk /F or /R pass: fixes the next layer of file-system damage and, with /R,
    maps out every unreadable sector; returns its report (docs/domain.md s.4, s.6).

    Each pass finds what the previous one left (the seed's "repeat until no more errors").
    On an SSD every /R pass is counted as wear: chkdsk.md warns that repeated full-surface
    scans add write/erase cycles [V], the seed's warning.
    """
    layers = list(v.get("fs_errors") or [])
    found = layers.pop(0) if layers else 0
    v["fs_errors"] = layers
    added_clusters = 0
    if mode == "r":
        bad = int(v.get("bad_sectors", 0))
        added_clusters = bad_sector_kb(m, v, bad) // 4
        v["bad_sectors_mapped"] = int(v.get("bad_sectors_mapped", 0)) + bad
        v["bad_sectors"] = 0
        d = storage.disk(m, v["disk"])
        if d is not None and d["media_type"] == "SSD":
            d["wear_passes"] = int(d.get("wear_passes", 0)) + 1
    v["dirty"] = False
    v.pop("chkdsk_scheduled", None)
    return chkdsk_pass_text(m, v, mode, found, added_clusters, at_boot=at_boot)


def _chkdsk_schedule(m: HostModel, a: dict[str, Any]) -> OpResult:
    """chkdsk's dialogue as the agent holds it (docs/agent-review.md D2, D3): each question is
    answered by its words (:func:`wbplay.vocab.prompts.answer_schedule`), and success is the
    check being scheduled afterwards, not the agent's Y.  A volume's ``chkdsk_prompts`` (a list
    of "dismount", "restart" or anything else) replaces the questions chkdsk asks (a re-asked
    question, an unknown one); ``chkdsk_schedule_ignored: true`` makes the Y not take."""
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    if a["mode"] not in O.MODES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if a["mode"] == "f" and v.get("chkdsk_scheduled") == "r":  # /R already covers /F
        return OpResult.success()
    kinds = v.get("chkdsk_prompts") or (["restart"] if v.get("boot") else ["dismount", "restart"])
    dialog = prompts.answer_schedule(schedule_prompt(m, str(k)) for k in kinds)
    if dialog.stopped is not None:
        return OpResult.failure(1, dialog.stopped)
    if dialog.yes < 1:
        return OpResult.failure(1, "chkdsk did not offer to check at the next restart")
    if v.get("chkdsk_schedule_ignored"):
        return OpResult.failure(1, "chkdsk was answered Y but no check is scheduled for the next restart")
    v["chkdsk_scheduled"] = a["mode"]
    return OpResult.success()


def _chkdsk_run(m: HostModel, a: dict[str, Any]) -> OpResult:
    v = volume_or_fail(m, a["volume"])
    if isinstance(v, OpResult):
        return v
    if a["mode"] not in O.MODES:
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if v.get("boot") or v.get("system") or v.get("pagefile"):
        # "Chkdsk cannot run because the volume is in use by another process" (docs/domain.md s.6).
        return win32_failure(O.ERROR_SHARING_VIOLATION)
    clock.advance(m, 30 if a["mode"] == "r" else 5)
    report = repair_pass(m, v, a["mode"], at_boot=False)
    source, event_id = CHKDSK_EVENT
    clock.log_event(
        m, log="Application", provider=source, event_id=event_id, level="Information", message=report
    )
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "disk.list": _disk_list,
    "volume.list": _volume_list,
    "chkdsk.scan": _chkdsk_scan,
    "chkntfs.query": _chkntfs,
    "fsutil.dirty_query": _fsutil_dirty,
    "fsutil.ntfsinfo": _fsutil_ntfsinfo,
    "wbadmin.get_disks": _wbadmin_disks,
    "chkdsk.schedule": _chkdsk_schedule,
    "chkdsk.run": _chkdsk_run,
}
