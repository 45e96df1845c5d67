"""The events a simulated backup writes, by version and client: the Backup log's 1/14/4/5/20/521,
the Win7 client's Application-log 4104, and the disk/Ntfs errors that explain an I/O failure.

Windows 7 writes the templates with decimal codes, Windows 8+ with hex (see :func:`_code_field`).
"""

from __future__ import annotations

from typing import Any

from wbplay.sim import clock, storage
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol
from wbplay.sim.text.language import tr
from wbplay.sim.text.messages import backup_ui_message, message

PROVIDER = "Microsoft-Windows-Backup"
CLIENT_SOURCE = "Windows Backup"  # the Win7 sdclt client's classic Application-log source [3P]


def disk_event(m: HostModel, v: Vol) -> None:
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


def transport_event(m: HostModel, disk_number: int) -> None:
    """Disk 153: the miniport timed out an I/O and it was retried (the data-corruption guide's
    text [V]; the PDO name and the block address are made up)."""
    clock.log_event(
        m,
        log="System",
        provider="disk",
        event_id=153,
        level="Warning",
        message=f"The IO operation at logical block address 0x3a2f1c for Disk {disk_number} "
        f"(PDO name: \\Device\\0000002f) was retried.",
        fields={"DeviceName": f"\\Device\\Harddisk{disk_number}\\DR{disk_number}"},
    )


def mslldp_event(m: HostModel) -> None:
    """The CAPI2 513 every Windows Server logs when VSS runs a backup, "safe to ignore"
    (KB3209092 [V]; the Japanese wording is [U], the binary's name is kept in English)."""
    clock.log_event(
        m,
        log="Application",
        provider="Microsoft-Windows-CAPI2",
        event_id=513,
        level="Error",
        message=tr(
            m,
            "Cryptographic Services failed while processing the OnIdentity() call in the System Writer "
            "Object.\r\n\r\nDetails:\r\nAddLegacyDriverFiles: Unable to back up image of binary Microsoft "
            "Link-Layer Discovery Protocol.\r\n\r\nSystem Error:\r\nAccess is denied.",
            "System Writer オブジェクトでの OnIdentity() 呼び出しの処理中に"
            "暗号化サービスでエラーが発生しました。\r\n\r\n詳細:\r\n"
            "AddLegacyDriverFiles: Unable to back up image of binary Microsoft "
            "Link-Layer Discovery Protocol.\r\n\r\nシステム エラー:\r\nアクセスが拒否されました。",
        ),
    )


def extend_denied_event(m: HostModel, v: Vol) -> None:
    """Backup event 547 naming the volume and the error log (KB2747459's Symptoms [V])."""
    name = storage.name_of(v)
    stamp = clock.now(m).strftime("%d-%m-%Y_%H-%M-%S")
    clock.log_event(
        m,
        log="Microsoft-Windows-Backup",
        provider=PROVIDER,
        event_id=547,
        level="Error",
        message=f"The backup operation that started at '{_started(m)}' has encountered errors for the "
        f"volume(s)'{name}'. Log of files not successfully backed up "
        f"'C:\\Windows\\Logs\\WindowsServerBackup\\Backup_Error-{stamp}.log'.",
        fields={"HRESULT": "0x80070005", "ErrorMessage": "Access is denied."},
    )


def _target_error(m: HostModel, event_id: int, en: str, ja: str, fields: dict[str, Any]) -> None:
    """A Backup-log error about the target, its text in the PC's language."""
    started = f"The backup operation that started at '{_started(m)}' has failed because "
    started_ja = f"'{_started(m)}' に開始されたバックアップ操作は、"
    message = tr(m, started + en, started_ja + ja)
    clock.log_event(
        m, log=PROVIDER, provider=PROVIDER, event_id=event_id, level="Error", message=message, fields=fields
    )


def no_target_event(m: HostModel) -> None:
    """Backup event 561 (0x231): no backup storage location could be found, as when the disk a
    schedule writes to is detached (BlbEvents.dll's message table via libyal/winevt-kb [V-msg];
    KB2009365's cause [V]; no HRESULT field is known [U]; the Japanese is [U])."""
    _target_error(
        m,
        561,
        "no backup storage location could be found. Please confirm that the backup storage location "
        "is attached and online, and then rerun the backup operation.",
        "バックアップの保存場所が見つからなかったため、失敗しました。バックアップの保存場所が接続されていて"
        "オンラインであることを確認してから、バックアップ操作を再実行してください。",
        {},
    )


def network_denied_event(m: HostModel, path: str, user: str) -> None:
    """Backup event 564 (0x234): the remote shared folder is not writeable for the backup's account
    (BlbEvents.dll's message table as extracted by libyal/winevt-kb [V-msg]; the HRESULT field and its
    value 0x80070005 are [U]; the Japanese is [U])."""
    _target_error(
        m,
        564,
        f"the remote shared folder '{path}' that you are using for a backup storage location is not "
        f"writeable. Please make sure user '{user}' has write permissions for this location, and then "
        "rerun the backup operation.",
        f"バックアップの保存場所として使用しているリモート共有フォルダー '{path}' に書き込めないため、"
        f"失敗しました。ユーザー '{user}' にこの場所への書き込みアクセス許可があることを確認してから、"
        "バックアップ操作を再実行してください。",
        {"HRESULT": "0x80070005", "BackupTarget": path},
    )


