"""The simulated backup engine: would "Back up now" / "Create a system image" work on this PC?

The outcome is *derived* from the state, never stored, and follows the phases a
real backup goes through, so the first obstacle Windows would hit is the one
reported:

1. **start**: the services of the backup chain start (docs/domain.md s.1:
   SDRSVC, wbengine, VSS, swprv, EventSystem, which VSS needs at run time
   [V3]); a chain service that cannot start fails the backup with
   HRESULT_FROM_WIN32 of its start error, the seed's 0x80070422 (s.2 [V]).
2. **target**: the destination of a system image must exist, be NTFS (s.5.7
   [3P]) and not be a critical volume (s.5.1, wbadmin-start-backup.md [V]);
   Windows 7 cannot write an image to a 4K-native disk: 0x8078002A (s.2, s.5.5
   [V KB2510009]); Windows 7 file backup fails with 0x81000031 when BitLocker
   setup moved WinRE onto the external drive (s.5.2 [V KB975692]).
3. **sources**: a decimal symbol other than "." in HKU\\.DEFAULT or a loaded user hive gives
   0x80070057 (KB982736 as third-party pages cite it [3P]; which account matters is [U], so
   every hive counts here); a Windows 7 file backup whose library folder sits on an unavailable network
   or removable drive gives 0x81000031 (KB975692 scenario 1 [V]); Windows 7 images are VHDs:
   a source volume above 2,088,958 MB gives 0x807800B4 (s.2 [V KB2696906]); a stale or foreign
   ``WindowsImageBackup`` set gives 0x80780166 (s.2 [3P]) or, on Windows 7,
   0x807800C5 (s.5.8 [3P]; the split by version is [U]).
4. **snapshot**: a writer in a failed state (6-15, s.3.2 [V]) fails the
   shadow copy: 0x807800A1 with the writer's error as detail, event 521 with
   the code in decimal (s.2 [V KB2615182]); relocated ``C:\\Users`` makes the
   System Writer fail every time (s.2 notes, s.5.9 [3P]); a source volume
   whose diff area has no room fails with 0x80780119 (s.2 [3P], thresholds
   [U]); the Windows 7 file-backup client reports any shadow-copy failure as
   0x81000019 (s.2 [3P]).
5. **write**: unreadable sectors on a source or on the target make the read or
   write fail with 0x8007045D (s.2, s.3.4, s.5.10 [V]); so does a target whose connection
   times out (Disk 153, the data-corruption guide [V]; the code is [U]); file-system damage on a
   source does too in this model, as the seed's final fix implies (repeating
   chkdsk /r until clean made the image work); docs/domain.md s.5.12 found no
   source linking the two: [U].

A damaged Windows 7 file-backup catalog does not fail the backup: it gives the
seed's Path 2 warning "Your backup settings might not be current".

The attempt runs on a copy of the PC; :func:`record` writes the events it
produced into a state (used to author the built-in broken PCs).  The events
themselves are written by :mod:`wbplay.sim.backup_events`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wbplay.sim import clock, storage
from wbplay.sim.backup_events import (
    disk_event,
    extend_denied_event,
    failure_events,
    mslldp_event,
    network_denied_event,
    no_target_event,
    ntfs_event,
    provider_events,
    success_events,
    transport_event,
)
from wbplay.sim.catalog import file_sets, image_sets
from wbplay.sim.model import HostModel
from wbplay.sim.registry import international
from wbplay.sim.services import start_service
from wbplay.sim.storage import Vol
from wbplay.sim.sysinfo import location_available
from wbplay.sim.text.language import lang
from wbplay.sim.text.messages import SETTINGS_NOT_CURRENT, backup_ui_message
from wbplay.vocab import domain
from wbplay.vocab.derive.desktop import decimal_not_period
from wbplay.vocab.derive.volumes import image_path_drive
from wbplay.vocab.ops import Win32Error

BACKUP_CHAIN = ("EventSystem", "VSS", "swprv", "SDRSVC", "wbengine")

S_OK = "0x00000000"


@dataclass(frozen=True, slots=True)
class BackupOutcome:
    ok: bool
    hresult: str  # "0x00000000" on success; "" when Windows refuses without a code ([U] cases)
    detail: str
    detailed_hresult: str = ""
    reason: str = ""  # a stable slug: service-start, target-4kn, writer-failed, shadow-room...
    kind: str = "image"
    message: str = ""  # what the Backup UI shows, in the PC's language
    warnings: tuple[str, ...] = ()
    events: tuple[dict[str, Any], ...] = field(default=(), compare=False)


class _Fail(Exception):
    """A phase stopped the backup (control flow inside this module; never escapes it)."""

    def __init__(self, code: int | None, reason: str, detail: str, detailed: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.reason, self.detail, self.detailed = code, reason, detail, detailed


def _hex(code: int | None) -> str:
    return "" if code is None else f"0x{code:08X}"


def _job(m: HostModel, kind: str | None, target: str | None) -> dict[str, Any]:
    job = dict(m.state.get("backup") or {"kind": "image", "target": None})
    if kind:
        job["kind"] = kind
    if target:
        job["target"] = target
    job.setdefault("tool", "wbadmin" if m.os.get("product_type") != "workstation" else "sdclt")
    return job


def attempt_backup(model: HostModel, kind: str | None = None, target: str | None = None) -> BackupOutcome:
    """Run the configured backup (or ``kind``/``target``) on a copy of the PC."""
    trial = HostModel(model.snapshot())
    job = _job(trial, kind, target)
    warnings: list[str] = []
    start = len(trial.state["events"])
    try:
        _start_chain(trial)
        tgt = _check_target(trial, job)
        sources = _sources(trial, job)
        _check_sources(trial, job, tgt, sources, warnings)
        _snapshot(trial, job, sources)
        _write(trial, job, tgt, sources)
    except _Fail as f:
        failure_events(trial, job, f.code, f.reason, f.detailed)
        events = tuple(trial.state["events"][start:])
        ui = backup_ui_message(trial, f.code) if f.code is not None else f.detail
        return BackupOutcome(
            False,
            _hex(f.code),
            f.detail,
            _hex(f.detailed),
            f.reason,
            job["kind"],
            ui,
            tuple(warnings),
            events,
        )
    success_events(trial, job)
    events = tuple(trial.state["events"][start:])
    detail = (
        "the backup chain starts"
        if not job.get("target")
        else f"{job['kind']} backup to {job['target']} completes"
    )
    return BackupOutcome(True, S_OK, detail, "", "ok", job["kind"], "", tuple(warnings), events)


def record(model: HostModel, outcome: BackupOutcome) -> None:
    """Append the events of ``outcome`` to ``model`` (the PC remembers a failed backup)."""
    model.state["events"].extend(dict(e) for e in outcome.events)


# -- phases -------------------------------------------------------------------------------


def _start_chain(m: HostModel) -> None:
    if m.service_name("wbengine") is None:
        # Windows Server without the Windows-Server-Backup feature: no engine, no wbadmin, and no
        # backup can run at all (client Windows always has wbengine, docs/domain.md s.1).
        raise _Fail(
            None,
            "engine-missing",
            "the Block Level Backup Engine Service (wbengine) is not installed: "
            "install the Windows-Server-Backup feature [U: no code]",
        )
    for name in BACKUP_CHAIN:
        if m.service_name(name) is None:
            continue  # e.g. SDRSVC is not installed on Server; wbadmin does not need it
        result = start_service(m, name)
        if not result.ok and result.error is not None:
            err: Win32Error = result.error
            raise _Fail(int(err.hresult, 16), "service-start", f"{name}: {err.message}")


def _check_target(m: HostModel, job: dict[str, Any]) -> Vol | None:
    if not job.get("target"):
        return None
    if job["target"].startswith("\\\\"):
        return _check_share(m, job["target"])
    tgt = storage.find_volume(m, job["target"])
    if tgt is None:
        if job["tool"] == "wbadmin":
            no_target_event(m)  # a scheduled target disk that is detached (KB2009365 [V])
        raise _Fail(
            None, "target-missing", f"the backup target {job['target']} is not connected [U: no code]"
        )
    if job["kind"] != "image":
        _winre_on_target(m, tgt)
        return tgt
    if tgt["file_system"] != "NTFS":
        raise _Fail(
            None,
            "target-not-ntfs",
            f"{job['target']} is {tgt['file_system']}: a system image needs NTFS [U: no code]",
        )
    reasons = storage.critical_reasons(m, tgt)
    if reasons:
        raise _Fail(
            None,
            "target-critical",
            f"{job['target']} is a critical volume ({', '.join(reasons)}) [U: no code]",
        )
    d = storage.disk(m, tgt["disk"]) or {}
    if m.major_minor < (6, 2) and int(d.get("logical_sector_size", 512)) != 512:
        raise _Fail(
            0x8078002A, "target-4kn", f"{job['target']} is on a 4K-native disk (KB2510009)", 0x8007045D
        )
    return tgt


def _check_share(m: HostModel, path: str) -> None:
    """A remote shared folder as the target (wbadmin -backupTarget:\\\\server\\share [V]): it must be
    reachable and writeable for the backup's account, or event 564 and access denied (0x80070005;
    the event's text [V-msg], the code [U]).  No volume checks: the share's disk is another PC's."""
    share = next((s for s in m.state.get("network_targets", []) if s["path"].lower() == path.lower()), None)
    if share is None:
        raise _Fail(None, "target-missing", f"the remote shared folder {path} cannot be reached [U: no code]")
    if not share.get("writable", True):
        network_denied_event(m, share["path"], share["user"])
        raise _Fail(0x80070005, "network-target-denied", f"{share['user']} may not write to {share['path']}")
    return None


