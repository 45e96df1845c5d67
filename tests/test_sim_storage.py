"""Disks, volumes, reboots, services, shadow storage and WinRE of the simulated PC."""

from __future__ import annotations

import ast
import copy
from pathlib import Path
from typing import Any

import pytest

from wbplay.sim import executor, storage, sysinfo
from wbplay.sim.executor import HANDLERS, execute, join_handlers
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_names, load_host_model
from wbplay.vocab import cmdparse
from wbplay.vocab.ops import OP_SPECS, Op


def ok(m: HostModel, op: str, **args: Any) -> Any:
    result = execute(m, Op(op, args))
    assert result.ok, (op, result.error)
    return result.value


def fails(m: HostModel, op: str, **args: Any) -> int:
    result = execute(m, Op(op, args))
    assert not result.ok and result.error is not None, op
    return result.error.code


def test_every_op_has_a_sim_handler() -> None:
    assert set(OP_SPECS) <= set(HANDLERS)


def test_an_op_claimed_by_two_families_is_refused() -> None:
    twice = {"os.info": sysinfo.HANDLERS["os.info"]}
    with pytest.raises(ValueError, match=r"two simulator handlers for os\.info"):
        join_handlers((sysinfo.HANDLERS, twice))


def _imports_executor(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name == "wbplay.sim.executor" for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.module == "wbplay.sim.executor" or (
            node.module == "wbplay.sim" and any(a.name == "executor" for a in node.names)
        )
    return False


def test_no_sim_module_imports_the_executor() -> None:
    """The dispatcher sits on top; a handler importing it, even inside a function, closes a circle."""
    top = Path(executor.__file__)
    offenders = [
        str(path.relative_to(top.parent))
        for path in sorted(top.parent.rglob("*.py"))
        if path != top and any(map(_imports_executor, ast.walk(ast.parse(path.read_text(encoding="utf-8")))))
    ]
    assert offenders == []


@pytest.mark.parametrize("name", builtin_names())
def test_reads_never_change_the_state(name: str) -> None:
    m = load_host_model(name)
    before = copy.deepcopy(m.state)
    volume_args = {"volume": "C:", "target": "E:", "for_volume": "C:"}
    for op_name, spec in OP_SPECS.items():
        if spec.writes or op_name in (
            "events.query",
            "registry.get",
            "registry.list",
            "path.get",
            "path.list",
        ):
            continue
        args = {a.name: volume_args[a.name] for a in spec.args if a.name in volume_args}
        if op_name == "service.get":
            args = {"name": "VSS"}
        execute(m, Op(op_name, args))
    assert m.state == before


def test_volume_selectors() -> None:
    m = load_host_model("win10-healthy")
    assert storage.find_volume(m, "c:")["boot"]
    assert storage.find_volume(m, "C:\\") is storage.find_volume(m, "@boot")
    esp = storage.find_volume(m, "@system")
    assert esp["file_system"] == "FAT32" and esp.get("letter") is None
    assert storage.find_volume(m, storage.volume_path(esp)) is esp
    assert storage.find_volume(m, "@winre")["label"] == "Recovery"
    assert storage.find_volume(m, "Z:") is None and storage.find_volume(m, "nonsense") is None
    m.state["disks"][1]["attached"] = False
    assert storage.find_volume(m, "E:") is None  # an unplugged disk's volumes are gone
    assert [d["number"] for d in ok(m, "disk.list")] == [0]


def test_typed_disk_and_volume_records() -> None:
    m = load_host_model("win11-ssd-io-errors")
    disks = ok(m, "disk.list")
    assert disks[0]["media_type"] == "SSD" and disks[0]["bus_type"] == "NVMe" and disks[0]["is_boot"]
    assert disks[1]["bus_type"] == "USB" and not disks[1]["is_system"]
    vols = {v["letter"] or v["label"] or "ESP": v for v in ok(m, "volume.list")}
    assert vols["C:"]["boot"] and vols["C:"]["pagefile"] and vols["ESP"]["system"]
    assert vols["Recovery"]["path"].startswith("\\\\?\\Volume{")


def test_critical_volumes() -> None:
    m = load_host_model("win11-vm-folder-target")
    e = storage.find_volume(m, "E:")
    assert storage.critical_reasons(m, e) == ["service:VMAuthdService"]
    assert storage.critical_reasons(m, storage.find_volume(m, "@winre")) == ["winre"]  # Win8+ [U]
    win7 = load_host_model("win7-winre-on-usb")
    assert storage.critical_reasons(win7, storage.find_volume(win7, "E:")) == []  # Win7 images skip WinRE


def test_boot_time_chkdsk_pass_by_pass() -> None:
    m = load_host_model("pc42-io-errors")
    c = storage.find_volume(m, "C:")
    ok(m, "chkdsk.schedule", volume="C:", mode="r")
    assert c["chkdsk_scheduled"] == "r"
    boot_before = ok(m, "os.info")["boot_time"]
    ok(m, "host.reboot", reason="test")
    info = ok(m, "os.info")
    assert info["boot_time"] != boot_before and info["boot_time"] <= m.state["clock"]
    first = m.state["events"][-1]
    assert (first["provider"], first["id"], first["log"]) == ("Wininit", 1001, "Application")
    report = cmdparse.chkdsk_report(first["message"])  # Japanese: the seed's PC
    assert report["volume"] == "C:" and report["clean"] is False and report["bad_clusters_added"] == 3
    assert c["fs_errors"] == [3] and c["bad_sectors"] == 0 and c["bad_sectors_mapped"] == 24
    assert "chkdsk_scheduled" not in c and c["dirty"] is False
    ok(m, "chkdsk.schedule", volume="C:", mode="r")
    ok(m, "host.reboot", reason="test")
    assert cmdparse.chkdsk_report(m.state["events"][-1]["message"])["clean"] is False  # 3 errors
    ok(m, "chkdsk.schedule", volume="C:", mode="r")
    ok(m, "host.reboot", reason="test")
    assert cmdparse.chkdsk_report(m.state["events"][-1]["message"])["clean"] is True
    assert m.state["disks"][0].get("wear_passes") is None  # an HDD does not wear


def test_boot_checks_a_dirty_volume_and_resets_services() -> None:
    m = load_host_model("win11-ssd-io-errors")
    m.state["volumes"][1]["dirty"] = True
    ok(m, "service.start", name="VSS")
    ok(m, "host.reboot", reason="test")
    event = m.state["events"][-1]
    assert event["provider"] == "Microsoft-Windows-Wininit"  # Windows 8+ [U]
    assert "stage 1 of 3" in event["message"]  # autochk on a dirty volume is a /F pass
    assert m.state["volumes"][1]["dirty"] is False
    assert m.state["disks"][0].get("wear_passes") is None  # /F reads no sectors
    services = m.state["services"]
    assert services["VSS"]["state"] == "Stopped"  # Manual: not started at boot
    assert services["wscsvc"]["state"] == "Running"  # AutomaticDelayed
    assert services["HTTP"]["state"] == "Running"  # Manual, started as WinRM's dependency


def test_online_chkdsk_only_on_lockable_volumes_and_ssd_wear() -> None:
    m = load_host_model("win11-ssd-io-errors")
    assert fails(m, "chkdsk.run", volume="C:", mode="r") == 32
    assert fails(m, "chkdsk.run", volume="C:", mode="x") == 87
    m.state["disks"][1]["media_type"] = "SSD"
    ok(m, "chkdsk.run", volume="E:", mode="r")
    event = m.state["events"][-1]
    assert (event["provider"], event["id"]) == ("Chkdsk", 26226)
    assert cmdparse.chkdsk_report(event["message"])["volume"] == "E:"
    assert m.state["disks"][1]["wear_passes"] == 1


def test_service_restart_resets_its_writers_and_restarts_dependents() -> None:
    m = load_host_model("srv2019-wmi-writer-failed")
    services = m.state["services"]
    assert services["UALSVC"]["state"] == "Running"
    ok(m, "service.restart", name="winmgmt")
    wmi = next(w for w in m.state["vss_writers"] if w["name"] == "WMI Writer")
    assert (wmi["state"], wmi["last_error"]) == (1, "none")
    assert services["Winmgmt"]["state"] == services["UALSVC"]["state"] == "Running"
    stopped = load_host_model("win10-healthy")
    ok(stopped, "service.restart", name="VSS")
    assert stopped.state["services"]["VSS"]["state"] == "Running"
    stopped.state["services"]["VSS"]["start_mode"] = "Disabled"
    assert fails(stopped, "service.restart", name="VSS") == 1058
    assert fails(stopped, "service.restart", name="nope") == 1060


def test_shadow_storage_associations() -> None:
    client = load_host_model("win7-system-reserved-full")
    # Win32_ShadowStorage.Create: "Minimum supported client: None supported" [V].
    assert fails(client, "shadowstorage.add", for_volume="@system", on_volume="C:", max_size_mb=1024) == 50
    m = load_host_model("srv2019-system-reserved-full")
    assert "shadow_storage" not in m.state
    assert fails(m, "shadowstorage.add", for_volume="@system", on_volume="C:", max_size_mb=100) == 87
    assert (
        fails(m, "shadowstorage.resize", for_volume="@system", on_volume="C:", max_size_mb=400) == 0x80042308
    )
    ok(m, "shadowstorage.add", for_volume="@system", on_volume="C:", max_size_mb=1024)
    assert fails(m, "shadowstorage.add", for_volume="@system", on_volume="C:", max_size_mb=1024) == 0x8004230D
    listed = ok(m, "shadowstorage.list", for_volume="@system")
    assert listed[0]["on"]["letter"] == "C:" and listed[0]["for"]["system"] is True
    assert ok(m, "shadowstorage.list", for_volume="E:") == []
    assert ok(m, "shadowstorage.list", for_volume="Q:") == []
    ok(m, "shadowstorage.resize", for_volume="@system", on_volume="C:", max_size_mb=300)
    assert m.state["shadow_storage"][0]["max_mb"] == 300
    ok(m, "shadowstorage.delete", for_volume="@system", on_volume="C:")
    assert "shadow_storage" not in m.state  # back to exactly what it was


def test_winre_enable_returns_to_an_attached_disk_else_home() -> None:
    m = load_host_model("win7-winre-on-usb")
    ok(m, "winre.disable")
    ok(m, "winre.enable")
    assert m.state["winre"]["disk"] == 1  # the USB disk is still there: WinRE goes back to it
    ok(m, "winre.disable")
    m.state["disks"][1]["attached"] = False
    ok(m, "winre.enable")
    assert (m.state["winre"]["disk"], m.state["winre"]["partition"]) == (0, 1)
    assert storage.winre_volume(m)["label"] == "System Reserved"


def test_backup_catalog_ignores_quarantined_sets() -> None:
    m = load_host_model("win7-settings-not-current")
    catalog = ok(m, "backup.catalog", target="E:")
    assert catalog["file_sets"] == [{"machine": "PC42-PATH2", "path": "E:\\PC42-PATH2", "readable": False}]
    ok(m, "path.rename", path="E:\\PC42-PATH2", new_name="PC42-PATH2.wbplay-old")
    assert ok(m, "backup.catalog", target="E:")["file_sets"] == []
    stale = load_host_model("win11-stale-imagebackup")
    sets = {s["machine"]: s["readable"] for s in ok(stale, "backup.catalog", target="E:")["image_sets"]}
    assert sets == {"W10-FAMILY": True, "W11-STALE": False}  # a shared disk: another PC's set too
    ok(stale, "path.rename", path="E:\\WindowsImageBackup\\W11-STALE", new_name="W11-STALE.wbplay-old")
    assert [s["machine"] for s in ok(stale, "backup.catalog", target="E:")["image_sets"]] == ["W10-FAMILY"]
    assert ok(stale, "backup.catalog", target="Q:") is None


def test_user_shell_folders_per_loaded_hive() -> None:
    m = load_host_model("win11-relocated-users")
    users = ok(m, "user.shell_folders")
    assert len(users) == 1 and users[0]["sid"].endswith("-1001")
    assert users[0]["profile_path"] == "C:\\Users\\alice"
    assert users[0]["folders"]["Personal"] == "D:\\Users\\alice\\Documents"
    assert ok(load_host_model("win10-healthy"), "user.shell_folders") == []


def test_session_defaults_to_an_elevated_admin() -> None:
    info = ok(load_host_model("win10-healthy"), "session.info")
    assert info["is_admin"] and info["elevated"]
