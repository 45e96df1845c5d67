"""``chkdsk`` (read-only scans and repairing passes) and ``chkntfs``."""

from __future__ import annotations

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol
from wbplay.sim.text.language import crlf, lang, tr


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
    """``chkdsk X:`` with no switch: read-only on every version (docs/domain.md s.4; never
    ``/scan``, which repairs online: docs/agent-review.md D1).  Windows 8+ prints its
    three-stage scan layout, Windows 7 its classic one [U: exact Win8+ wording].

    Exit code 0 = no errors, 3 = errors found and not fixed (chkdsk.md [V]).  A read-only
    pass sees file-system damage, not unreadable sectors (only /R reads every sector).
    """
    problems = bool(v.get("fs_errors") and v["fs_errors"][0] > 0)
    lines = _fs_header(m, v)
    lines += [
        tr(m, "WARNING!  /F parameter not specified.", "警告! /F パラメーターが指定されていません。"),
        tr(m, "Running CHKDSK in read-only mode.", "読み取り専用モードで CHKDSK を実行しています。"),
        "",
    ]
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
                    "Run CHKDSK with the /F (fix) option to correct these.",
                    "/F (修復) オプションを付けて CHKDSK を実行し、これらを修正してください。",
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
    return (3 if problems else 0), crlf(lines)


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
    return crlf(lines)


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
    return crlf(lines)


def schedule_prompt(m: HostModel, kind: str) -> str:
    """A question ``chkdsk X: /F`` asks on a volume it cannot lock (Windows 10 wording for
    English [3P: transcripts]; Japanese [U]).  ``kind`` "dismount" or "restart"; any other
    kind is a question the agent does not know (a state can model one: ``chkdsk_prompts``)."""
    in_use = tr(
        m,
        "Chkdsk cannot run because the volume is in use by another\r\nprocess.  ",
        "ボリュームは別のプロセスで使用されているため、Chkdsk を実行できません。",
    )
    if kind == "dismount":
        return in_use + tr(
            m,
            "Chkdsk may run if this volume is dismounted first.\r\n"
            "ALL OPENED HANDLES TO THIS VOLUME WOULD THEN BE INVALID.\r\n"
            "Would you like to force a dismount on this volume? (Y/N) ",
            "このボリュームのマウントを最初に解除すると、Chkdsk を実行できる可能性があります。"
            "このボリュームへのすべてのハンドルは無効になります。\r\n"
            "このボリュームのマウントを強制的に解除しますか? (Y/N) ",
        )
    if kind == "restart":
        return in_use + tr(
            m,
            "Would you like to schedule this volume to be\r\n"
            "checked the next time the system restarts? (Y/N) ",
            "次回のシステム再起動時に、このボリュームをチェックするようにスケジュールしますか? (Y/N) ",
        )
    return tr(m, "Convert lost chains to files? (Y/N) ", "失われたチェーンをファイルに変換しますか? (Y/N) ")
