"""Shadow copy storage: an association's maximum, and whether a volume's shadow copy
has room (the usual cause of 0x80780119 / 0x81000019)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wbplay.vocab import domain
from wbplay.vocab.derive.volumes import Args, Rec, critical_sources, name_of, os_version, resolve, winre_of


def _ref_matches(ref: Rec, selector: str) -> bool:
    low = selector.strip().lower()
    if low == "@boot":
        return bool(ref.get("boot"))
    if low == "@system":
        return bool(ref.get("system"))
    return resolve([{**ref, "disk": -1, "partition": -1}], selector) is not None


def shadowstorage_max(values: Sequence[Any], args: Args) -> int | None:
    """The maximum of the association ``for_volume`` -> ``on_volume`` (0 = UNBOUNDED), None if absent.

    The op already filtered by ``for_volume`` on the host (roles like @winre resolve there).
    """
    for a in values[0] or []:
        if _ref_matches(a["on"], str(args.get("on_volume", ""))):
            return int(a["max_mb"])
    return None


def _room(v: Rec, assoc: Rec | None, vols: Sequence[Rec], storage: Rec | None = None) -> Rec:
    need = domain.headroom_needed_mb(v["size_mb"])
    if v.get("file_system") not in domain.SHADOW_STORAGE_FILE_SYSTEMS:
        # The FAT32 ESP: no diff area to give room to (VSS FAQ [V]); exact behaviour [U].
        why = f"{v.get('file_system')}: not a shadow-storage volume (VSS keeps diff areas on NTFS)"
        return {
            "volume": name_of(v),
            "size_mb": v["size_mb"],
            "free_mb": v["free_mb"],
            "needed_mb": 0,
            "storage_on": None,
            "max_mb": None,
            "ok": True,
            "why": why,
            "fix": None,
        }
    out: Rec = {
        "volume": name_of(v),
        "size_mb": v["size_mb"],
        "free_mb": v["free_mb"],
        "needed_mb": need,
        "storage_on": None,
        "max_mb": None,
    }
    if assoc is None:
        ok, why = v["free_mb"] >= need, f"{v['free_mb']} MB free on the volume itself, {need} MB needed"
    else:
        on = resolve(vols, assoc["on"]["path"])
        out["storage_on"], out["max_mb"] = name_of(assoc["on"]), assoc["max_mb"]
        if assoc["max_mb"] and assoc["max_mb"] < need:
            ok, why = False, f"the association's maximum is {assoc['max_mb']} MB, {need} MB needed"
        elif on is None or on["free_mb"] < need:
            ok, why = False, f"not enough free space on {out['storage_on']} ({need} MB needed)"
        else:
            ok, why = True, f"shadow storage on {out['storage_on']}"
    out["ok"], out["why"] = ok, why
    out["fix"] = None if ok else _room_fix(v, assoc, need, storage)
    return out


def _room_fix(v: Rec, assoc: Rec | None, need: int, storage: Rec | None) -> str:
    """What would give ``v``'s shadow copy room: ``resize`` a too-small association on the volume
    itself, ``add`` an association on another volume with space, else ``free-space`` (a human
    must free or enlarge the partition).  docs/domain.md s.2 0x80780119/0x807800C5 [3P]."""
    if assoc is not None:
        same = assoc["on"]["path"] == v["path"]
        return (
            "resize"
            if same and assoc["max_mb"] and assoc["max_mb"] < need and v["free_mb"] >= need
            else "free-space"
        )
    if storage is not None and storage["path"] != v["path"] and storage["free_mb"] >= need:
        return "add"
    return "free-space"


def shadowstorage_room(values: Sequence[Any], args: Args) -> Rec | None:
    """Whether ``volume``'s shadow copy has room (KB3135522's thresholds [V], domain.py)."""
    vols, assocs, winre_cmd = values[0], values[1], values[2]
    winre = winre_of(winre_cmd)
    v = resolve(vols, args.get("volume"), winre)
    if v is None:
        return None
    mine = [a for a in assocs or [] if a["for"]["path"] == v["path"]]
    storage = resolve(vols, args.get("storage_volume"), winre)
    return _room(v, mine[0] if mine else None, vols, storage)


def critical_room(values: Sequence[Any], args: Args) -> list[Rec]:
    """The critical source volumes whose shadow copy has no room: the usual cause of
    0x80780119 / 0x81000019 (docs/domain.md s.2, s.5.4 [3P])."""
    vols, services, winre_cmd, os_info, assocs = values[:5]
    sources = critical_sources(vols or [], services, winre_of(winre_cmd), os_version(os_info))
    out = []
    for s in sources:
        mine = [a for a in assocs or [] if a["for"]["path"] == s["path"]]
        room = _room(s, mine[0] if mine else None, vols)
        if not room["ok"]:
            out.append(room)
    return out
