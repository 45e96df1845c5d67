"""What the simulated PC's commands print, in its UI language (en-US or ja-JP).

The engine never reads these strings by wording alone: :mod:`wbplay.cmdparse`
anchors on what does not change with the language (``[n]`` writer states,
GUID paths, numbers, exit codes), as docs/domain.md s.3.2 advises for
``vssadmin``.  Texts quoted in docs/domain.md or the seed are used verbatim
(marked there [V]/[3P]/seed).  Every other string, and **every Japanese string
not quoted by the seed**, is a reconstruction from general knowledge: [U].
Capture the real outputs on a lab VM before relying on their exact wording.
"""

from __future__ import annotations

import uuid
from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol


def lang(m: HostModel) -> str:
    return "ja" if str(m.os.get("locale", "")).lower().startswith("ja") else "en"


def tr(m: HostModel, en: str, ja: str) -> str:
    """``en`` or ``ja``, by the PC's UI language."""
    return ja if lang(m) == "ja" else en


def _instance_id(name: str) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_OID, "wbplay-writer:" + name)) + "}"


def _crlf(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


# -- error messages (what the Backup UI and the events show) ------------------------------

# (en, ja).  0x80070422's and 0x8007045D's texts are the seed's (DIGEST.md Paths 1 and 3);
# 0x8078002A, 0x807800B4 [V] and 0x80780119/0x81000019/0x80780166 [3P] come from
# docs/domain.md s.2; the rest, and the Japanese of all but the seed's two, are [U].
MESSAGES: dict[int, tuple[str, str]] = {
    0x80070422: (
        "The service cannot be started, either because it is disabled or because it has no enabled "
        "devices associated with it.",
        "指定されたサービスは無効であるか、または有効なデバイスが関連付けられていないため、開始できません。",
    ),
    0x8007045D: (
        "The request could not be performed because of an I/O device error.",
        "I/O デバイスエラーが発生したため、要求を実行できませんでした。",
    ),
    0x8078002A: (
        "One of the backup files could not be created.",
        "バックアップ ファイルの 1 つを作成できませんでした。",
    ),
    0x807800B4: (
        "Volumes larger than 2088958 megabytes cannot be protected.",
        "2088958 MB より大きいボリュームは保護できません。",
    ),
    0x807800A1: (
        "A Volume Shadow Copy Service operation failed.",
        "ボリューム シャドウ コピー サービスの操作が失敗しました。",
    ),
    0x800423F0: (
        "The shadow copy contains only a part of the writer's data.",
        "シャドウ コピーに不整合があります。",
    ),
    0x800423F1: (
        "The writer ran out of memory or other system resources.",
        "ライターのリソースが不足しています。",
    ),
    0x800423F2: (
        "The writer operation failed because of a time-out.",
        "ライターの操作がタイムアウトしました。",
    ),
    0x800423F3: ("The writer experienced a transient error.", "ライターで一時的なエラーが発生しました。"),
    0x800423F4: (
        "The writer experienced a non-transient error. If the backup process is retried, the error is "
        "likely to reoccur.",
        "ライターで一時的でないエラーが発生しました。バックアップを再試行しても、エラーが再発する可能性があります。",
    ),
    0x80780119: (
        "There is not enough disk space to create the volume shadow copy on the storage location. Make "
        "sure that, for all volumes to be backed up, the minimum required disk space for shadow copy "
        "creation is available.",
        "記憶域の場所にボリューム シャドウ コピーを作成するための十分なディスク領域がありません。",
    ),
    0x81000019: (
        "A shadow copy could not be created. Check the VSS and SPP application event logs for more "
        "information.",
        "シャドウ コピーを作成できませんでした。"
        "詳細については、VSS および SPP アプリケーション イベント ログを"
        "確認してください。",
    ),
    0x8004231F: (
        "Insufficient storage available to create either the shadow copy storage file or other shadow "
        "copy data.",
        "シャドウ コピーの記憶域ファイルまたは他のシャドウ コピー データを"
        "作成するための記憶域が不足しています。",
    ),
    0x80780166: (
        "Windows Backup encountered an error when writing data to the backup target.",
        "Windows バックアップで、バックアップ ターゲットへのデータの書き込み中にエラーが発生しました。",
    ),
    0x807800C5: (
        "A failure occurred while preparing the backup image of one of the volumes in the backup set.",
        "バックアップ セット内のいずれかのボリュームのバックアップ イメージを準備中にエラーが発生しました。",
    ),
    0x80070001: ("Incorrect function.", "ファンクションが間違っています。"),
    0x81000031: (
        "Windows Backup failed while trying to read from the shadow copy on one of the volumes being "
        "backed up.",
        "バックアップ対象のボリュームのいずれかでシャドウ コピーからの"
        "読み取り中に Windows バックアップが失敗しました。",
    ),
}

# The Win7 Backup and Restore warning of the seed's Path 2 (ja verbatim from the seed; the
# English is DIGEST.md's translation).
SETTINGS_NOT_CURRENT = (
    "Your backup settings might not be current",
    "バックアップ設定が最新の状態でない可能性があります",
)


def message(m: HostModel, code: int) -> str:
    en, ja = MESSAGES.get(code, (f"Error 0x{code:08X}.", f"エラー 0x{code:08X}。"))
    return tr(m, en, ja)


def backup_ui_message(m: HostModel, code: int) -> str:
    """The line the Backup and Restore UI shows (the seed's 0x80070422 wording for a start failure)."""
    if code == 0x80070422:
        return tr(
            m,
            "The backup application could not start due to an internal error: "
            + MESSAGES[code][0]
            + " (0x80070422)",
            "内部エラーのため、バックアップアプリケーションを開始できませんでした:"
            + MESSAGES[code][1]
            + "(0x80070422)。",
        )
    return f"{message(m, code)} (0x{code:08X})" if lang(m) == "en" else f"{message(m, code)}(0x{code:08X})"


# -- vssadmin -----------------------------------------------------------------------------


def _vssadmin_header(m: HostModel) -> list[str]:
    years = "2001-2005" if m.major_minor < (6, 2) else "2001-2013"
    return [
        tr(
            m,
            "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool",
            "vssadmin 1.1 - ボリューム シャドウ コピー サービス管理コマンド ライン ツール",
        ),
        f"(C) Copyright {years} Microsoft Corp.",
        "",
    ]


_STATE_NAMES = {
    0: ("Unknown", "不明"),
    1: ("Stable", "安定"),
    2: ("Waiting for freeze", "固定を待機しています"),
    3: ("Waiting for thaw", "解凍を待機しています"),
    4: ("Waiting for post snapshot", "スナップショット後を待機しています"),
    5: ("Waiting for completion", "完了を待機しています"),
}
_LAST_ERRORS = {
    "none": ("No error", "エラーなし"),
    "retryable": ("Retryable error", "再試行可能なエラー"),
    "non-retryable": ("Non-retryable error", "再試行できないエラー"),
    "timed-out": ("Timed out", "タイムアウト"),
    "inconsistent-snapshot": ("Inconsistent shadow copy", "不整合なシャドウ コピー"),
    "out-of-resources": ("Out of resources", "リソース不足"),
    "unexpected": ("Unexpected error", "予期しないエラー"),
}


def vssadmin_list_writers(m: HostModel) -> str:
    lines = _vssadmin_header(m)
    for w in storage.writer_view(m):
        state = int(w.get("state", 1))
        en, ja = ("Failed", "失敗") if storage.failed(w) else _STATE_NAMES.get(state, ("Unknown", "不明"))
        err_en, err_ja = _LAST_ERRORS[w.get("last_error", "none")]
        lines += [
            tr(m, "Writer name: ", "ライター名: ") + f"'{w['name']}'",
            tr(m, "   Writer Id: ", "   ライター ID: ") + w.get("id", _instance_id("id:" + w["name"])),
            tr(m, "   Writer Instance Id: ", "   ライター インスタンス ID: ")
            + w.get("instance_id", _instance_id(w["name"])),
            tr(m, "   State: ", "   状態: ") + f"[{state}] " + tr(m, en, ja),
            tr(m, "   Last error: ", "   最後のエラー: ") + tr(m, err_en, err_ja),
            "",
        ]
    return _crlf(lines)


def _size(mb: int) -> str:
    if mb <= 0:
        return "0 B"
    if mb < 1024:
        return f"{mb} MB"
    return f"{mb / 1024:.3g} GB"


def _vol_label(m: HostModel, sel: str) -> str:
    v = storage.find_volume(m, sel)
    if v is None:
        return f"({sel})"
    shown = v.get("letter") or storage.volume_path(v)
    return f"({shown}){storage.volume_path(v)}"


def vssadmin_list_shadowstorage(m: HostModel) -> tuple[int, str]:
    lines = _vssadmin_header(m)
    assocs = [a for a in m.state.get("shadow_storage", []) if storage.find_volume(m, a["for"]) is not None]
    if not assocs:
        lines.append(tr(m, "No items found that satisfy the query.", "クエリを満たす項目が見つかりません。"))
        return 1, _crlf(lines)
    for a in assocs:
        v = storage.find_volume(m, a["for"])
        assert v is not None
        size = max(v["size_mb"], 1)
        used, alloc, mx = a.get("used_mb", 0), a.get("allocated_mb", 0), a["max_mb"]
        max_text = "UNBOUNDED (100%)" if mx == 0 else f"{_size(mx)} ({round(100 * mx / size)}%)"
        lines += [
            tr(m, "Shadow Copy Storage association", "シャドウ コピーの記憶域の関連付け"),
            tr(m, "   For volume: ", "   ボリューム: ") + _vol_label(m, a["for"]),
            tr(m, "   Shadow Copy Storage volume: ", "   シャドウ コピーの記憶域ボリューム: ")
            + _vol_label(m, a["on"]),
            tr(m, "   Used Shadow Copy Storage space: ", "   使用済みのシャドウ コピーの記憶域の領域: ")
            + f"{_size(used)} ({round(100 * used / size)}%)",
            tr(
                m,
                "   Allocated Shadow Copy Storage space: ",
                "   割り当て済みのシャドウ コピーの記憶域の領域: ",
            )
            + f"{_size(alloc)} ({round(100 * alloc / size)}%)",
            tr(m, "   Maximum Shadow Copy Storage space: ", "   最大のシャドウ コピーの記憶域の領域: ")
            + max_text,
            "",
        ]
    return 0, _crlf(lines)


# -- chkdsk / chkntfs / fsutil ----------------------------------------------------------------


def _fs_header(m: HostModel, v: Vol) -> list[str]:
    return [
        tr(
            m,
            f"The type of the file system is {v['file_system']}.",
            f"ファイル システムの種類は {v['file_system']} です。",
        ),
        tr(m, f"Volume label is {v.get('label', '')}.", f"ボリューム ラベルは {v.get('label', '')} です。"),
        "",
    ]


def _summary(m: HostModel, v: Vol) -> list[str]:
    total_kb = v["size_mb"] * 1024
    bad_kb = bad_sector_kb(m, v, v.get("bad_sectors_mapped", 0))
    if lang(m) == "ja":
        return ["", f"{total_kb:>14} KB : 全ディスク領域", f"{bad_kb:>14} KB : 不良セクター"]
    return ["", f"{total_kb:>14} KB total disk space.", f"{bad_kb:>14} KB in bad sectors."]


def bad_sector_kb(m: HostModel, v: Vol, sectors: int) -> int:
    """chkdsk counts bad sectors in whole 4 KB clusters."""
    d = storage.disk(m, v["disk"]) or {}
    size = sectors * int(d.get("logical_sector_size", 512))
    return -(-size // 4096) * 4


def _stages(m: HostModel, total: int) -> list[str]:
    en = [
        "CHKDSK is verifying files (stage {i} of {n})...",
        "CHKDSK is verifying indexes (stage {i} of {n})...",
        "CHKDSK is verifying security descriptors (stage {i} of {n})...",
        "CHKDSK is looking for bad clusters in user file data (stage {i} of {n})...",
        "CHKDSK is verifying free space (stage {i} of {n})...",
    ]
    ja = [
        "CHKDSK はファイルを検査しています (ステージ {i}/{n})...",
        "CHKDSK はインデックスを検査しています (ステージ {i}/{n})...",
        "CHKDSK はセキュリティ記述子を検査しています (ステージ {i}/{n})...",
        "CHKDSK はユーザー ファイル データの不良クラスターを検索しています (ステージ {i}/{n})...",
        "CHKDSK は空き領域を検査しています (ステージ {i}/{n})...",
    ]
    table = ja if lang(m) == "ja" else en
    return [table[i].format(i=i + 1, n=total) for i in range(total)]


def _no_problems(m: HostModel) -> str:
    return tr(
        m,
        "Windows has checked the file system and found no problems.",
        "Windows によるファイル システムのチェックが終了しました。問題はありませんでした。",
    )


def chkdsk_readonly(m: HostModel, v: Vol) -> tuple[int, str]:
    """``chkdsk X: /scan`` (Win8+) or ``chkdsk X:`` (Win7, read-only; docs/domain.md s.4).

    Exit code 0 = no errors, 3 = errors found and not fixed (chkdsk.md [V]).  A read-only
    pass sees file-system damage, not unreadable sectors (only /R reads every sector).
    """
    problems = bool(v.get("fs_errors") and v["fs_errors"][0] > 0)
    lines = _fs_header(m, v)
    if m.major_minor >= (6, 2):
        lines += [
            tr(
                m,
                "Stage 1: Examining basic file system structure ...",
                "ステージ 1: 基本のファイル システム構造を検査しています...",
            ),
            tr(
                m,
                "Stage 2: Examining file name linkage ...",
                "ステージ 2: ファイル名リンケージを検査しています...",
            ),
            tr(
                m,
                "Stage 3: Examining security descriptors ...",
                "ステージ 3: セキュリティ記述子を検査しています...",
            ),
            "",
        ]
        if problems:
            lines += [
                tr(
                    m,
                    "Windows has scanned the file system and found problems.",
                    "Windows でファイル システムがスキャンされ、問題が見つかりました。",
                ),
                tr(
                    m,
                    'Please run "chkdsk /spotfix" to fix the issues.',
                    '問題を修正するには "chkdsk /spotfix" を実行してください。',
                ),
            ]
        else:
            lines += [
                tr(
                    m,
                    "Windows has scanned the file system and found no problems.",
                    "Windows でファイル システムがスキャンされましたが、問題は見つかりませんでした。",
                ),
                tr(m, "No further action is required.", "これ以上の操作は必要ありません。"),
            ]
    else:
        lines += [
            tr(m, "WARNING!  F parameter not specified.", "警告! F パラメーターが指定されていません。"),
            tr(m, "Running CHKDSK in read-only mode.", "読み取り専用モードで CHKDSK を実行しています。"),
            "",
            *_stages(m, 3),
            "",
        ]
        if problems:
            lines += [
                tr(
                    m,
                    "Windows found problems with the file system.",
                    "Windows によってファイル システムに問題が見つかりました。",
                ),
                tr(
                    m,
                    "Run CHKDSK with the /F (fix) option to correct these.",
                    "/F (修復) オプションを付けて CHKDSK を実行し、これらを修正してください。",
                ),
            ]
        else:
            lines.append(_no_problems(m))
    lines += _summary(m, v)
    return (3 if problems else 0), _crlf(lines)


def chkdsk_pass_text(m: HostModel, v: Vol, mode: str, fs_found: int, bad_added: int, *, at_boot: bool) -> str:
    """The report of one repairing pass: the Wininit 1001 message after a boot-time check,
    or the Chkdsk event text of an online run (docs/domain.md s.4, chkdsk.md [V] for the
    log sources; the event layout is [U])."""
    name = storage.name_of(v)
    lines = [tr(m, f"Checking file system on {name}", f"{name} のファイル システムをチェックしています")]
    if not at_boot:
        lines.insert(
            0,
            tr(
                m,
                "Chkdsk was executed in read/write mode.",
                "Chkdsk は読み取り/書き込みモードで実行されました。",
            ),
        )
        lines.insert(1, "")
    lines += _fs_header(m, v)
    if at_boot:
        lines += [
            tr(m, "A disk check has been scheduled.", "ディスク チェックがスケジュールされています。"),
            tr(m, "Windows will now check the disk.", "Windows でディスクがチェックされます。"),
            "",
        ]
    lines += _stages(m, 5 if mode == "r" else 3)
    for i in range(min(fs_found, 3)):
        lines.append(
            tr(
                m,
                f"Index entry {i + 1:04d}.tmp in index $I30 of file {4711 + i} is incorrect.",
                f"ファイル {4711 + i} のインデックス $I30 の"
                f"インデックス エントリ {i + 1:04d}.tmp が正しくありません。",
            )
        )
    if bad_added:
        lines.append(
            tr(
                m,
                f"Adding {bad_added} bad clusters to the Bad Clusters File.",
                f"{bad_added} 個の不良クラスターを不良クラスター ファイルに追加しています。",
            )
        )
    if fs_found or bad_added:
        lines.append(
            tr(
                m,
                "Windows has made corrections to the file system.",
                "Windows によってファイル システムが修正されました。",
            )
        )
    else:
        lines.append(_no_problems(m))
    lines += _summary(m, v)
    return _crlf(lines)


def chkntfs(m: HostModel, v: Vol) -> str:
    name = storage.name_of(v)
    lines = [
        tr(
            m,
            f"The type of the file system is {v['file_system']}.",
            f"ファイル システムの種類は {v['file_system']} です。",
        )
    ]
    if v.get("chkdsk_scheduled"):
        lines += [
            tr(
                m,
                f"Chkdsk has been scheduled manually to run on next reboot\r\non volume {name}.",
                f"次回の再起動時に、ボリューム {name} で Chkdsk を"
                "手動で実行するようにスケジュールされています。",
            )
        ]
    elif v.get("dirty"):
        lines.append(
            tr(
                m,
                f"{name} is dirty.  You may use the /C option to schedule chkdsk for\r\n    this drive.",
                f"{name} はダーティです。"
                "/C オプションを使って、このドライブの chkdsk をスケジュールできます。",
            )
        )
    else:
        lines.append(tr(m, f"{name} is not dirty.", f"{name} はダーティではありません。"))
    return _crlf(lines)


def fsutil_dirty(m: HostModel, v: Vol) -> str:
    name = storage.name_of(v)
    if v.get("dirty"):
        return _crlf([tr(m, f"Volume - {name} is Dirty", f"ボリューム - {name} はダーティです")])
    return _crlf([tr(m, f"Volume - {name} is NOT Dirty", f"ボリューム - {name} はダーティではありません")])


def fsutil_ntfsinfo(m: HostModel, v: Vol) -> tuple[int, str]:
    if v["file_system"] != "NTFS":
        return 1, _crlf(
            [
                tr(
                    m,
                    "The specified volume is not an NTFS volume.",
                    "指定されたボリュームは NTFS ボリュームではありません。",
                )
            ]
        )
    d = storage.disk(m, v["disk"]) or {}
    lss, pss = int(d.get("logical_sector_size", 512)), int(d.get("physical_sector_size", 512))
    sectors = v["size_mb"] * 1024 * 1024 // lss
    clusters, free = v["size_mb"] * 256, v["free_mb"] * 256
    rows_en = [
        ("NTFS Volume Serial Number :", f"0x{int(v['guid'][:8], 16):016x}"),
        ("NTFS Version   :", "3.1"),
        ("Number Sectors :", f"0x{sectors:016x}"),
        ("Total Clusters :", f"0x{clusters:016x}"),
        ("Free Clusters  :", f"0x{free:016x}"),
        ("Bytes Per Sector  :", str(lss)),
        ("Bytes Per Physical Sector :", str(pss)),
        ("Bytes Per Cluster :", "4096"),
        ("Bytes Per FileRecord Segment    :", "1024"),
    ]
    labels_ja = [
        "NTFS ボリューム シリアル番号 :",
        "NTFS バージョン :",
        "セクター数 :",
        "総クラスター数 :",
        "空きクラスター数 :",
        "セクターあたりのバイト数 :",
        "物理セクターあたりのバイト数 :",
        "クラスターあたりのバイト数 :",
        "ファイル レコード セグメントあたりのバイト数 :",
    ]
    labels = labels_ja if lang(m) == "ja" else [r[0] for r in rows_en]
    return 0, _crlf([f"{label:<34} {value}" for label, (_, value) in zip(labels, rows_en, strict=True)])


# -- reagentc ------------------------------------------------------------------------------------


def winre_location(re_: dict[str, Any]) -> str:
    return f"\\\\?\\GLOBALROOT\\device\\harddisk{re_['disk']}\\partition{re_['partition']}" + re_.get(
        "path", "\\Recovery\\WindowsRE"
    )


def reagentc_info(m: HostModel) -> str:
    re_ = m.state.get("winre") or {"enabled": False}
    location = winre_location(re_) if re_.get("enabled") and "disk" in re_ else ""
    status = "Enabled" if re_.get("enabled") else "Disabled"
    bcd = str(uuid.uuid5(uuid.NAMESPACE_OID, "wbplay-winre:" + m.hostname)) if location else ""
    if lang(m) == "ja":
        rows = [
            "Windows 回復環境 (Windows RE) およびシステム リセットの構成",
            "情報:",
            "",
            f"    Windows RE の状態:         {status}",
            f"    Windows RE の場所:         {location}",
            f"    ブート構成データ (BCD) ID: {bcd}",
            "    回復イメージの場所:",
            "    回復イメージ インデックス: 0",
            "    カスタム イメージの場所:",
            "    カスタム イメージ インデックス: 0",
            "",
            "REAGENTC.EXE: 操作は成功しました。",
        ]
    else:
        rows = [
            "Windows Recovery Environment (Windows RE) and system reset configuration",
            "Information:",
            "",
            f"    Windows RE status:         {status}",
            f"    Windows RE location:       {location}",
            f"    Boot Configuration Data (BCD) identifier: {bcd}",
            "    Recovery image location:",
            "    Recovery image index:      0",
            "    Custom image location:",
            "    Custom image index:        0",
            "",
            "REAGENTC.EXE: Operation Successful.",
        ]
    return _crlf(rows)


# -- wbadmin ---------------------------------------------------------------------------------------


def wbadmin_versions(m: HostModel, versions: list[tuple[str, str]], error: int | None) -> tuple[int, str]:
    """``versions``: (ISO time, target friendly name); ``error``: an HRESULT if the catalog failed."""
    lines = [
        tr(m, "wbadmin 1.0 - Backup command-line tool", "wbadmin 1.0 - バックアップ コマンドライン ツール"),
        "(C) Copyright 2004 Microsoft Corp.",
        "",
    ]
    if error is not None:
        lines.append(tr(m, "ERROR - ", "エラー - ") + message(m, error) + f" (0x{error:08X})")
        return 1, _crlf(lines)
    if not versions:
        lines.append(tr(m, "No backup was found.", "バックアップが見つかりませんでした。"))
        return 0, _crlf(lines)
    for iso, target in versions:
        y, mo, d, hh, mm = iso[0:4], iso[5:7], iso[8:10], iso[11:13], iso[14:16]
        lines += [
            tr(m, f"Backup time: {mo}/{d}/{y} {hh}:{mm}", f"バックアップ時間: {y}/{mo}/{d} {hh}:{mm}"),
            tr(
                m,
                f"Backup target: 1394/USB Disk labeled {target}",
                f"バックアップ対象: 1394/USB ディスク ラベル {target}",
            ),
            tr(m, "Version identifier: ", "バージョン識別子: ") + f"{mo}/{d}/{y}-{hh}:{mm}",
            tr(
                m,
                "Can recover: Volume(s), File(s), Application(s), Bare Metal Recovery, System State",
                "回復可能: ボリューム, ファイル, アプリケーション, ベア メタル回復, システム状態",
            ),
            "",
        ]
    return 0, _crlf(lines)


# -- sfc / CBS -------------------------------------------------------------------------------------


def sfc_output(m: HostModel, *, verify_only: bool, found: bool, unrepaired: bool) -> str:
    lines = [
        tr(
            m,
            "Beginning system scan.  This process will take some time.",
            "システム スキャンを開始しています。これにはしばらく時間がかかります。",
        ),
        "",
        tr(
            m,
            "Beginning verification phase of system scan.",
            "システム スキャンの検証フェーズを開始しています。",
        ),
        tr(m, "Verification 100% complete.", "検証 100% が完了しました。"),
        "",
    ]
    cbs = tr(
        m,
        "Details are included in the CBS.Log windir\\Logs\\CBS\\CBS.log.",
        "詳細は CBS.Log windir\\Logs\\CBS\\CBS.log に記録されています。",
    )
    if not found:
        lines.append(
            tr(
                m,
                "Windows Resource Protection did not find any integrity violations.",
                "Windows リソース保護は、整合性違反を検出しませんでした。",
            )
        )
    elif verify_only:
        lines.append(
            tr(
                m,
                "Windows Resource Protection found integrity violations. ",
                "Windows リソース保護により、整合性違反が見つかりました。",
            )
            + cbs
        )
    elif unrepaired:
        lines.append(
            tr(
                m,
                "Windows Resource Protection found corrupt files but was unable to fix some of them. ",
                "Windows リソース保護により、破損したファイルが見つかりましたが、"
                "それらの一部は修正できませんでした。",
            )
            + cbs
        )
    else:
        lines.append(
            tr(
                m,
                "Windows Resource Protection found corrupt files and successfully repaired them. ",
                "Windows リソース保護により、破損したファイルが見つかり、正常に修復されました。",
            )
            + cbs
        )
    return _crlf(lines)


def cbs_sr_lines(stamp: str, repaired: list[str], unrepairable: list[str]) -> list[str]:
    """CBS.log ``[SR]`` lines in the layout KB928228 shows (CBS.log is not localized [U])."""

    def split(path: str) -> tuple[str, str]:
        folder, _, name = path.rpartition("\\")
        return folder, name

    out = [f"{stamp}, Info                  CSI    00000008 [SR] Beginning Verify and Repair transaction"]
    for i, path in enumerate(repaired):
        folder, name = split(path)
        out.append(
            f"{stamp}, Info                  CSI    {0x10 + i:08x} [SR] Repairing corrupted file "
            f'[ml:520{{260}},l:{2 * len(folder) + 8}{{{len(folder) + 4}}}]"\\??\\{folder}"\\'
            f'[l:{2 * len(name)}{{{len(name)}}}]"{name}" from store'
        )
    for i, path in enumerate(unrepairable):
        _, name = split(path)
        out.append(
            f"{stamp}, Info                  CSI    {0x40 + i:08x} [SR] Cannot repair member file "
            f'[l:{2 * len(name)}{{{len(name)}}}]"{name}" of Microsoft-Windows-Component, '
            "Version = 6.1.7601.17514, pA = PROCESSOR_ARCHITECTURE_AMD64 (9), Culture neutral, "
            "VersionScope = 1 nonSxS, PublicKeyToken = {l:8 b:31bf3856ad364e35}, Type neutral, "
            "TypeName neutral, PublicKey neutral in the store, hash mismatch"
        )
    out.append(f"{stamp}, Info                  CSI    000000ff [SR] Repair complete")
    return out
