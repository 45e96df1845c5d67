"""``wbadmin get versions`` and ``wbadmin get disks``."""

from __future__ import annotations

from wbplay.sim.model import HostModel
from wbplay.sim.text.language import crlf, tr
from wbplay.sim.text.messages import message


def _banner(m: HostModel) -> list[str]:
    return [
        tr(m, "wbadmin 1.0 - Backup command-line tool", "wbadmin 1.0 - バックアップ コマンドライン ツール"),
        "(C) Copyright 2004 Microsoft Corp.",
        "",
    ]


def wbadmin_disks(m: HostModel, disks: list[tuple[str, int, str, int, int]]) -> str:
    """``disks``: (name, number, identifier, total MB, used MB), the lines KB2009365 shows [V];
    the Japanese labels are [U] (no verified ja-JP output)."""
    lines = _banner(m)
    for name, number, ident, total_mb, used_mb in disks:
        lines += [
            tr(m, "Disk name: ", "ディスク名: ") + name,
            tr(m, "Disk number: ", "ディスク番号: ") + str(number),
            tr(m, "Disk identifier: ", "ディスク識別子: ") + ident,
            tr(m, "Total space: ", "合計領域: ") + f"{total_mb / 1024:.2f} GB",
            tr(m, "Used space: ", "使用領域: ") + f"{used_mb / 1024:.2f} GB",
            "",
        ]
    return crlf(lines)


def wbadmin_versions(m: HostModel, versions: list[tuple[str, str]], error: int | None) -> tuple[int, str]:
    """``versions``: (ISO time, target friendly name); ``error``: an HRESULT if the catalog failed."""
    lines = _banner(m)
    if error is not None:
        lines.append(tr(m, "ERROR - ", "エラー - ") + message(m, error) + f" (0x{error:08X})")
        return 1, crlf(lines)
    if not versions:
        lines.append(tr(m, "No backup was found.", "バックアップが見つかりませんでした。"))
        return 0, crlf(lines)
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
    return 0, crlf(lines)
