"""``vssadmin list writers`` and ``vssadmin list shadowstorage``."""

from __future__ import annotations

import uuid

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.text.language import crlf, tr


def _instance_id(name: str) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_OID, "wbplay-writer:" + name)) + "}"


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
    return crlf(lines)


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
        return 1, crlf(lines)
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
    return 0, crlf(lines)


# The providers every Windows has (KB2009513's provider id [V]); a state's ``vss_providers`` adds
# third parties'.
SYSTEM_PROVIDER = {
    "name": "Microsoft Software Shadow Copy provider 1.0",
    "id": "{b5946137-7b9f-4925-af80-51abd60b20d5}",
    "type": "System",
    "version": "1.0.0.7",
}


def vssadmin_list_providers(m: HostModel) -> str:
    lines = _vssadmin_header(m)
    for p in [SYSTEM_PROVIDER, *m.state.get("vss_providers", [])]:
        kind = {"System": ("System", "システム"), "Software": ("Software", "ソフトウェア")}.get(
            p.get("type", "Software"), ("Hardware", "ハードウェア")
        )
        lines += [
            f"{tr(m, 'Provider name', 'プロバイダー名')}: '{p['name']}'",
            f"   {tr(m, 'Provider type', 'プロバイダーの種類')}: {tr(m, *kind)}",
            f"   {tr(m, 'Provider Id', 'プロバイダー ID')}: {p['id']}",
            f"   {tr(m, 'Version', 'バージョン')}: {p.get('version', '1.0')}",
            "",
        ]
    return crlf(lines)