def _winre_on_target(m: HostModel, tgt: Vol) -> None:
    re_vol = storage.winre_volume(m)
    d = storage.disk(m, tgt["disk"]) or {}
    if (
        m.major_minor < (6, 2)
        and re_vol is not None
        and re_vol["disk"] == tgt["disk"]
        and d.get("bus_type") == "USB"
    ):
        raise _Fail(0x81000031, "winre-on-target", "WinRE lives on the external backup drive (KB975692)")


def _sources(m: HostModel, job: dict[str, Any]) -> list[Vol]:
    srcs = storage.image_sources(m)
    return [v for v in srcs if v.get("file_system") in ("NTFS", "ReFS")] if job["kind"] == "files" else srcs


def _check_sources(
    m: HostModel, job: dict[str, Any], tgt: Vol | None, sources: list[Vol], warnings: list[str]
) -> None:
    odd = decimal_not_period(international(m))
    if odd:  # KB982736 as third-party pages cite it [3P]; which account matters, and the phase, are [U]
        raise _Fail(0x80070057, "decimal-symbol", f"{odd[0]['hive']}: decimal symbol {odd[0]['decimal']!r}")
    if job["tool"] == "wbadmin" and job["kind"] == "image":
        letters = {v["letter"] for v in storage.online_volumes(m) if v.get("letter")}
        for name, svc in m.state["services"].items():
            drive = image_path_drive(svc.get("path") or "", "C:")
            if drive is not None and drive not in letters:  # KB980794 [V] (system state; image [U])
                raise _Fail(0x80070057, "imagepath-missing-volume", f"{name}'s ImagePath is on {drive}")
    if job["kind"] == "files" and m.major_minor < (6, 2):
        for lib in m.state.get("libraries", []):
            gone = [p for p in lib.get("locations", []) if not location_available(m, p)]
            if gone:  # KB975692 scenario 1 [V]
                why = f"library {lib['name']}: {gone[0]} is unavailable"
                raise _Fail(0x81000031, "library-unavailable", why)
    if job["kind"] == "files" and job["tool"] == "wbadmin" and not _extend_excluded(m):
        v = next((s for s in sources if s.get("file_system") == "NTFS" and s.get("letter")), None)
        if v is not None:  # KB2747459 [V]: file-level backup meets $Extend\$RmMetadata
            extend_denied_event(m, v)
            raise _Fail(0x80070005, "extend-access-denied", f"{storage.name_of(v)}\\$Extend: access denied")
    if job["kind"] == "image" and tgt is not None and any(s is tgt for s in sources):
        raise _Fail(None, "target-critical", "the target is one of the volumes in the backup [U: no code]")
    if job["kind"] == "image" and m.major_minor < (6, 2):
        for v in sources:
            if v["size_mb"] > storage.VHD_LIMIT_MB:
                raise _Fail(
                    0x807800B4, "source-too-large", f"{storage.name_of(v)} is {v['size_mb']} MB (KB2696906)"
                )
    if tgt is None or not tgt.get("letter"):
        return
    if job["kind"] == "image":
        mine = [s for s in image_sets(m, tgt["letter"]) if s["machine"].lower() == m.hostname.lower()]
        if any(not s["readable"] for s in mine):
            if m.major_minor < (6, 2):
                raise _Fail(0x807800C5, "stale-image-set", f"{mine[0]['path']} cannot be read")
            raise _Fail(0x80780166, "stale-image-set", f"{mine[0]['path']} cannot be read", 0x80070001)
    else:
        mine = [s for s in file_sets(m, tgt["letter"]) if s["machine"].lower() == m.hostname.lower()]
        if any(not s["readable"] for s in mine):
            warnings.append(SETTINGS_NOT_CURRENT[1 if lang(m) == "ja" else 0])


