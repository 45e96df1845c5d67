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
3. **sources**: Windows 7 images are VHDs: a source volume above 2,088,958 MB
   gives 0x807800B4 (s.2 [V KB2696906]); a stale or foreign
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
   write fail with 0x8007045D (s.2, s.3.4, s.5.10 [V]); file-system damage on a
   source does too in this model, as the seed's final fix implies (repeating
   chkdsk /r until clean made the image work); docs/domain.md s.5.12 found no
   source linking the two: [U].

A damaged Windows 7 file-backup catalog does not fail the backup: it gives the
seed's Path 2 warning "Your backup settings might not be current".

The attempt runs on a copy of the PC; :func:`record` writes the events it
produced into a state (used to author the built-in broken PCs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wbplay.sim import clock, storage, text
from wbplay.sim.commands import file_sets, image_sets
from wbplay.sim.executor import start_service
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol
from wbplay.vocab.ops import Win32Error

BACKUP_CHAIN = ("EventSystem", "VSS", "swprv", "SDRSVC", "wbengine")
PROVIDER = "Microsoft-Windows-Backup"
CLIENT_SOURCE = "Windows Backup"  # the Win7 sdclt client's classic Application-log source [3P]

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
        _failure_events(trial, job, f)
        events = tuple(trial.state["events"][start:])
        ui = text.backup_ui_message(trial, f.code) if f.code is not None else f.detail
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
    _success_events(trial, job)
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
    tgt = storage.find_volume(m, job["target"])
    if tgt is None:
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
            warnings.append(text.SETTINGS_NOT_CURRENT[1 if text.lang(m) == "ja" else 0])


def _vss_code(m: HostModel, job: dict[str, Any], default: int) -> int:
    return (
        0x81000019
        if job["tool"] == "sdclt" and job["kind"] == "files" and m.major_minor < (6, 2)
        else default
    )


def _snapshot(m: HostModel, job: dict[str, Any], sources: list[Vol]) -> None:
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
            _disk_event(m, v)
            raise _Fail(0x8007045D, "source-io", f"unreadable sectors on {storage.name_of(v)}")
        if v.get("fs_errors") and v["fs_errors"][0] > 0:
            _ntfs_event(m, v)
            raise _Fail(0x8007045D, "source-corrupt", f"file-system damage on {storage.name_of(v)} [U]")
    if tgt is not None and tgt.get("bad_sectors"):
        _disk_event(m, tgt)
        raise _Fail(0x8007045D, "target-io", f"unwritable sectors on the target {storage.name_of(tgt)}")


# -- events -------------------------------------------------------------------------------


def _disk_event(m: HostModel, v: Vol) -> None:
    n = v["disk"]
    clock.log_event(
        m,
        log="System",
        provider="disk",
        event_id=7,
        level="Error",
        message=f"The device, \\Device\\Harddisk{n}\\DR{n}, has a bad block.",
        fields={"DeviceName": f"\\Device\\Harddisk{n}\\DR{n}"},
    )


def _ntfs_event(m: HostModel, v: Vol) -> None:
    name = storage.name_of(v)
    clock.log_event(
        m,
        log="System",
        provider="Ntfs" if m.major_minor < (6, 2) else "Microsoft-Windows-Ntfs",
        event_id=55,
        level="Error",
        message=f"The file system structure on the disk is corrupt and unusable. Please run the chkdsk "
        f"utility on the volume {name}.",
        fields={"DriveName": name},
    )


def _code_field(m: HostModel, code: int | None) -> str | int:
    """Windows 7 writes templates v0-v2 (UInt32: decimal); Windows 8+ v3 (HexInt32)."""
    value = code or 0
    return str(value) if m.major_minor < (6, 2) else f"0x{value:08x}"


def _template_version(m: HostModel) -> int:
    return 1 if m.major_minor < (6, 2) else 3


def _backup_fields(m: HostModel, job: dict[str, Any], code: int, detailed: int | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "HRESULT": _code_field(m, code),
        "DetailedHRESULT": _code_field(m, detailed),
        "BackupState": 9 if code else 0,
        "BackupTarget": job.get("target") or "",
        "NumOfVolumes": len(storage.image_sources(m)),
    }
    if m.major_minor >= (6, 2):
        fields["ErrorMessage"] = text.message(m, code) if code else ""
    return fields


def _started(m: HostModel) -> str:
    return f"{m.state.get('clock', clock.DEFAULT_CLOCK)[:-1]}.000000000Z"


def _failure_events(m: HostModel, job: dict[str, Any], f: _Fail) -> None:
    if f.code is None:
        return
    shown = f"0x{f.code:08X}" if m.major_minor >= (6, 2) else str(f.code)
    if job["tool"] == "sdclt" and (job["kind"] == "files" or f.reason == "service-start"):
        # The Backup and Restore client logs to the classic Application log [3P superuser copy].
        msg = (
            text.backup_ui_message(m, f.code)
            if f.reason == "service-start"
            else text.tr(
                m,
                f"The backup was not successful. The error is: {text.message(m, f.code)} (0x{f.code:08X}).",
                f"バックアップは成功しませんでした。エラー: {text.message(m, f.code)} (0x{f.code:08X})。",
            )
        )
        clock.log_event(
            m,
            log="Application",
            provider=CLIENT_SOURCE,
            event_id=4104,
            level="Error",
            message=msg,
            fields={"HRESULT": f"0x{f.code:08X}"},
        )
        return
    if f.reason == "service-start":
        # wbadmin on Server: the engine itself cannot start, so the start failure is the only
        # record (event 20 "failed to start"-type, HRESULT + ErrorMessage; meaning [U]).
        clock.log_event(
            m,
            log=PROVIDER,
            provider=PROVIDER,
            event_id=20,
            level="Error",
            version=1,
            message=text.tr(
                m,
                f"The backup operation attempted at '{_started(m)}' has failed to start, error code "
                f"'{shown}' ({text.message(m, f.code)}).",
                f"'{_started(m)}' に試行されたバックアップ操作は開始できませんでした。エラー コード "
                f"'{shown}' ({text.message(m, f.code)})。",
            ),
            fields={
                "HRESULT": f"0x{f.code:08x}",
                "BackupTarget": job.get("target") or "",
                "ErrorMessage": text.message(m, f.code),
            },
        )
        return
    version = _template_version(m)
    clock.log_event(
        m,
        log=PROVIDER,
        provider=PROVIDER,
        event_id=1,
        level="Information",
        version=1,
        message=text.tr(m, "The backup operation has started.", "バックアップ操作が開始されました。"),
        fields={"SystemStateBackup": False},
    )
    if f.reason == "writer-failed":
        decimal = str(f.code)
        clock.log_event(
            m,
            log="Application",
            provider=PROVIDER,
            event_id=521,
            level="Error",
            version=0 if m.major_minor < (6, 2) else 2,
            message=text.tr(
                m,
                f"The backup operation that started at '{_started(m)}' has failed because the Volume Shadow "
                f"Copy Service operation to create a shadow copy of the volumes being backed up failed with "
                f"following error code '{decimal}'. Please review the event details for a solution, and then "
                "rerun the backup operation once the issue is resolved.",
                f"'{_started(m)}' に開始されたバックアップ操作は、"
                "バックアップ対象のボリュームのシャドウ コピーを作成する"
                "ボリューム シャドウ コピー サービスの操作が次のエラー コードで失敗したため、"
                f"失敗しました: '{decimal}'。",
            ),
            fields={
                "ErrorCode": decimal if m.major_minor < (6, 2) else f"0x{f.code:08x}",
                "ErrorMessage": text.message(m, f.code),
            },
        )
    fields = _backup_fields(m, job, f.code, f.detailed)
    for event_id, level in ((14, "Information"), (5, "Error")):
        clock.log_event(
            m,
            log=PROVIDER,
            provider=PROVIDER,
            event_id=event_id,
            level=level,
            version=version,
            message=text.tr(
                m,
                f"The backup operation that started at '{_started(m)}' has failed with following error code "
                f"'{shown}' ({text.message(m, f.code)}). Please review the event details for a solution, and "
                "then rerun the backup operation once the issue is resolved.",
                f"'{_started(m)}' に開始されたバックアップ操作は、"
                f"次のエラー コードのため失敗しました: '{shown}' "
                f"({text.message(m, f.code)})。"
                "イベントの詳細で解決策を確認し、問題が解決された後でバックアップ操作を"
                "再実行してください。",
            )
            if event_id == 5
            else text.tr(m, "The backup operation has completed.", "バックアップ操作が完了しました。"),
            fields=fields,
        )


def _success_events(m: HostModel, job: dict[str, Any]) -> None:
    if job["kind"] != "image" or not job.get("target"):
        return
    version = _template_version(m)
    for event_id, msg_en, msg_ja in (
        (1, "The backup operation has started.", "バックアップ操作が開始されました。"),
        (14, "The backup operation has completed.", "バックアップ操作が完了しました。"),
        (4, "The backup operation has finished successfully.", "バックアップ操作が正常に完了しました。"),
    ):
        clock.log_event(
            m,
            log=PROVIDER,
            provider=PROVIDER,
            event_id=event_id,
            level="Information",
            version=1 if event_id == 1 else version,
            message=text.tr(m, msg_en, msg_ja),
            fields={} if event_id == 1 else _backup_fields(m, job, 0, 0),
        )
