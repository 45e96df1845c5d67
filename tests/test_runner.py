"""The runner on simulated PCs: dry-run, apply, verify, idempotence, rollback, consent."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from wbplay import app
from wbplay.errors import ExitCode, ReadOnlyHostError
from wbplay.hosts.factory import ConnectOptions
from wbplay.hosts.sim import SimHost
from wbplay.playbook import load as playbook
from wbplay.run import identity, journal
from wbplay.run.journal import Journal
from wbplay.run.options import Options
from wbplay.run.runner import Runner
from wbplay.sim.backup import attempt_backup
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state
from wbplay.vocab.ops import Op


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        self.events.append((name, dict(fields)))

    def names(self) -> list[str]:
        return [n for n, _ in self.events]


def run(state: Path, *, dry_run: bool, book: str = "fix-0x80070422", confirm: bool = True, **kw: Any):
    rec = Recorder()
    req = app.RunRequest(
        playbook=book,
        host=f"sim:{state}",
        dry_run=dry_run,
        variables=kw.pop("variables", {}),
        rollback=kw.pop("rollback", True),
        allow=frozenset(kw.pop("allow", ())),
        connect=ConnectOptions(fail_write=kw.pop("fail_write", None)),
    )
    report, path = app.run(req, listener=rec, confirm=lambda r: confirm)
    return report, path, rec


def statuses(report) -> dict[str, str]:
    return {s.id: s.status for s in report.steps}


def test_dry_run_reads_once_and_changes_nothing(state_file) -> None:
    state = state_file("pc42")
    before = state.read_bytes()
    pb = playbook.load(playbook.resolve("fix-0x80070422"))
    host = SimHost(state, read_only=True)
    rec = Recorder()
    j = Journal("t-dry", state.parent / "runs")
    report = Runner(
        pb,
        host,
        variables={"wbengine_start_mode": "Manual"},
        options=Options(dry_run=True),
        journal=j,
        listener=rec,
        confirm=lambda r: pytest.fail("dry-run must not ask"),
    ).run()
    assert host.round_trips == 1, "a dry-run is one batched read"
    assert state.read_bytes() == before
    assert report.exit_code == ExitCode.PENDING
    st = statuses(report)
    assert st["wbengine-not-disabled"] == "drift"
    assert st["rpcss-start-mode"] == "ok"
    plan = {f["step"]: f["description"] for n, f in rec.events if n == "step.plan"}
    assert plan["wbengine-not-disabled"] == "wbengine start mode: Disabled → Manual"
    assert plan["eventsystem-start-mode"] == "EventSystem start mode: Manual → Automatic"
    assert "change.intent" not in rec.names()


def test_read_only_host_refuses_writes(state_file) -> None:
    host = SimHost(state_file("pc42"), read_only=True)
    with pytest.raises(ReadOnlyHostError):
        host.apply(Op("service.set_start_mode", {"name": "wbengine", "start_mode": "Manual"}))


def test_run_fixes_pc42_then_backup_succeeds_and_second_run_is_a_no_op(state_file) -> None:
    state = state_file("pc42")
    assert attempt_backup(HostModel(read_state(state))).hresult == "0x80070422"

    report, _, _rec = run(state, dry_run=False)
    assert report.exit_code == ExitCode.OK, report.outcome
    fixed = [s for s, v in statuses(report).items() if v == "fixed"]
    assert sorted(fixed) == sorted(
        [
            "eventsystem-start-mode",
            "vss-not-disabled",
            "swprv-not-disabled",
            "sdrsvc-not-disabled",
            "wbengine-not-disabled",
        ]
    )
    assert all(s.verified for s in report.steps if s.status == "fixed")
    model = HostModel(read_state(state))
    assert attempt_backup(model).ok
    assert model.service("wbengine")["start_mode"] == "Manual"  # Windows' default, not the seed's Automatic
    assert model.service("EventSystem")["start_mode"] == "Automatic"

    after_first = state.read_bytes()
    report2, _, rec2 = run(state, dry_run=False)
    assert report2.exit_code == ExitCode.OK
    assert set(statuses(report2).values()) <= {"ok", "skipped"}
    assert "change.intent" not in rec2.names()
    assert state.read_bytes() == after_first


def test_variable_selects_the_seed_authors_choice(state_file) -> None:
    state = state_file("pc42")
    report, _, _ = run(state, dry_run=False, variables={"wbengine_start_mode": "Automatic"})
    assert report.exit_code == ExitCode.OK
    assert HostModel(read_state(state)).service("wbengine")["start_mode"] == "Automatic"


def test_healthy_pcs_get_no_changes(state_file) -> None:
    for name in ("win10-healthy", "win11-healthy"):
        state = state_file(name)
        before = state.read_bytes()
        report, _, rec = run(state, dry_run=False)
        assert report.exit_code == ExitCode.OK, name
        assert "change.intent" not in rec.names()
        assert state.read_bytes() == before


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_failure_at_step_k_rolls_back_to_exactly_the_prior_state(state_file, k: int) -> None:
    state = state_file("pc42")
    original = read_state(state)
    report, _path, rec = run(state, dry_run=False, fail_write=k)
    assert report.exit_code == ExitCode.ROLLED_BACK
    assert read_state(state) == original
    assert not report.rollback_failed
    undone = [f["step"] for n, f in rec.events if n == "undo.verify" and f["ok"]]
    assert len(undone) == k - 1
    # newest first
    intents = [f["step"] for n, f in rec.events if n == "change.intent"]
    assert undone == list(reversed(intents[: k - 1]))
    # The change that failed before it was applied is confirmed as such, never listed as rolled back.
    assert report.rolled_back == undone
    assert intents[k - 1] not in report.rolled_back
    skip = next(f for n, f in rec.events if n == "undo.skip" and f["step"] == intents[k - 1])
    assert "failed before it was applied" in skip["reason"]


def test_no_rollback_leaves_changes_and_says_so(state_file) -> None:
    state = state_file("pc42")
    report, _, rec = run(state, dry_run=False, fail_write=3, rollback=False)
    assert report.exit_code == ExitCode.NEEDS_ATTENTION
    assert "rollback.skipped" in rec.names()
    changed = HostModel(read_state(state))
    assert changed.service("EventSystem")["start_mode"] == "Automatic"


def test_declined_confirmation_changes_nothing(state_file) -> None:
    state = state_file("pc42")
    before = state.read_bytes()
    report, _, _rec = run(state, dry_run=False, confirm=False)
    assert report.exit_code == ExitCode.PENDING and report.outcome == "declined"
    assert state.read_bytes() == before


def test_journal_intent_precedes_change_and_carries_the_undo(state_file) -> None:
    state = state_file("pc42")
    _report, path, _ = run(state, dry_run=False)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    events = [r["event"] for r in records]
    assert events[0] == "run.start" and events[-1] == "run.end"
    first_intent = events.index("change.intent")
    assert events[first_intent + 1] == "change.done"
    intent = records[first_intent]
    assert intent["before"] == "Manual" and intent["step"] == "eventsystem-start-mode"
    assert intent["inverse"] == {
        "kind": "service.set_start_mode",
        "name": "EventSystem",
        "start_mode": "Manual",
    }
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))


def test_rollback_of_a_finished_run_restores_the_original(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    report, path, _ = run(state, dry_run=False)
    assert report.exit_code == ExitCode.OK
    result = app.rollback_run(report.run_id, host_spec=None, listener=Recorder(), runs_dir=path.parent)
    assert result.exit_code == ExitCode.OK
    assert {o.status for o in result.outcomes} == {"undone"}
    assert read_state(state) == original
    # A second rollback finds nothing left to undo.
    again = app.rollback_run(report.run_id, host_spec=None, listener=Recorder(), runs_dir=path.parent)
    assert again.outcomes == []


def test_rollback_of_a_run_killed_between_intent_and_write(state_file, tmp_path: Path) -> None:
    """An intent with no 'done' is confirmed as not applied instead of being undone blindly."""
    state = state_file("pc42")
    original = read_state(state)
    j = Journal("killed-run", tmp_path / "runs")
    j.append(
        "run.start", playbook={"id": "fix-0x80070422"}, host="sim", host_spec=f"sim:{state}", mode="apply"
    )
    j.append("host.identity", **identity.read(SimHost(state, read_only=True))[0].to_record())
    j.append(
        "change.intent",
        step="wbengine-not-disabled",
        action={"kind": "service.set_start_mode", "name": "wbengine", "start_mode": "Manual"},
        before="Disabled",
        before_probe={"kind": "service.start_mode", "args": {"name": "wbengine"}, "field": None},
        inverse={"kind": "service.set_start_mode", "name": "wbengine", "start_mode": "Disabled"},
    )
    j.close()
    result = app.rollback_run("killed", host_spec=None, listener=Recorder(), runs_dir=tmp_path / "runs")
    assert [o.status for o in result.outcomes] == ["not-applied"]
    assert read_state(state) == original
    assert journal.read("killed-run", tmp_path / "runs")[-1]["event"] == "rollback.end"


IRREVERSIBLE_BOOK = """\
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
    why: A stale WindowsImageBackup breaks new images (docs/domain.md §5 item 8).
    check: {kind: path.exists, path: 'E:\\WindowsImageBackup'}
    expect: {equals: false}
    remedy: {kind: path.delete, path: 'E:\\WindowsImageBackup'}
    opt_in: allow_delete
