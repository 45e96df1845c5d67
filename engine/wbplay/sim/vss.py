"""Volume Shadow Copy: the shadow-storage associations and writers (``shadowstorage.*``,
``vssadmin list ...``)."""

from __future__ import annotations

from typing import Any

from wbplay.sim import storage
from wbplay.sim.model import HostModel
from wbplay.sim.reply import Handler, command
from wbplay.sim.storage import Vol
from wbplay.sim.text.vssadmin import (
    vssadmin_list_providers,
    vssadmin_list_shadowstorage,
    vssadmin_list_writers,
)
from wbplay.vocab import ops as O
from wbplay.vocab.ops import OpResult, win32_failure

VSS_E_OBJECT_NOT_FOUND = 0x80042308
VSS_E_OBJECT_ALREADY_EXISTS = 0x8004230D
MIN_SHADOW_STORAGE_MB = 300  # vssadmin: "MaxSizeSpec must be 300MB or greater" [U]


def _vssfail(code: int, text_: str) -> OpResult:
    return OpResult.failure(code, text_)


def _vol_ref(v: Vol) -> dict[str, Any]:
    return {
        "path": storage.volume_path(v),
        "letter": v.get("letter"),
        "label": v.get("label", ""),
        "system": bool(v.get("system")),
        "boot": bool(v.get("boot")),
    }


def _shadowstorage_list(m: HostModel, a: dict[str, Any]) -> OpResult:
    only = storage.find_volume(m, a["for_volume"]) if a.get("for_volume") else None
    if a.get("for_volume") and only is None:
        return OpResult.success([])
    out = []
    for assoc in m.state.get("shadow_storage", []):
        for_v, on_v = storage.find_volume(m, assoc["for"]), storage.find_volume(m, assoc["on"])
        if for_v is None or on_v is None or (only is not None and for_v is not only):
            continue
        out.append(
            {
                "for": _vol_ref(for_v),
                "on": _vol_ref(on_v),
                "used_mb": assoc.get("used_mb", 0),
                "allocated_mb": assoc.get("allocated_mb", 0),
                "max_mb": assoc["max_mb"],
            }
        )
    return OpResult.success(out)


def _list_writers(m: HostModel, _: dict[str, Any]) -> OpResult:
    return command("vssadmin list writers", 0, vssadmin_list_writers(m))


def _list_providers(m: HostModel, _: dict[str, Any]) -> OpResult:
    return command("vssadmin list providers", 0, vssadmin_list_providers(m))


def _list_shadowstorage(m: HostModel, _: dict[str, Any]) -> OpResult:
    code, out = vssadmin_list_shadowstorage(m)
    return command("vssadmin list shadowstorage", code, out)


def _assoc_key(v: Vol) -> str:
    return str(v.get("letter") or storage.volume_path(v))


def _find_assoc(m: HostModel, for_v: Vol, on_v: Vol) -> dict[str, Any] | None:
    for a in storage.associations(m):
        if storage.find_volume(m, a["for"]) is for_v and storage.find_volume(m, a["on"]) is on_v:
            return a
    return None


def _storage_args(m: HostModel, a: dict[str, Any]) -> tuple[Vol, Vol] | OpResult:
    for_v, on_v = storage.find_volume(m, a["for_volume"]), storage.find_volume(m, a["on_volume"])
    if for_v is None or on_v is None:
        return win32_failure(O.ERROR_FILE_NOT_FOUND)
    return for_v, on_v


def _bad_max(a: dict[str, Any]) -> bool:
    mx = a["max_size_mb"]
    return mx < 0 or 0 < mx < MIN_SHADOW_STORAGE_MB


def _storage_add(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    for_v, on_v = vols
    if m.os.get("product_type") == "workstation":
        # Win32_ShadowStorage.Create: "Minimum supported client: None supported" [V]; client
        # vssadmin has no "add shadowstorage" either (docs/domain-review.md A.4).
        return win32_failure(O.ERROR_NOT_SUPPORTED)
    if _bad_max(a) or on_v["file_system"] != "NTFS":
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    if storage.association_for(m, for_v) is not None:
        return _vssfail(VSS_E_OBJECT_ALREADY_EXISTS, "The object already exists.")
    m.state.setdefault("shadow_storage", []).append(
        {
            "for": _assoc_key(for_v),
            "on": _assoc_key(on_v),
            "max_mb": a["max_size_mb"],
            "used_mb": 0,
            "allocated_mb": 0,
        }
    )
    return OpResult.success()


def _storage_resize(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    if _bad_max(a):
        return win32_failure(O.ERROR_INVALID_PARAMETER)
    found = _find_assoc(m, *vols)
    if found is None:
        return _vssfail(VSS_E_OBJECT_NOT_FOUND, "The specified object was not found.")
    found["max_mb"] = a["max_size_mb"]
    return OpResult.success()


def _storage_delete(m: HostModel, a: dict[str, Any]) -> OpResult:
    vols = _storage_args(m, a)
    if isinstance(vols, OpResult):
        return vols
    found = _find_assoc(m, *vols)
    if found is None:
        return _vssfail(VSS_E_OBJECT_NOT_FOUND, "The specified object was not found.")
    m.state["shadow_storage"].remove(found)
    if not m.state["shadow_storage"]:
        del m.state["shadow_storage"]  # as before the first add: keeps rollback comparisons exact
    return OpResult.success()


HANDLERS: dict[str, Handler] = {
    "shadowstorage.list": _shadowstorage_list,
    "vssadmin.list_writers": _list_writers,
    "vssadmin.list_shadowstorage": _list_shadowstorage,
    "vssadmin.list_providers": _list_providers,
    "shadowstorage.add": _storage_add,
    "shadowstorage.resize": _storage_resize,
    "shadowstorage.delete": _storage_delete,
}
