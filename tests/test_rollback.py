"""Rollback and the journal's truth (issues 11, 14, 15, 18), through the CLI on simulated PCs.

Each test names the promise it holds: a damaged journal never stops a rollback;
an undo that is itself irreversible needs consent; a value changed since the run
is a conflict, left unless --force; rollback refuses a different PC; the journal's
sequence numbers, secrets and listings tell the truth.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.hosts.sim import SimHost
from wbplay.playbook.model import Action, Probe, Risk
from wbplay.run import identity, journal, rollback
from wbplay.run.journal import Journal, is_secret_name
from wbplay.run.recorded import RecordedChange
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_names, builtin_path, read_state, save_state
from wbplay.vocab import actions

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def real_run(state: Path, book: str = "fix-0x80070422", *extra: str) -> str:
    r = cli("run", book, "--host", f"sim:{state}", "--yes", *extra)
    assert "runs/" in r.output, r.output
    return r.output.split("runs/")[1].split(".jsonl")[0]


def lines_of(run_id: str) -> list[str]:
    return journal.find(run_id).read_text(encoding="utf-8").splitlines()


def start_mode(state: Path, name: str) -> str:
    return HostModel(read_state(state)).service(name)["start_mode"]


def set_start_mode(state: Path, name: str, mode: str) -> None:
    data = read_state(state)
    for key, svc in data["services"].items():
        if key.lower() == name.lower():
            svc["start_mode"] = mode
    save_state(state, data)


# -- identity ---------------------------------------------------------------------------------
def test_every_shipped_simulated_pc_has_its_own_machine_guid() -> None:
    guids = {}
    for name in builtin_names():
        pc, _ = identity.read(SimHost(builtin_path(name), read_only=True))
        assert pc.machine_guid, name
        guids[name] = pc.machine_guid.lower()
    assert len(set(guids.values())) == len(guids), guids


def test_the_journal_records_the_pc_identity_and_rollback_refuses_another_pc(state_file) -> None:
    state, other = state_file("pc42"), state_file("win10-healthy")
    run_id = real_run(state)
    rec = next(json.loads(x) for x in lines_of(run_id) if '"host.identity"' in x)
    assert rec["hostname"] == "PC42" and rec["machine_guid"]
    before_other = other.read_bytes()
    r = cli("rollback", run_id, "--yes", "--host", f"sim:{other}")
    assert r.exit_code == 2, r.output
    assert "PC42" in r.output and "WIN10-OK" in r.output and str(journal.find(run_id)) in r.output
    assert rec["machine_guid"] in r.output
    assert other.read_bytes() == before_other
    assert not any('"rollback.start"' in x for x in lines_of(run_id))


def test_an_edited_journal_host_does_not_roll_back_a_different_pc(state_file) -> None:
    state, other = state_file("pc42"), state_file("srv2019-wbengine-disabled")
    run_id = real_run(state)
    path = journal.find(run_id)
    path.write_text(path.read_text().replace(f"sim:{state}", f"sim:{other}"), encoding="utf-8")
    before_other = other.read_bytes()
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 2, r.output
    assert "refusing to roll back a different PC" in r.output
    assert other.read_bytes() == before_other


def test_a_journal_without_identity_is_refused_unless_forced(state_file, wbplay_home: Path) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    path = journal.find(run_id)
    path.write_text("\n".join(x for x in lines_of(run_id) if '"host.identity"' not in x) + "\n")
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 2 and "does not record which PC" in r.output, r.output
    assert start_mode(state, "wbengine") == "Manual"
    assert cli("rollback", run_id, "--yes", "--force").exit_code == 0
    assert start_mode(state, "wbengine") == "Disabled"


# -- confirmation, dry-run, records (issue 14) ---------------------------------------------------
def test_rollback_without_a_terminal_or_yes_changes_nothing(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    after_run, journal_before = state.read_bytes(), journal.find(run_id).read_bytes()
    r = cli("rollback", run_id)
    assert r.exit_code == 1, r.output
    assert "UNDO" in r.output and "wbengine-not-disabled" in r.output  # it shows what it would undo
    assert "nothing was changed" in r.output and "--yes" in r.output
    assert state.read_bytes() == after_run
    assert journal.find(run_id).read_bytes() == journal_before


def test_rollback_dry_run_shows_the_plan_and_changes_nothing(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    after_run, journal_before = state.read_bytes(), journal.find(run_id).read_bytes()
    r = cli("rollback", run_id, "--dry-run", "--yes")
    assert r.exit_code == 1, r.output
    assert "would change wbengine start mode: Manual → Disabled" in r.output
    assert state.read_bytes() == after_run and journal.find(run_id).read_bytes() == journal_before


def test_rollback_of_a_run_already_rolled_back_says_so_and_exits_0(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    assert cli("rollback", run_id, "--yes").exit_code == 0
    again = cli("rollback", run_id, "--yes")
    assert again.exit_code == 0, again.output
    assert "already rolled back" in again.output


def test_runs_lists_one_line_per_run_newest_first_with_filters(state_file) -> None:
    pc42, win7 = state_file("pc42"), state_file("win7-system-reserved-full")
    first = real_run(pc42)
    second = real_run(win7, "fix-shadow-storage")
    third = real_run(pc42, "fix-0x80070422", "--dry-run")
    assert cli("rollback", first, "--yes").exit_code == 0
    listed = cli("runs")
    assert listed.exit_code == 0
    lines = [x for x in listed.output.splitlines() if x.strip()]
    assert len(lines) == 3
    ids = [x.split()[0] for x in lines]
    assert ids == [third, second, first]  # full ids, newest first
    assert "rolled back" in next(x for x in lines if x.startswith(first))
    assert "rolled back" not in next(x for x in lines if x.startswith(second))
    assert cli("runs", "--limit", "1").output.split()[0] == ids[0]
    only = cli("runs", "--playbook", "fix-shadow-storage").output.splitlines()
    assert [x.split()[0] for x in only if x.strip()] == [second]
    by_host = cli("runs", "--host", "win7-system").output.splitlines()
    assert [x.split()[0] for x in by_host if x.strip()] == [second]


# -- conflicts: rollback never undoes someone else's change (11.4 = 18.4) --------------------------
def test_a_value_changed_since_the_run_is_a_conflict_left_unless_forced(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    set_start_mode(state, "wbengine", "Automatic")  # a colleague changed it since
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 5, r.output
    assert "CONFLICT" in r.output and "wbengine-not-disabled" in r.output and "--force" in r.output
    assert start_mode(state, "wbengine") == "Automatic"
    assert start_mode(state, "VSS") == "Disabled"  # the other changes were undone
    forced = cli("rollback", run_id, "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert start_mode(state, "wbengine") == "Disabled"


def test_another_run_on_the_same_pc_that_changed_the_same_value_is_a_conflict(state_file) -> None:
    """Two runs at once: both set wbengine to Manual; rolling back the first must not undo the second."""
    state = state_file("pc42")
    run_a = real_run(state)
    records = [json.loads(x) for x in lines_of(run_a)]
    pc = next(r for r in records if r["event"] == "host.identity")
    intent = next(
        r for r in records if r["event"] == "change.intent" and r["step"] == "wbengine-not-disabled"
    )
    b = Journal("20991231T000000Z-other-run", journal.find(run_a).parent)
    b.append(
        "run.start", playbook={"id": "fix-0x80070422"}, host="sim", host_spec=f"sim:{state}", mode="apply"
    )
    b.append("host.identity", hostname=pc["hostname"], machine_guid=pc["machine_guid"])
    fields = {k: v for k, v in intent.items() if k not in ("ts", "run", "seq", "event")}
    b.append("change.intent", **fields)
    b.append("change.done", step=intent["step"])
    b.close()
    r = cli("rollback", run_a, "--yes")
    assert r.exit_code == 5, r.output
    assert "20991231T000000Z-other-run" in r.output
    assert start_mode(state, "wbengine") == "Manual"
    assert start_mode(state, "VSS") == "Disabled"


# -- consent for undos that are themselves irreversible (11.3) ------------------------------------
def test_undoing_a_grown_shadow_storage_needs_consent(state_file) -> None:
    state = state_file("srv2019-shadowstorage-small")
    run_id = real_run(state, "fix-shadow-storage")
    assert read_state(state)["shadow_storage"][0]["max_mb"] == 1024
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 5, r.output
    assert "CONSENT" in r.output and "--allow windows-volume-grow-storage" in r.output
    assert read_state(state)["shadow_storage"][0]["max_mb"] == 1024  # reported and left
    typo = cli("rollback", run_id, "--yes", "--allow", "windows-volume-grow")
    assert typo.exit_code == 2 and "windows-volume-grow" in typo.output, typo.output
    ok = cli("rollback", run_id, "--yes", "--allow", "windows-volume-grow-storage")
    assert ok.exit_code == 0, ok.output
    assert read_state(state)["shadow_storage"][0]["max_mb"] == 300


GROW_THEN_FAIL = r"""
id: grow-then-fail
title: Grow C:'s shadow storage, then a change that fails (test)
description: The second change fails, so the first is rolled back automatically.
applies_to: {error_codes: ["0x80780119"]}
references: ["tests"]
steps:
  - id: grow
    title: "C: shadow storage grown"
    why: A test step, written to exercise rollback only.
    check: {kind: shadowstorage.room, volume: "@boot", storage_volume: "@boot", field: fix}
    expect: {not: {equals: resize}}
    remedy: {kind: shadowstorage.resize, for_volume: "@boot", on_volume: "@boot", max_size_mb: 1024}
    verify:
      check: {kind: shadowstorage.room, volume: "@boot", field: ok}
      expect: {equals: true}
  - id: marker
    title: a registry marker
    why: A test step, written to exercise rollback only.
    check: {kind: registry.entry, key: 'HKLM\SOFTWARE\wbplay-test', name: Marker, field: exists}
    expect: {equals: true}
    remedy: {kind: registry.set, key: 'HKLM\SOFTWARE\wbplay-test', name: Marker, type: REG_SZ, value: x}