def provider_events(m: HostModel, *, swprv: bool, name: str = "") -> None:
    """KB2009513's events for a broken swprv (SCM 7023, VSS 12292 [V]), or a third-party
    provider's veto (VSS 12293 [U])."""
    if swprv:
        clock.log_event(
            m,
            log="System",
            provider="Service Control Manager",
            event_id=7023,
            level="Error",
            message="The Microsoft Software Shadow Copy Provider service terminated with the following "
            "error: The system cannot find the file specified.",
        )
        clock.log_event(
            m,
            log="Application",
            provider="VSS",
            event_id=12292,
            level="Error",
            message="Volume Shadow Copy Service error: Error creating the Shadow Copy Provider COM class "
            "with CLSID {65ee1dba-8ff4-4a58-ac1c-3470ee2f376a} [0x80080005].",
        )
        return
    clock.log_event(
        m,
        log="Application",
        provider="VSS",
        event_id=12293,
        level="Error",
        message=f"Volume Shadow Copy Service error: Error calling a routine on a Shadow Copy Provider "
        f"({name}). Routine details PreFinalCommitSnapshots [hr = 0x80042306].",
    )


def ntfs_event(m: HostModel, v: Vol) -> None:
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
        fields["ErrorMessage"] = message(m, code) if code else ""
    return fields


def _started(m: HostModel) -> str:
    return f"{m.state.get('clock', clock.DEFAULT_CLOCK)[:-1]}.000000000Z"


def failure_events(
    m: HostModel, job: dict[str, Any], code: int | None, reason: str, detailed: int | None
) -> None:
    """The events a backup that stopped with ``code`` leaves (none when Windows gives no code)."""
    if code is None or reason == "network-target-denied":
        return  # no code, or the failure's own event was written where it happened (564)
    shown = f"0x{code:08X}" if m.major_minor >= (6, 2) else str(code)
    if job["tool"] == "sdclt" and (job["kind"] == "files" or reason == "service-start"):
        # The Backup and Restore client logs to the classic Application log [3P superuser copy].
        msg = (
            backup_ui_message(m, code)
            if reason == "service-start"
            else tr(
                m,
                f"The backup was not successful. The error is: {message(m, code)} (0x{code:08X}).",
                f"バックアップは成功しませんでした。エラー: {message(m, code)} (0x{code:08X})。",
            )
        )
        clock.log_event(
            m,
            log="Application",
            provider=CLIENT_SOURCE,
            event_id=4104,
            level="Error",
            message=msg,
            fields={"HRESULT": f"0x{code:08X}"},
        )
        return
    if reason == "service-start":
        # wbadmin on Server: the engine itself cannot start, so the start failure is the only
        # record (event 20 "failed to start"-type, HRESULT + ErrorMessage; meaning [U]).
        clock.log_event(
            m,
            log=PROVIDER,
            provider=PROVIDER,
            event_id=20,
            level="Error",
            version=1,
            message=tr(
                m,
                f"The backup operation attempted at '{_started(m)}' has failed to start, error code "
                f"'{shown}' ({message(m, code)}).",
                f"'{_started(m)}' に試行されたバックアップ操作は開始できませんでした。エラー コード "
                f"'{shown}' ({message(m, code)})。",
            ),
            fields={
                "HRESULT": f"0x{code:08x}",
                "BackupTarget": job.get("target") or "",
                "ErrorMessage": message(m, code),
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
        message=tr(m, "The backup operation has started.", "バックアップ操作が開始されました。"),
        fields={"SystemStateBackup": False},
    )
    if reason == "writer-failed":
        decimal = str(code)
        clock.log_event(
            m,
            log="Application",
            provider=PROVIDER,
            event_id=521,
            level="Error",
            version=0 if m.major_minor < (6, 2) else 2,
            message=tr(
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
                "ErrorCode": decimal if m.major_minor < (6, 2) else f"0x{code:08x}",
                "ErrorMessage": message(m, code),
            },
        )
    fields = _backup_fields(m, job, code, detailed)
    for event_id, level in ((14, "Information"), (5, "Error")):
        clock.log_event(
            m,
            log=PROVIDER,
            provider=PROVIDER,
            event_id=event_id,
            level=level,
            version=version,
            message=tr(
                m,
                f"The backup operation that started at '{_started(m)}' has failed with following error code "
                f"'{shown}' ({message(m, code)}). Please review the event details for a solution, and "
                "then rerun the backup operation once the issue is resolved.",
                f"'{_started(m)}' に開始されたバックアップ操作は、"
                f"次のエラー コードのため失敗しました: '{shown}' "
                f"({message(m, code)})。"
                "イベントの詳細で解決策を確認し、問題が解決された後でバックアップ操作を"
                "再実行してください。",
            )
            if event_id == 5
            else tr(m, "The backup operation has completed.", "バックアップ操作が完了しました。"),
            fields=fields,
        )


def success_events(m: HostModel, job: dict[str, Any]) -> None:
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
            message=tr(m, msg_en, msg_ja),
            fields={} if event_id == 1 else _backup_fields(m, job, 0, 0),
        )