def _vss_code(m: HostModel, job: dict[str, Any], default: int) -> int:
    return (
        0x81000019
        if job["tool"] == "sdclt" and job["kind"] == "files" and m.major_minor < (6, 2)
        else default
    )


def _extend_excluded(m: HostModel) -> bool:
    found = m.registry_key(domain.FILES_NOT_TO_BACKUP_KEY)
    values = found[1].values() if found else []
    return any(
        isinstance(v.get("value"), list)
        and any(str(x).lower() == domain.IGNORE_NTFS_PATTERN.lower() for x in v["value"])
        for v in values
    )


def _swprv_broken(m: HostModel) -> bool:
    """KB2009513: the Parameters key exists but ServiceDll is missing or wrong (a state without
    the key keeps Windows' default)."""
    found = m.registry_key(domain.SWPRV_PARAMETERS_KEY)
    if found is None:
        return False
    dll = next((v["value"] for n, v in found[1].items() if n.lower() == "servicedll"), None)
    return str(dll or "").lower() != domain.SWPRV_SERVICE_DLL.lower()


def _providers(m: HostModel, job: dict[str, Any]) -> None:
    if _swprv_broken(m):
        provider_events(m, swprv=True)
        why = "swprv's ServiceDll is missing or wrong"
        raise _Fail(_vss_code(m, job, 0x8004230F), "swprv-servicedll", why)
    vetoing = [p for p in m.state.get("vss_providers", []) if p.get("veto")]
    if vetoing:
        provider_events(m, swprv=False, name=vetoing[0]["name"])
        why = f"{vetoing[0]['name']} vetoed the snapshot"
        raise _Fail(_vss_code(m, job, 0x80042306), "provider-veto", why)