"""


def test_irreversible_step_is_blocked_without_consent(state_file, tmp_path: Path) -> None:
    book = tmp_path / "irrev.yml"
    book.write_text(textwrap.dedent(IRREVERSIBLE_BOOK), encoding="utf-8")
    state = state_file("pc42")
    before = state.read_bytes()
    report, _, _rec = run(state, dry_run=False, book=str(book))
    assert statuses(report) == {"delete-old-set": "blocked"}
    assert report.exit_code == ExitCode.PENDING
    assert state.read_bytes() == before
    assert "--var allow_delete=true" in report.steps[0].message

    report2, _, _ = run(state, dry_run=False, book=str(book), allow=["delete-old-set"])
    assert statuses(report2) == {"delete-old-set": "fixed"}
    assert HostModel(read_state(state)).file_key("E:\\WindowsImageBackup\\PC42") is None


def test_irreversible_step_runs_with_its_opt_in_variable(state_file, tmp_path: Path) -> None:
    book = tmp_path / "irrev.yml"
    book.write_text(textwrap.dedent(IRREVERSIBLE_BOOK), encoding="utf-8")
    state = state_file("pc42")
    report, _, rec = run(state, dry_run=False, book=str(book), variables={"allow_delete": "true"})
    assert report.exit_code == ExitCode.OK
    plan = next(f for n, f in rec.events if n == "step.plan")
    assert plan["undo"] is None and plan["risk"] == "irreversible"


def _broken_rpcss(state_file) -> Path:
    state = state_file("pc42")
    data = read_state(state)
    data["services"]["RpcSs"]["start_mode"] = "Manual"
    from wbplay.sim.state import save_state

    save_state(state, data)
    return state


def test_manual_step_without_a_terminal_refuses_before_any_change(state_file) -> None:
    state = _broken_rpcss(state_file)
    before = state.read_bytes()
    report, _, rec = run(state, dry_run=False)
    assert statuses(report)["rpcss-start-mode"] == "manual"
    assert report.exit_code == ExitCode.PENDING and "needs a human" in report.outcome
    refused = next(f for n, f in rec.events if n == "run.refused")
    assert refused["manual"] == ["rpcss-start-mode"]
    assert "change.intent" not in rec.names()
    assert state.read_bytes() == before


def test_skip_manual_leaves_it_pending_and_goes_on(state_file) -> None:
    state = _broken_rpcss(state_file)
    rec = Recorder()
    req = app.RunRequest("fix-0x80070422", f"sim:{state}", False, {}, skip_manual=True)
    report, _ = app.run(req, listener=rec, confirm=lambda r: True)
    assert statuses(report)["rpcss-start-mode"] == "manual"
    assert statuses(report)["wbengine-not-disabled"] == "fixed"
    assert report.exit_code == ExitCode.PENDING
    manual = [f for n, f in rec.events if n == "step.manual"]
    assert manual[0]["answer"] == "skipped (--skip-manual)"


def test_manual_step_asks_the_human_and_verifies_the_answer(state_file) -> None:
    state = _broken_rpcss(state_file)
    asked: list[str] = []
    holder: dict[str, SimHost] = {}

    def human(step, instruction: str) -> bool:
        asked.append(step.id)
        holder["host"].model.service("RpcSs")["start_mode"] = "Automatic"  # the human fixes it at the console
        return True

    pb = playbook.load(playbook.resolve("fix-0x80070422"))
    host = SimHost(state, read_only=False)
    holder["host"] = host
    rec = Recorder()
    report = Runner(
        pb,
        host,
        variables={"wbengine_start_mode": "Manual"},
        options=Options(dry_run=False),
        journal=Journal("t-manual", state.parent / "runs"),
        listener=rec,
        confirm=lambda r: True,
        ask_manual=human,
    ).run()
    assert asked == ["rpcss-start-mode"]
    assert statuses(report)["rpcss-start-mode"] == "fixed"
    assert [f["answer"] for n, f in rec.events if n == "step.manual"] == ["done"]


RESIZE_BOOK = """\
id: resize-test
title: Set C's shadow storage maximum (test)
description: Sets the shadow storage maximum of C to a given size.
applies_to: {error_codes: ["0x80780119"]}
references: ["tests"]
vars:
  size: {type: integer, description: new maximum in MB, default: 1000}
