"""``fsutil dirty query`` and ``fsutil fsinfo ntfsinfo``."""

from __future__ import annotations

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.storage import Vol
from wbplay.sim.text.language import crlf, lang, tr


def fsutil_dirty(m: HostModel, v: Vol) -> str:
    name = storage.name_of(v)
    if v.get("dirty"):
        return crlf([tr(m, f"Volume - {name} is Dirty", f"ボリューム - {name} はダーティです")])
    return crlf([tr(m, f"Volume - {name} is NOT Dirty", f"ボリューム - {name} はダーティではありません")])


def fsutil_ntfsinfo(m: HostModel, v: Vol) -> tuple[int, str]:
    if v["file_system"] != "NTFS":
        return 1, crlf(
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
    return 0, crlf([f"{label:<34} {value}" for label, (_, value) in zip(labels, rows_en, strict=True)])
