"""A torn or corrupted journal never stops `wbplay rollback` (issue 11 item 2, issue 18 item 5),
and journal retention (`wbplay runs --prune`, issue 11 item 5)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.run import journal
from wbplay.sim.model import HostModel
from wbplay.sim.state import read_state

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, list(args))


def real_run(state: Path) -> str:
    r = cli("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert r.exit_code == 0, r.output
    return r.output.split("runs/")[1].split(".jsonl")[0]


def rewrite(run_id: str, edit) -> Path:
    path = journal.find(run_id)
    lines = path.read_bytes().split(b"\n")[:-1]
    path.write_bytes(edit(lines))
    return path


def line_of(lines: list[bytes], event: str, step: str | None = None) -> int:
    for i, raw in enumerate(lines):
        rec = json.loads(raw)
        if rec["event"] == event and (step is None or rec.get("step") == step):
            return i
    raise AssertionError(event)


def kill_after(event: str, step: str):
    """The journal of a run killed right after writing ``event`` of ``step`` (and its last line torn)."""

    def edit(lines: list[bytes]) -> bytes:
        n = line_of(lines, event, step)
        kept = lines[: n + 1]
        nxt = lines[n + 1]
        return b"\n".join(kept) + b"\n" + nxt[: len(nxt) // 2]  # the next record, cut mid-write

    return edit


def test_a_torn_last_line_is_reported_and_everything_else_is_undone(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    run_id = real_run(state)
    # Killed while writing the intent after swprv's verify: sdrsvc and wbengine never changed on this journal.
    rewrite(run_id, kill_after("step.verify", "swprv-not-disabled"))
    model = HostModel(read_state(state))
    for name in ("SDRSVC", "wbengine"):  # the PC matches the journal: those changes were never made
        model.service(name)["start_mode"] = "Disabled"
    from wbplay.sim.state import save_state

    save_state(state, model.state)
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 0, r.output
    assert (
        "SKIPPED" in r.output
        and "cut mid-write" in r.output
        and "nothing it would have announced" in r.output
    )
    assert read_state(state) == original
    # The rollback's records start on a line of their own: the torn line is still the only damage.
    found = journal.load(run_id)
    assert len(found.damage) == 1 and found.records[-1]["event"] == "rollback.end"


def test_a_missing_done_is_settled_by_re_reading_the_pc(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    run_id = real_run(state)

    def drop_done(lines: list[bytes]) -> bytes:
        return b"\n".join(x for x in lines if b'"change.done"' not in x and b'"step.verify"' not in x) + b"\n"

    rewrite(run_id, drop_done)
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 0, r.output
    assert read_state(state) == original


def test_a_garbage_line_that_could_hide_a_change_is_named_and_needs_attention(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)

    def garble(lines: list[bytes]) -> bytes:
        n = line_of(lines, "change.intent", "vss-not-disabled")
        lines[n] = b"\x00\x17garbage{{{"
        lines.insert(n + 1, b'[1, 2, "a JSON array is not a record"]')
        return b"\n".join(lines) + b"\n"

    path = rewrite(run_id, garble)
    bad_line = next(i for i, x in enumerate(path.read_bytes().split(b"\n"), 1) if x.startswith(b"\x00"))
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 5, r.output
    assert f"line {bad_line}" in r.output and "check that step by hand" in r.output
    assert f"line {bad_line + 1}: not a journal record" in r.output
    assert f"damaged line {bad_line}" in cli("log", run_id).output
    model = HostModel(read_state(state))
    assert model.service("wbengine")["start_mode"] == "Disabled"  # everything it could prove was undone
    assert model.service("VSS")["start_mode"] == "Manual"  # the unreadable one is left, and said so


def test_harmless_damage_is_reported_but_does_not_need_attention(state_file) -> None:
    state = state_file("pc42")
    original = read_state(state)
    run_id = real_run(state)

    def garble(lines: list[bytes]) -> bytes:
        # Damaged lines that still show they announced no change.
        n, m = line_of(lines, "host.facts"), line_of(lines, "step.check", "vss-not-disabled")
        lines[n] = lines[n][:-20] + b"\xff\xfe" + lines[n][-18:]
        lines[m] = lines[m][: len(lines[m]) // 2]
        return b"\n".join(lines) + b"\n"

    rewrite(run_id, garble)
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 0, r.output
    assert "not UTF-8" in r.output and "not a JSON record" in r.output and "rollback re-reads" in r.output
    assert read_state(state) == original


def test_an_intent_without_a_step_is_skipped_and_named(state_file) -> None:
    state = state_file("pc42")
    run_id = real_run(state)

    def strip_step(lines: list[bytes]) -> bytes:
        n = line_of(lines, "change.intent", "wbengine-not-disabled")
        rec = json.loads(lines[n])
        del rec["step"]
        lines[n] = json.dumps(rec).encode()
        return b"\n".join(lines) + b"\n"

    rewrite(run_id, strip_step)
    r = cli("rollback", run_id, "--yes")
    assert r.exit_code == 5, r.output
    assert "a change.intent without a step" in r.output
    assert HostModel(read_state(state)).service("VSS")["start_mode"] == "Disabled"


def test_unreadable_journals_exit_2_and_name_the_file(wbplay_home: Path) -> None:
    runs = wbplay_home / "runs"
    runs.mkdir(parents=True)
    cases = {"empty": b"", "torn-first": b'{"ts": "2026-01-01T00:00:00Z", "event": "run.st'}
    for name, data in cases.items():
        (runs / f"{name}.jsonl").write_bytes(data)
        r = cli("rollback", name, "--yes")
        assert r.exit_code == 2, r.output
        assert f"{name}.jsonl" in r.output and "Traceback" not in r.output
        assert cli("log", name).exit_code == 2


# -- retention -------------------------------------------------------------------------------------
def _journal(runs: Path, name: str, days_ago: int, *events: dict) -> Path:
    ts = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")
    lines = [json.dumps({"ts": ts, "run": name, "seq": i, **e}) for i, e in enumerate(events, 1)]
    path = runs / f"{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


START = {"event": "run.start", "playbook": {"id": "p"}, "host": "h", "mode": "apply"}


def test_prune_deletes_only_old_runs_that_ended_or_were_rolled_back(wbplay_home: Path) -> None:
    runs = wbplay_home / "runs"
    runs.mkdir(parents=True)
    ended = _journal(runs, "old-ended", 120, START, {"event": "run.end", "outcome": "fixed", "exit_code": 0})
    rolled = _journal(
        runs,
        "old-rolled-back",
        120,
        START,
        {"event": "run.end", "outcome": "interrupted", "exit_code": 130},
        {"event": "rollback.end", "undone": ["a"], "failed": [], "left": []},
    )
    killed = _journal(runs, "old-killed", 120, START, {"event": "change.intent", "step": "a"})
    attention = _journal(
        runs, "old-attention", 120, START, {"event": "run.end", "outcome": "failed", "exit_code": 5}
    )
    incomplete = _journal(
        runs,
        "old-incomplete",
        120,
        START,
        {"event": "rollback.end", "undone": [], "failed": [], "left": ["a"]},
    )
    recent = _journal(runs, "recent", 10, START, {"event": "run.end", "outcome": "fixed", "exit_code": 0})
    damaged = _journal(
        runs, "old-damaged", 120, START, {"event": "run.end", "outcome": "fixed", "exit_code": 0}
    )
    with damaged.open("a") as f:
        f.write("garbage\n")
    r = cli("runs", "--prune", "--older-than", "90d")
    assert r.exit_code == 0, r.output
    assert not ended.exists() and not rolled.exists()
    for kept in (killed, attention, incomplete, recent, damaged):
        assert kept.exists(), kept
    assert "kept    old-killed" in r.output and "2 journal(s) deleted" in r.output


def test_prune_needs_an_age() -> None:
    assert cli("runs", "--prune").exit_code == 2
    assert cli("runs", "--prune", "--older-than", "ninety").exit_code == 2


def test_the_readme_says_where_journals_live_and_how_to_prune() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "$WBPLAY_HOME/runs" in readme and "wbplay runs --prune --older-than 90d" in readme