"""


@pytest.mark.parametrize(("allow", "code", "max_mb"), [((), 5, 1024), (("--allow", "grow"), 3, 300)])
def test_automatic_rollback_asks_the_same_consent(state_file, tmp_path: Path, allow, code, max_mb) -> None:
    from wbplay import app as app_mod
    from wbplay.hosts.factory import ConnectOptions

    book = tmp_path / "grow.yml"
    book.write_text(textwrap.dedent(GROW_THEN_FAIL), encoding="utf-8")
    state = state_file("srv2019-shadowstorage-small")
    req = app_mod.RunRequest(
        str(book),
        f"sim:{state}",
        False,
        {},
        allow=frozenset(a for a in allow if a != "--allow"),
        connect=ConnectOptions(fail_write=2),
    )
    report, path = app_mod.run(req, listener=_Quiet(), confirm=lambda r: True)
    assert int(report.exit_code) == code, report.outcome
    assert read_state(state)["shadow_storage"][0]["max_mb"] == max_mb
    if code == 5:
        assert report.rollback_failed == ["grow"]
        left = [json.loads(x) for x in path.read_text().splitlines() if '"undo.left"' in x]
        assert left and left[0]["reason"] == "needs-consent" and "--allow grow" in left[0]["detail"]


class _Quiet:
    def event(self, name: str, fields: Any) -> None:
        pass


def _change(kind: str, args: dict[str, Any], before: Any) -> RecordedChange:
    action = Action(kind, args)
    inverse = actions.inverse(action, before)
    return RecordedChange("s", action, before, actions.before_probe(action), inverse, done="T")


# Every remedy kind with a derived undo: (args, before, what it leaves, is undoing it irreversible).
KINDS: dict[str, tuple[dict[str, Any], Any, Any, bool]] = {
    "service.set_start_mode": ({"name": "x", "start_mode": "Manual"}, "Disabled", "Manual", False),
    "service.start": ({"name": "x"}, "Stopped", "Running", False),
    "service.stop": ({"name": "x"}, "Running", "Stopped", False),
    "service.restart": ({"name": "x"}, "Stopped", "Running", False),
    "registry.set": (
        {"key": "HKLM\\k", "name": "n", "type": "REG_SZ", "value": "b"},
        {"exists": True, "type": "REG_SZ", "value": "a"},
        {"exists": True, "type": "REG_SZ", "value": "b"},
        False,
    ),
    "registry.delete": (
        {"key": "HKLM\\k", "name": "n"},
        {"exists": True, "type": "REG_SZ", "value": "a"},
        {"exists": False, "type": None, "value": None},
        False,
    ),
    "path.rename": ({"path": "E:\\a", "new_name": "b"}, {"exists": True}, {"exists": False}, False),
    "shadowstorage.add": ({"for_volume": "C:", "on_volume": "D:", "max_size_mb": 1024}, None, 1024, True),
    "shadowstorage.resize": ({"for_volume": "C:", "on_volume": "C:", "max_size_mb": 1024}, 300, 1024, True),
    "shadowstorage.delete": ({"for_volume": "C:", "on_volume": "C:"}, 300, None, False),
    "winre.enable": ({}, False, True, False),
    "winre.disable": ({}, True, False, False),
}


def test_every_kind_with_an_undo_is_in_the_table() -> None:
    with_undo = {k for k, spec in actions.ACTIONS.items() if spec.inverse is not None}
    assert with_undo == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_derived_undo_needs_consent_exactly_when_it_is_irreversible(kind: str) -> None:
    args, before, after, irreversible = KINDS[kind]
    change = _change(kind, args, before)
    assert change.inverse is not None
    read = (True, after, "")
    d = rollback.decide(change, read, rollback.UndoPolicy())
    assert d.status == ("needs-consent" if irreversible else "undo"), d.detail
    spec = actions.ACTIONS[change.inverse.kind]
    assert (actions.risk_of(change.inverse, after, spec.risk) == Risk.IRREVERSIBLE) is irreversible
    consented = rollback.decide(change, read, rollback.UndoPolicy(allow=frozenset({"s"})))
    assert consented.status == "undo"
    # Someone changed it since: a conflict, whatever the kind, unless forced.
    assert rollback.decide(
        _change(kind, args, before), (True, "other", ""), rollback.UndoPolicy()
    ).status == ("conflict")


def test_a_killed_run_without_a_recorded_after_is_judged_from_its_action() -> None:
    change = RecordedChange(
        "s",
        Action("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"}),
        "Disabled",
        Probe("service.start_mode", {"name": "wbengine"}),
        Action("service.set_start_mode", {"name": "wbengine", "start_mode": "Disabled"}),
    )
    assert rollback.decide(change, (True, "Manual", ""), rollback.UndoPolicy()).status == "undo"
    assert rollback.decide(change, (True, "Disabled", ""), rollback.UndoPolicy()).status == "not-applied"
    assert rollback.decide(change, (True, "Automatic", ""), rollback.UndoPolicy()).status == "conflict"


# -- the audit trail (15.5) ------------------------------------------------------------------------
DELETE_BOOK = """\
id: quarantine-test
title: Delete an old backup set (test)
description: Deletes E:\\WindowsImageBackup when it exists; irreversible.
applies_to: {error_codes: ["0x80780166"]}
references: ["tests"]
vars:
  allow_delete: {type: boolean, description: consent to delete, default: false}