def _snapshot(m: HostModel, job: dict[str, Any], sources: list[Vol]) -> None:
    if m.os.get("product_type") != "workstation":
        mslldp_event(m)  # KB3209092: every Server backup logs it; harmless
    _providers(m, job)
    esp = next((v for v in sources if v.get("system") and v.get("file_system") == "FAT32"), None)
    if job["kind"] == "image" and esp is not None and m.state.get("esp_locked_by"):
        # Another process (antivirus) holds the ESP: 0x8078011E [3P] (docs/domain-review.md B #9).
        raise _Fail(0x8078011E, "esp-locked", f"{m.state['esp_locked_by']} holds the EFI system partition")
    if storage.profiles_relocated(m):
        for w in storage.writers(m):
            if w["name"] == "System Writer":
                w["state"], w["last_error"] = 6, "non-retryable"  # FailedAtIdentify; CAPI2 513 [3P]
        clock.log_event(
            m,
            log="Application",
            provider="Microsoft-Windows-CAPI2",
            event_id=513,
            level="Error",
            message=(
                "Cryptographic Services failed while processing the OnIdentity() call in the System "
                "Writer Object."
            ),
        )
    for w in storage.writers(m):
        if storage.failed(w):
            detailed = storage.WRITER_ERROR_HRESULTS.get(w.get("last_error", "unexpected"), 0x800423F3)
            raise _Fail(
                _vss_code(m, job, 0x807800A1),
                "writer-failed",
                f"the VSS writer '{w['name']}' is failed",
                detailed,
            )
    for v in sources:
        ok, why = storage.shadow_room(m, v)
        if not ok:
            raise _Fail(_vss_code(m, job, 0x80780119), "shadow-room", why, 0x8004231F)


def _write(m: HostModel, job: dict[str, Any], tgt: Vol | None, sources: list[Vol]) -> None:
    for v in sources:
        if v.get("bad_sectors"):
            disk_event(m, v)
            raise _Fail(0x8007045D, "source-io", f"unreadable sectors on {storage.name_of(v)}")
        if v.get("fs_errors") and v["fs_errors"][0] > 0:
            ntfs_event(m, v)
            raise _Fail(0x8007045D, "source-corrupt", f"file-system damage on {storage.name_of(v)} [U]")
    if tgt is not None and (storage.disk(m, tgt["disk"]) or {}).get("transport_fault"):
        transport_event(m, tgt["disk"])
        raise _Fail(0x8007045D, "target-transport", f"I/O to the target {storage.name_of(tgt)} times out")
    if tgt is not None and tgt.get("bad_sectors"):
        disk_event(m, tgt)
        raise _Fail(0x8007045D, "target-io", f"unwritable sectors on the target {storage.name_of(tgt)}")
