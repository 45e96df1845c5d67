"""The domain judgements behind issue 12's fixes: which disk events arm chkdsk /r, when a
restart is allowed, when a backup is running (docs/domain-review.md A.2, A.6)."""

from __future__ import annotations

from typing import Any

import pytest

from wbplay.vocab.derive import backup, chkdsk, session

VOLS = [{"path": "\\\\?\\Volume{1}\\", "letter": "E:", "disk": 1, "partition": 1}]


def _event(provider: str, event_id: int, message: str, time: str = "2026-11-20T09:00:00Z") -> dict[str, Any]:
    return {"provider": provider, "id": event_id, "time": time, "message": message, "fields": {}}


@pytest.mark.parametrize(
    ("disk_events", "ntfs_events", "since", "transport", "bad"),
    [
        ([_event("disk", 153, "The IO operation at ... for Disk 1 (PDO name: x) was retried.")], [], 0, 1, 0),
        ([_event("disk", 157, "Disk 1 has been surprise removed.")], [], 0, 1, 0),
        ([_event("disk", 7, "The device, \\Device\\Harddisk1\\DR1, has a bad block.")], [], 0, 0, 1),
        ([], [_event("Ntfs", 55, "The file system structure on the disk is corrupt. Volume E:")], 1, 0, 0),
        ([_event("disk", 153, "... for Disk 0 (PDO name: x) was retried.")], [], 0, 0, 0),  # another disk
    ],
)
def test_only_ntfs_corruption_counts_as_a_repair_reason(
    disk_events: list[dict[str, Any]], ntfs_events: list[dict[str, Any]], since: int, transport: int, bad: int
) -> None:
    got = chkdsk.disk_errors([VOLS, disk_events, ntfs_events, [], [], [], []], {"volume": "E:"})
    assert got is not None
    assert (got["since_last_check"], got["transport"], got["bad_blocks"]) == (since, transport, bad)


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        ("22:00-05:00", "2026-11-20T23:10:00", True),
        ("22:00-05:00", "2026-11-20T04:59:00", True),
        ("22:00-05:00", "2026-11-20T09:00:00", False),
        ("08:00-10:00", "2026-11-20T09:00:00", True),
        ("8-10", "2026-11-20T09:00:00", None),
    ],
)
def test_maintenance_window(window: str, now: str, inside: bool | None) -> None:
    assert session.in_window(window, now) is inside


def test_a_signed_in_user_blocks_the_restart_unless_allowed() -> None:
    info = {"local_time": "2026-11-20T09:00:00", "console_user": "PC\\alice", "desktop_sessions": [1]}
    refused = session.reboot_ok([info], {"window": "", "allow_signed_in": False})
    assert refused["ok"] is False and "PC\\alice" in refused["why"]
    assert session.reboot_ok([info], {"window": "", "allow_signed_in": True})["ok"] is True
    assert session.reboot_ok([{**info, "desktop_sessions": []}], {"window": "22:00-05:00"})["ok"] is False


def test_a_started_job_without_completion_is_running() -> None:
    started = _event("Microsoft-Windows-Backup", 1, "started", "2026-11-20T09:30:00Z")
    done = _event("Microsoft-Windows-Backup", 14, "completed", "2026-11-20T09:00:00Z")
    assert backup.backup_in_progress([None, [started, done]], {})["running"] is True
    assert backup.backup_in_progress([None, [done, {**started, "time": "2026-11-20T08:00:00Z"}]], {})[
        "running"
    ] is False


def test_group_policy_puts_its_start_mode_back_at_the_next_boot() -> None:
    # MS-GPSB: System Services settings are applied again at every refresh; a local flip does not last.
    from wbplay.sim.executor import execute
    from wbplay.sim.state import load_host_model
    from wbplay.vocab.ops import Op

    m = load_host_model("win10-vss-disabled-by-gpo")
    assert execute(m, Op("service.policy")).value == [{"name": "VSS", "start_mode": "Disabled"}]
    assert execute(m, Op("service.set_start_mode", {"name": "VSS", "start_mode": "Manual"})).ok
    assert execute(m, Op("host.reboot", {"reason": "test"})).ok
    assert m.state["services"]["VSS"]["start_mode"] == "Disabled"