steps:
  - id: delete-old-set
    title: "No old backup set on E:"
    why: A test step, written to exercise rollback only.
    check: {kind: path.exists, path: 'E:\\WindowsImageBackup'}
    expect: {equals: false}
    remedy: {kind: path.delete, path: 'E:\\WindowsImageBackup'}
    opt_in: allow_delete
"""


def test_an_irreversible_step_that_ran_is_listed_as_ran_at_t(state_file, tmp_path: Path) -> None:
    book = tmp_path / "delete.yml"
    book.write_text(DELETE_BOOK, encoding="utf-8")
    state = state_file("pc42")
    run_id = real_run(state, str(book), "--allow", "delete-old-set")
    done = next(json.loads(x) for x in lines_of(run_id) if '"change.done"' in x)
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 5, r.output
    line = next(x for x in r.output.splitlines() if "delete-old-set" in x and "RAN" in x)
    assert f"ran at {done['ts']}, cannot be undone" in line
    assert "UNDONE" not in r.output and "nothing to undo" not in r.output


def test_a_rollback_whose_only_irreversible_entry_is_a_reboot_exits_0(state_file, tmp_path: Path) -> None:
    state = state_file("pc42")
    pc, _ = identity.read(SimHost(state, read_only=True))
    j = Journal("reboot-run", tmp_path / "runs")
    j.append("run.start", playbook={"id": "x"}, host="sim", host_spec=f"sim:{state}", mode="apply")
    j.append("host.identity", **pc.to_record())
    j.append(
        "change.intent",
        step="restart",
        action={"kind": "host.reboot", "reason": "test"},
        before="2000-01-01T00:00:00Z",
        before_probe={"kind": "os.info", "args": {}, "field": "boot_time"},
        inverse=None,
    )
    j.append("change.done", step="restart")
    j.close()
    from wbplay import app as app_mod

    result = app_mod.rollback_run("reboot-run", host_spec=None, listener=_Quiet(), runs_dir=tmp_path / "runs")
    assert result.exit_code == 0, result
    assert [o.status for o in result.outcomes] == ["ran"]
    assert "nothing to restore" in result.outcomes[0].detail


def test_sequence_numbers_continue_when_rollback_appends(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)
    assert cli("rollback", run_id, "--yes").exit_code == 0
    seqs = [json.loads(x)["seq"] for x in lines_of(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert '"rollback.end"' in lines_of(run_id)[-1]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("WBPLAY_PASSWORD", True),
        ("client_secret", True),
        ("apiToken", True),
        ("credential", True),
        ("private_key", True),
        ("cert_key_pem", True),
        ("api_key", True),
        ("max_passes", False),
        ("passes", False),
        ("key", False),  # a registry key path
        ("keyboard", False),
        ("tokens_used_mb", False),
        ("secretary", False),
    ],
)
def test_secret_names_are_matched_exactly(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_an_ordinary_variable_reaches_the_journal_unmasked(tmp_path: Path) -> None:
    j = Journal("mask", tmp_path)
    j.append("run.start", variables={"max_passes": 3, "password": "hunter2"}, action={"key": "HKLM\\x"})
    j.close()
    rec = json.loads((tmp_path / "mask.jsonl").read_text())
    assert rec["variables"] == {"max_passes": 3, "password": "***"}
    assert rec["action"] == {"key": "HKLM\\x"}


def test_a_change_that_failed_before_it_was_applied_is_not_listed_as_rolled_back(state_file) -> None:
    from wbplay import app as app_mod
    from wbplay.hosts.factory import ConnectOptions

    state = state_file("pc42")
    original = read_state(state)
    req = app_mod.RunRequest(
        "fix-0x80070422", f"sim:{state}", False, {}, rollback=False, connect=ConnectOptions(fail_write=3)
    )
    report, path = app_mod.run(req, listener=_Quiet(), confirm=lambda r: True)
    failed = next(s.id for s in report.steps if s.status == "failed")
    result = app_mod.rollback_run(report.run_id, host_spec=None, listener=_Quiet())
    assert result.exit_code == 0 and read_state(state) == original
    by_step = {o.step_id: o for o in result.outcomes}
    assert by_step[failed].status == "not-applied"
    assert "failed before it was applied" in by_step[failed].detail
    end = json.loads(path.read_text().splitlines()[-1])
    assert end["event"] == "rollback.end"
    assert failed not in end["undone"] and end["not_applied"] == [failed] and len(end["undone"]) == 2
