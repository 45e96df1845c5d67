"""The simulated Service Control Manager fails the way Windows does (docs/domain.md §1-2)."""

from __future__ import annotations

from wbplay.sim.backup import attempt_backup
from wbplay.sim.executor import execute
from wbplay.sim.state import load_host_model
from wbplay.vocab.ops import Op


def test_starting_a_disabled_service_fails_with_1058() -> None:
    m = load_host_model("pc42")
    r = execute(m, Op("service.start", {"name": "wbengine"}))
    assert not r.ok and r.error is not None
    assert r.error.code == 1058 and r.error.hresult == "0x80070422"
    assert m.service("wbengine")["state"] == "Stopped"


def test_a_dependency_that_cannot_start_fails_the_dependent_with_1068() -> None:
    m = load_host_model("win10-healthy")
    m.service("SENS")["state"] = "Stopped"
    m.service("EventSystem").update(state="Stopped", start_mode="Disabled")
    r = execute(m, Op("service.start", {"name": "SENS"}))
    assert r.error is not None and r.error.code == 1068
    assert m.service("SENS")["state"] == "Stopped"


def test_starting_a_service_starts_its_dependencies_first() -> None:
    m = load_host_model("win10-healthy")
    m.service("SENS")["state"] = "Stopped"
    m.service("EventSystem")["state"] = "Stopped"
    assert execute(m, Op("service.start", {"name": "sens"})).ok  # names are case-insensitive
    assert m.service("EventSystem")["state"] == "Running"


def test_stopping_a_service_with_running_dependents_fails_with_1051() -> None:
    m = load_host_model("win10-healthy")
    r = execute(m, Op("service.stop", {"name": "EventSystem"}))
    assert r.error is not None and r.error.code == 1051


def test_missing_service_is_1060_and_reads_as_none() -> None:
    m = load_host_model("win10-healthy")
    assert execute(m, Op("service.get", {"name": "nope"})).value is None
    assert execute(m, Op("service.start", {"name": "nope"})).error.code == 1060  # type: ignore[union-attr]


def test_start_mode_lives_in_the_registry_like_windows() -> None:
    m = load_host_model("pc42")
    key = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\wbengine"
    r = execute(m, Op("registry.get", {"key": key, "name": "Start"}))
    assert r.value == {"exists": True, "type": "REG_DWORD", "value": 4}
    assert execute(m, Op("registry.set", {"key": key, "name": "Start", "type": "REG_DWORD", "value": 3})).ok
    assert m.service("wbengine")["start_mode"] == "Manual"


def test_backup_outcome_is_derived_from_state() -> None:
    m = load_host_model("pc42")
    outcome = attempt_backup(m)
    assert not outcome.ok and outcome.hresult == "0x80070422"
    assert m.service("EventSystem")["state"] == "Running"  # the attempt ran on a copy
    for name in ("wbengine", "SDRSVC", "VSS", "swprv"):
        m.service(name)["start_mode"] = "Manual"
    assert attempt_backup(m).ok
    assert attempt_backup(load_host_model("win11-healthy")).ok


def test_rename_moves_the_whole_tree_and_refuses_to_overwrite() -> None:
    m = load_host_model("pc42")
    r = execute(
        m, Op("path.rename", {"path": "E:\\WindowsImageBackup", "new_name": "WindowsImageBackup.old"})
    )
    assert r.ok
    assert m.file_key("E:\\WindowsImageBackup.old\\PC42") is not None
    assert m.file_key("E:\\WindowsImageBackup") is None
    m.state["files"]["E:\\x"] = {"kind": "directory"}
    clash = execute(m, Op("path.rename", {"path": "E:\\x", "new_name": "WindowsImageBackup.old"}))
    assert clash.error is not None and clash.error.code == 183


def test_path_and_registry_answers_match_the_agent() -> None:
    """The simulator answers edge cases with the same codes as agent.ps1 (see its path/registry ops)."""
    m = load_host_model("pc42")
    assert execute(m, Op("path.get", {"path": "relative\\x"})).error.code == 161  # type: ignore[union-attr]
    assert execute(m, Op("path.delete", {"path": "E:\\"})).error.code == 87  # type: ignore[union-attr]
    bad_name = execute(m, Op("path.rename", {"path": "E:\\WindowsImageBackup", "new_name": "a\\b"}))
    assert bad_name.error is not None and bad_name.error.code == 123
    m.state["files"]["C:\\x.txt"] = {"kind": "file", "size": 3}
    assert execute(m, Op("path.list", {"path": "C:\\x.txt"})).error.code == 267  # type: ignore[union-attr]
    assert execute(m, Op("path.get", {"path": "C:\\Windows"})).value["size"] is None
    assert execute(m, Op("registry.delete", {"key": "HKLM\\SOFTWARE\\Nope", "name": "x"})).ok
    assert execute(m, Op("os.info")).value["arch"] == "x64"


def test_event_fields_arrive_as_text_like_the_event_xml() -> None:
    m = load_host_model("pc42")
    m.state["events"].append(
        {
            "log": "Application",
            "provider": "Microsoft-Windows-Backup",
            "id": 5,
            "level": "Error",
            "time": "2013-03-19T22:00:00Z",
            "fields": {"HRESULT": 2155348129, "SystemStateBackup": False},
        }
    )
    fields = execute(m, Op("events.query", {"provider": "Microsoft-Windows-Backup"})).value[0]["fields"]
    assert fields == {"HRESULT": "2155348129", "SystemStateBackup": "false"}