steps:
  - id: c-storage
    title: C's shadow storage maximum is the requested size
    why: Shrinking can delete shadow copies, growing is reversible (docs/domain.md §6).
    check: {kind: shadowstorage.max, for_volume: "C:", on_volume: "C:"}
    expect: {equals: "{{ size }}"}
    remedy: {kind: shadowstorage.resize, for_volume: "C:", on_volume: "C:", max_size_mb: "{{ size }}"}
"""


def test_a_shrinking_resize_is_irreversible_and_needs_consent(state_file, tmp_path: Path) -> None:
    book = tmp_path / "resize.yml"
    book.write_text(RESIZE_BOOK, encoding="utf-8")
    state = state_file("srv2019-shadowstorage-small")  # C: on C: at 300 MB
    before = state.read_bytes()
    shrink, _, rec = run(state, dry_run=False, book=str(book), variables={"size": "200"})
    assert statuses(shrink) == {"c-storage": "blocked"}
    assert "--allow c-storage" in shrink.steps[0].message
    plan = next(f for n, f in rec.events if n == "step.plan")
    assert plan["risk"] == "irreversible" and "a shrink" in plan["description"]
    assert state.read_bytes() == before

    grow, _, _ = run(state, dry_run=False, book=str(book), variables={"size": "1000"})
    assert statuses(grow) == {"c-storage": "fixed"}
    assert grow.steps[0].change is not None and grow.steps[0].change.risk == "reversible"
