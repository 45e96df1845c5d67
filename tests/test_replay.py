"""The replay harness: every PC recorded with ``wbplay doctor --record`` is a regression test.

Each folder under tests/replay/ holds one recorded PC (see wbplay.hosts.recording).  Every
recorded agent run must still decode with today's engine, give the verdict it gave when it
was recorded, and feed every probe that reads its op.  Record a real PC with
``wbplay doctor --host H --record tests/replay/<name>`` and it is tested from then on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wbplay.errors import AgentError
from wbplay.hosts.agent_runner import RawOutput, interpret
from wbplay.vocab.probe_catalog import PROBES

REPLAY = Path(__file__).resolve().parent / "replay"


def recorded_pcs() -> list[Path]:
    return sorted(p for p in REPLAY.iterdir() if p.is_dir() and (p / "doctor.json").is_file())


def replay(directory: Path) -> list[str]:
    """What no longer holds for the PC recorded in ``directory`` (empty: all of it)."""
    problems: list[str] = []
    runs = sorted(directory.glob("[0-9][0-9]-*.json"))
    if not runs:
        return [f"{directory.name}: no recorded runs"]
    for path in runs:
        doc = json.loads(path.read_text(encoding="ascii"))
        raw = RawOutput(doc["stdout"].encode("utf-8"), doc["stderr"].encode("utf-8"), doc["exit_code"])
        try:
            result = interpret(raw, 1, where=directory.name)[0]
        except AgentError as e:
            if doc["verdict"] != "FAIL":
                problems.append(f"{path.name}: recorded {doc['verdict']}, now undecodable: {e}")
            continue
        verdict = "PASS" if result.ok else "FAIL"
        if verdict != doc["verdict"]:
            problems.append(f"{path.name}: recorded {doc['verdict']}, now {verdict}")
        if not result.ok:
            continue
        for spec in PROBES.values():
            if spec.op == doc["op"] and spec.join is None and not spec.extra:
                try:
                    spec.pick(result.value)
                except (KeyError, TypeError, ValueError, AttributeError) as e:
                    problems.append(f"{path.name}: probe {spec.kind} cannot read it: {e!r}")
    return problems


def test_there_is_a_recorded_pc() -> None:
    assert recorded_pcs(), "tests/replay/ holds no recorded PC"


@pytest.mark.parametrize("directory", recorded_pcs(), ids=lambda p: p.name)
def test_recorded_pc_replays(directory: Path) -> None:
    assert replay(directory) == []


def test_the_harness_catches_a_changed_verdict(tmp_path: Path) -> None:
    source = recorded_pcs()[0]
    for path in source.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="ascii"), encoding="ascii")
    first = sorted(tmp_path.glob("[0-9][0-9]-*.json"))[0]
    doc = json.loads(first.read_text(encoding="ascii"))
    doc["verdict"] = "FAIL" if doc["verdict"] == "PASS" else "PASS"
    first.write_text(json.dumps(doc), encoding="ascii")
    assert any("recorded" in p for p in replay(tmp_path))
    doc["stdout"] = "no frame here"
    doc["verdict"] = "PASS"
    first.write_text(json.dumps(doc), encoding="ascii")
    assert any("undecodable" in p for p in replay(tmp_path))
