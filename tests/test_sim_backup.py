"""The simulated backup engine: every outcome is derived from the PC's state, per Windows version.

Each rule is exercised by changing one thing on a healthy PC; the shipped broken PCs
must fail the way their recorded events say they did.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from wbplay.sim import storage
from wbplay.sim.backup import attempt_backup, record
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_names, load_host_model
from wbplay.vocab import codes

Mutation = Callable[[HostModel], None]


def outcome_of(name: str, change: Mutation | None = None, **kw: Any) -> Any:
    m = load_host_model(name)
    if change is not None:
        change(m)
    return attempt_backup(m, **kw)


def vol(m: HostModel, selector: str) -> dict[str, Any]:
    v = storage.find_volume(m, selector)
    assert v is not None
    return v


@pytest.mark.parametrize(
    "name", ["win7-healthy", "win10-healthy", "win11-healthy", "srv2019-healthy", "pc42"]
)
def test_healthy_image_and_services(name: str) -> None:
    out = outcome_of(name, lambda m: m.state["services"]["VSS"].update(start_mode="Disabled"))
    assert (out.ok, out.hresult, out.reason) == (False, "0x80070422", "service-start")
    if name != "pc42":
        assert outcome_of(name).ok


@pytest.mark.parametrize(
    ("os_name", "change", "code", "reason"),
    [
        # 4K-native target: only Windows 7 fails (KB2510009 [V])
        (
            "win7-healthy",
            lambda m: m.state["disks"][1].update(logical_sector_size=4096),
            "0x8078002A",
            "target-4kn",
        ),
        ("win10-healthy", lambda m: m.state["disks"][1].update(logical_sector_size=4096), None, "ok"),
        # VHD limit: only Windows 7 (KB2696906 [V])
        ("win7-healthy", lambda m: vol(m, "C:").update(size_mb=2_100_000), "0x807800B4", "source-too-large"),
        ("win10-healthy", lambda m: vol(m, "C:").update(size_mb=2_100_000), None, "ok"),
        # the destination must be NTFS and not critical (no code [U])
        ("win11-healthy", lambda m: vol(m, "E:").update(file_system="exFAT"), "", "target-not-ntfs"),
        (
            "win11-healthy",
            lambda m: m.state["services"]["RpcSs"].update(path="E:\\tools\\x.exe"),
            "",
            "target-critical",
        ),
        # unreadable sectors / file-system damage (0x8007045D; fs damage alone is [U])
        ("win10-healthy", lambda m: vol(m, "C:").update(bad_sectors=3), "0x8007045D", "source-io"),
        ("win10-healthy", lambda m: vol(m, "C:").update(fs_errors=[2]), "0x8007045D", "source-corrupt"),
        ("win10-healthy", lambda m: vol(m, "E:").update(bad_sectors=3), "0x8007045D", "target-io"),
        # shadow-copy room: System Reserved on Windows 7 (image: the engine's code)
        ("win7-healthy", lambda m: vol(m, "@system").update(free_mb=10), "0x80780119", "shadow-room"),
        # the recovery partition is in Windows 10 images; 499 MB needs 50 MB, 529 MB needs 320 MB [U]
        ("win10-healthy", lambda m: vol(m, "@winre").update(size_mb=529), "0x80780119", "shadow-room"),
        (
            "win7-healthy",
            lambda m: vol(m, "C:").update(pagefile=True, free_mb=100),
            "0x80780119",
            "shadow-room",
        ),
    ],
)
def test_rules(os_name: str, change: Mutation, code: str | None, reason: str) -> None:
    out = outcome_of(os_name, change)
    assert out.reason == reason, out
    assert out.ok is (code is None)
    if code is not None:
        assert out.hresult == code


def test_windows7_file_backup_reports_shadow_copy_failures_as_0x81000019() -> None:
    def full(m: HostModel) -> None:
        vol(m, "@system")["free_mb"] = 10

    assert outcome_of("win7-healthy", full, kind="files").hresult == "0x81000019"
    assert outcome_of("win7-healthy", full, kind="image").hresult == "0x80780119"


def test_an_association_on_a_roomy_volume_gives_room() -> None:
    def full_with_association(m: HostModel) -> None:
        vol(m, "@system")["free_mb"] = 10
        m.state["shadow_storage"] = [
            {"for": storage.volume_path(vol(m, "@system")), "on": "C:", "max_mb": 1024}
        ]

    assert outcome_of("win7-healthy", full_with_association).ok

    def too_small(m: HostModel) -> None:
        m.state["shadow_storage"] = [{"for": "C:", "on": "C:", "max_mb": 300}]

    out = outcome_of("win7-healthy", too_small)
    assert (out.hresult, out.detailed_hresult) == ("0x80780119", "0x8004231F")


def test_a_failed_writer_and_its_detail() -> None:
    def fail(m: HostModel) -> None:
        storage.writers(m)[5].update(state=11, last_error="retryable")

    out = outcome_of("win10-healthy", fail)
    assert (out.hresult, out.detailed_hresult, out.reason) == ("0x807800A1", "0x800423F3", "writer-failed")
    assert outcome_of("win7-healthy", fail, kind="files").hresult == "0x81000019"
    stable = outcome_of("win10-healthy", lambda m: storage.writers(m)[5].update(state=5))
    assert stable.ok  # waiting states are not failures


def test_relocated_profiles_fail_the_system_writer_every_time() -> None:
    def relocate(m: HostModel) -> None:
        m.state["files"]["C:\\Users"]["reparse"] = True

    out = outcome_of("win10-healthy", relocate)
    assert (out.hresult, out.detailed_hresult) == ("0x807800A1", "0x800423F4")
    assert any(e["provider"] == "Microsoft-Windows-CAPI2" and e["id"] == 513 for e in out.events)


def test_stale_image_set_codes_by_version() -> None:
    def stale(m: HostModel) -> None:
        root = f"E:\\WindowsImageBackup\\{m.hostname}"
        m.state["files"].update(
            {
                "E:\\WindowsImageBackup": {"kind": "directory"},
                root: {"kind": "directory"},
                root + "\\Catalog": {"kind": "directory"},
                root + "\\Catalog\\GlobalCatalog": {"kind": "file", "damaged": True},
            }
        )

    assert outcome_of("win7-healthy", stale).hresult == "0x807800C5"
    win10 = outcome_of("win10-healthy", stale)
    assert (win10.hresult, win10.detailed_hresult) == ("0x80780166", "0x80070001")

    def foreign(m: HostModel) -> None:
        m.state["files"].update(
            {
                "E:\\WindowsImageBackup": {"kind": "directory"},
                "E:\\WindowsImageBackup\\OTHER-PC": {"kind": "directory"},
                "E:\\WindowsImageBackup\\OTHER-PC\\x": {"kind": "file", "damaged": True},
            }
        )

    assert outcome_of("win10-healthy", foreign).ok  # another PC's set is not ours to read


def test_winre_on_the_external_drive_only_breaks_windows7_file_backup() -> None:
    assert outcome_of("win7-winre-on-usb").hresult == "0x81000031"
    assert outcome_of("win7-winre-on-usb", kind="image").ok

    def move(m: HostModel) -> None:
        m.state["winre"] = {"enabled": True, "disk": 1, "partition": 1}

    assert outcome_of("win10-healthy", move, kind="files").ok


def test_a_damaged_file_catalog_only_warns() -> None:
    out = outcome_of("win7-settings-not-current")
    assert out.ok and out.warnings == ("バックアップ設定が最新の状態でない可能性があります",)


def test_the_first_obstacle_wins() -> None:
    out = outcome_of(
        "win7-4kn-target", lambda m: m.state["services"]["wbengine"].update(start_mode="Disabled")
    )
    assert out.hresult == "0x80070422"


def test_attempts_change_nothing() -> None:
    m = load_host_model("pc42-io-errors")
    before = copy.deepcopy(m.state)
    attempt_backup(m)
    assert m.state == before


def test_events_read_like_each_windows_version() -> None:
    win7 = outcome_of("win7-healthy", lambda m: vol(m, "C:").update(bad_sectors=1))
    five = next(e for e in win7.events if e["id"] == 5)
    assert five["version"] == 1 and five["fields"]["HRESULT"] == "2147943517"  # UInt32: decimal
    assert "ErrorMessage" not in five["fields"]
    disk7 = next(e for e in win7.events if e["provider"] == "disk")
    assert "\\Device\\Harddisk0\\DR0" in disk7["message"]
    win10 = outcome_of("win10-system-writer-failed")
    five = next(e for e in win10.events if e["id"] == 5)
    assert five["version"] == 3 and five["fields"]["HRESULT"] == "0x807800a1"  # HexInt32
    assert five["fields"]["ErrorMessage"] == "A Volume Shadow Copy Service operation failed."
    e521 = next(e for e in win10.events if e["id"] == 521)
    assert e521["log"] == "Application" and "'2155348129'" in e521["message"]  # KB2615182 [V]
    ok = outcome_of("win10-healthy")
    assert [e["id"] for e in ok.events] == [1, 14, 4]


def test_localized_ui_message() -> None:
    assert outcome_of("pc42").message == (
        "内部エラーのため、バックアップアプリケーションを開始できませんでした:指定されたサービスは無効であるか、"
        "または有効なデバイスが関連付けられていないため、開始できません。(0x80070422)。"
    )
    assert outcome_of("pc42-io-errors").message.endswith("(0x8007045D)")


@pytest.mark.parametrize("name", builtin_names())
def test_shipped_pcs_fail_as_their_events_say(name: str) -> None:
    m = load_host_model(name)
    out = attempt_backup(m)
    failures = [
        e
        for e in m.state["events"]
        if e["level"] == "Error" and e["provider"] in ("Microsoft-Windows-Backup", "Windows Backup")
    ]
    if not failures:
        return
    newest = max(failures, key=lambda e: e["time"])
    fields = newest.get("fields", {})
    logged = codes.normalise(fields.get("HRESULT")) or codes.normalise(fields.get("ErrorCode"))
    assert out.hresult == (logged or ""), (name, out)  # "": Windows logs no code (event 561)
    assert not out.ok, name


def test_record_appends_the_attempts_events() -> None:
    m = load_host_model("win10-healthy")
    n = len(m.state["events"])
    record(m, attempt_backup(m))
    assert [e["id"] for e in m.state["events"][n:]] == [1, 14, 4]


def _share_target(writable: bool) -> Mutation:
    def change(m: HostModel) -> None:
        m.state["backup"] = {"kind": "image", "target": "\\\\NAS01\\Backups"}
        m.state["network_targets"] = [
            {"path": "\\\\NAS01\\Backups", "user": "CONTOSO\\SRV19$", "writable": writable}
        ]

    return change


def test_a_share_that_denies_writes_fails_with_event_564() -> None:
    denied = outcome_of("srv2019-healthy", _share_target(False))
    assert (denied.ok, denied.hresult, denied.reason) == (False, "0x80070005", "network-target-denied")
    failures = [e for e in denied.events if e["provider"] == "Microsoft-Windows-Backup"]
    assert [e["id"] for e in failures] == [564]  # the event names the share and the account
    assert "\\\\NAS01\\Backups" in failures[0]["message"] and "CONTOSO\\SRV19$" in failures[0]["message"]
    assert outcome_of("srv2019-healthy", _share_target(True)).ok
    gone = outcome_of(
        "srv2019-healthy", lambda m: m.state.update(backup={"kind": "image", "target": "\\\\X\\y"})
    )
    assert (gone.ok, gone.reason) == (False, "target-missing")
