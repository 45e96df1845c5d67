"""What a PC returns is data (issue 19): a simulated PC whose registry data, service display
name, event message, tool output and OS caption carry terminal control sequences, bidi
overrides, invisible characters and Markdown/HTML.  The console, the Markdown and the JUnit
show them escaped; the JSON keeps them exactly."""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from wbplay.cli import app, render_library
from wbplay.cli.console import ConsoleListener, summary
from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER
from wbplay.library.triage import Evidence, Match, TriageResult
from wbplay.run.results import RunReport, StepResult
from wbplay.safetext import is_hidden
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_path, read_state, save_state

ESC = "\x1b"
HOSTILE = (
    f"ok{ESC}[1A{ESC}[2KFAKE OK line "  # cursor up, erase line: fakes a line of the dry-run
    f"{ESC}[31mred{ESC}[0m {ESC}]8;;http://evil.example/{ESC}\\link{ESC}]8;;\x07 "  # SGR, OSC 8
    "\x9b2K \x85 \x00\x07\x08\r\x7f "  # C1 CSI, NEL, NUL, BEL, backspace, CR, DEL
    "\u202eevil\u202c \u2066iso\u2069 \u200b\ufeff "  # bidi override and isolate, zero-width, BOM
    "| fake | row |\n| x | y | `code` <b>bold</b> <!-- hidden --> [link](http://evil.example/) &#124;"
)
# What each sequence must look like wherever a person reads it.
SHOWN = [
    "\\x1b[1A\\x1b[2K", "\\x1b]8;;", "\\x9b2K", "\\x85", "\\x00\\x07\\x08", "\\u202e", "\\u2066", "\\u200b",
]  # fmt: skip

PLAYBOOK = """\
schema_version: 1
id: hostile-values
title: "What a PC returns is data"
description: Reads values a hostile PC controls and shows them in every output.
applies_to:
  os: [windows-7]
  error_codes: ["0x80070422"]
references: ["issue 19"]
steps:
  - id: registry-note
    title: A registry value
    why: Its data is shown as observed and as the before-state of the change.
    check: {kind: registry.value, key: 'HKLM\\SOFTWARE\\Contoso', name: Note}
    expect: {equals: clean}
    remedy: {kind: registry.set, key: 'HKLM\\SOFTWARE\\Contoso', name: Note, type: REG_SZ, value: clean}
  - id: service-display-name
    title: A service's display name
    why: The display name is shown as observed.
    check: {kind: service, name: wbengine, field: display_name}
    expect: {equals: Block Level Backup Engine Service}
  - id: backup-events
    title: Backup failure events
    why: The event message is shown as observed.
    check: {kind: backup.errors}
    expect: {equals: []}
  - id: chkdsk-output
    title: chkdsk's output
    why: chkdsk prints the volume label; its output is streamed to the console.
    check: {kind: chkdsk.scan, volume: 'C:', field: problems}
    expect: {equals: nothing}
"""

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of pc42 whose PC-controlled strings are all HOSTILE, and the playbook that reads them."""
    state = tmp_path / "hostile.yml"
    src = builtin_path("pc42")
    assert src is not None
    shutil.copyfile(src, state)
    s = read_state(state)
    s["os"]["caption"] = "Windows 7 " + HOSTILE
    s["services"]["wbengine"]["display_name"] = HOSTILE
    s["registry"]["HKLM\\SOFTWARE\\Contoso"] = {"Note": {"type": "REG_SZ", "value": HOSTILE}}
    s["volumes"][1]["label"] = HOSTILE  # C:, in chkdsk's "Volume label is ..." line
    s["events"][0]["message"] = HOSTILE + " (0x80070422)"
    s["events"][0]["fields"]["BackupTarget"] = "E:" + HOSTILE  # triage suggests --var target=
    save_state(state, s)
    assert read_state(state)["services"]["wbengine"]["display_name"] == HOSTILE
    book = tmp_path / "hostile-values.yml"
    book.write_text(PLAYBOOK, encoding="utf-8")
    return state, book


def assert_shown_escaped(text: str, *, where: str) -> None:
    hidden = sorted({c for c in text if c != "\n" and is_hidden(c)})
    assert not hidden, f"{where}: raw {[hex(ord(c)) for c in hidden]}"
    for seq in SHOWN:
        assert seq in text, f"{where}: {seq} not shown"


def test_console_markdown_and_junit_show_every_sequence_escaped(hostile, tmp_path: Path) -> None:
    state, book = hostile
    md, xml, js = tmp_path / "r.md", tmp_path / "r.xml", tmp_path / "r.json"
    r = invoke(
        "run", str(book), "--host", f"sim:{state}", "--dry-run",
        "--report", f"md:{md}", "--report", f"junit:{xml}", "--report", f"json:{js}",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert_shown_escaped(r.output, where="console")
    lines = r.output.splitlines()
    assert not any(line.lstrip().startswith(("FAKE", "| fake", "| x")) for line in lines)
    plan = next(line for line in lines if line.startswith(" PLAN "))
    assert "HKLM\\SOFTWARE\\Contoso\\Note: ok\\x1b[1A\\x1b[2KFAKE OK line" in plan
    assert "\\x1b[31mred\\x1b[0m" in plan and "[link](http://evil.example/)" in plan
    assert any("│ " in line and "\\x1b[1A" in line for line in lines), "chkdsk's output line, escaped"

    # Markdown: escaped, and no value adds, hides or fakes a table row or a link.
    text = md.read_text(encoding="utf-8")
    assert_shown_escaped(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text), where="markdown (as rendered)")
    for line in text.splitlines():
        assert not line.startswith(("| fake", "| x ")), line
        if line.startswith("|"):
            assert re.sub(r"\\.", "", line).count("|") in (3, 6), f"a value split a table row: {line}"
    assert "<b>" not in text and "<!--" not in text and "&#124;" not in text
    assert not re.search(r"(?<!\\)\]\(http", text), "a link"
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "\\[link\\](http://evil.example/)" in text

    # JUnit: well-formed XML 1.0 whatever the PC sent, every value escaped visibly.
    suite = ET.fromstring(xml.read_text(encoding="utf-8"))
    texts = [v for el in suite.iter() for v in (*el.attrib.values(), el.text or "")]
    assert_shown_escaped("\n".join(texts), where="junit")

    # JSON: the exact values.
    doc = json.loads(js.read_text(encoding="utf-8"))
    steps = {s["id"]: s for s in doc["steps"]}
    assert steps["registry-note"]["observed"] == HOSTILE
    assert steps["registry-note"]["change"]["before"]["value"] == HOSTILE
    assert steps["service-display-name"]["observed"] == HOSTILE
    assert steps["backup-events"]["observed"][0]["message"] == HOSTILE + " (0x80070422)"
    assert doc["host"]["facts"]["caption"] == "Windows 7 " + HOSTILE


def test_json_on_stdout_round_trips_exactly(hostile) -> None:
    state, book = hostile
    r = runner.invoke(app, ["run", str(book), "--host", f"sim:{state}", "--dry-run", "--json"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert {s["id"]: s["observed"] for s in doc["steps"]}["service-display-name"] == HOSTILE


def test_apply_log_rollback_and_triage_show_values_escaped(hostile) -> None:
    state, book = hostile
    done = invoke("run", str(book), "--host", f"sim:{state}", "--yes")
    assert read_state(state)["registry"]["HKLM\\SOFTWARE\\Contoso"]["Note"]["value"] == "clean"
    assert_shown_escaped(done.output, where="run")
    run_id = done.output.split("runs/")[1].split(".jsonl")[0]
    log = invoke("log", run_id)
    assert log.exit_code == 0
    assert_shown_escaped(log.output, where="log")
    back = invoke("rollback", run_id, "--yes")
    assert back.exit_code == 0, back.output
    assert read_state(state)["registry"]["HKLM\\SOFTWARE\\Contoso"]["Note"]["value"] == HOSTILE
    assert not [c for c in back.output if c != "\n" and is_hidden(c)]
    triage = invoke("triage", "--host", f"sim:{state}")
    assert "fix-0x80070422" in triage.output
    assert not [c for c in triage.output if c != "\n" and is_hidden(c)]


def test_triage_shows_evidence_and_suggestions_escaped() -> None:
    result = TriageResult(
        evidence=(Evidence(source=f"event {HOSTILE} 4104", code="0x81000031", target="E:" + HOSTILE),),
        matches=(Match("fix-0x81000031", "t", 100.0, [f"from event {HOSTILE}"], {"target": "E:" + HOSTILE}),),
    )
    c = Console(file=io.StringIO(), width=400, soft_wrap=True)
    render_library.triage(c, result)
    out = c.file.getvalue()  # type: ignore[attr-defined]
    assert not [ch for ch in out if ch != "\n" and is_hidden(ch)]
    assert "evidence event ok\\x1b[1A\\x1b[2KFAKE" in out and "--var target=E:ok\\x1b[1A" in out


def test_on_a_terminal_only_wbplay_colours_reach_the_screen() -> None:
    """A terminal gets rich's own colour codes, and not one escape sequence from the PC."""
    c = Console(file=io.StringIO(), force_terminal=True, width=120, color_system="standard")
    listener = ConsoleListener(c)
    listener.event(
        "step.check",
        {"step": "registry-note", "status": "finding", "observed": HOSTILE, "expected": "clean",
         "message": HOSTILE, "ms": 1},
    )  # fmt: skip
    listener.event("op.output", {"step": "chkdsk", "line": HOSTILE})
    listener.event(
        "host.facts",
        {"facts": {"caption": HOSTILE, "version": HOSTILE, "locale": "ja-JP"}, "reads": 1, "ms": 1},
    )
    out = c.file.getvalue()  # type: ignore[attr-defined]
    sequences = set(re.findall(r"\x1b\[[0-9;]*[A-Za-z]|\x1b[^\[]", out))
    assert sequences and all(re.fullmatch(r"\x1b\[[0-9;]*m", s) for s in sequences), sequences
    assert not any(is_hidden(ch) for ch in out if ch not in "\n\x1b")
    assert "\\x1b[1A\\x1b[2K" in out and "\\u202e" in out


def _report(message: str) -> RunReport:
    step = StepResult(id="chkdsk-r", title="chkdsk /r", status="blocked", message=message)
    return RunReport("r", "pb", "t", "0" * 64, "sim:x", "dry-run", {}, "2026", steps=[step])


SSD_GUARD = (
    "chkdsk /r is not run on an SSD: it reads every sector, which wears the drive and finds nothing "
    "TRIM has not; to allow it, pass --var allow_chkdsk_r_on_ssd=true [after a backup of the data]"
)


def test_a_blocked_reason_prints_literally_and_whole() -> None:
    pipe = Console(file=io.StringIO(), width=80)
    summary(pipe, _report(SSD_GUARD), "/tmp/j.jsonl")
    out = pipe.file.getvalue()  # type: ignore[attr-defined]
    assert f"blocked chkdsk-r: {SSD_GUARD}" in out, out

    term = Console(file=io.StringIO(), force_terminal=True, width=70, record=True)
    summary(term, _report(SSD_GUARD), "/tmp/j.jsonl")
    text = term.export_text()
    assert "allow_chkdsk_r_on_ssd=true" in text and "[after a backup of" in text
    block = text.split("blocked chkdsk-r: ")[1].split("  Journal")[0]
    assert block.split() == SSD_GUARD.split(), "every word whole, nothing cut"
    assert all(len(line) <= 70 for line in text.splitlines())


def test_a_long_finding_message_is_wrapped_at_words_never_cut() -> None:
    message = (
        "Windows Server Backup is not installed: there is no wbengine service, so no backup can run. "
        "Install it from an elevated PowerShell: Install-WindowsFeature Windows-Server-Backup "
        "-IncludeManagementTools"
    )
    event = {"step": "wsb-feature", "status": "finding", "observed": None, "expected": "present",
             "message": message}  # fmt: skip
    pipe = Console(file=io.StringIO(), width=80)
    ConsoleListener(pipe).event("step.check", event)
    assert message in pipe.file.getvalue()  # type: ignore[attr-defined]

    term = Console(file=io.StringIO(), force_terminal=True, width=60, record=True)
    ConsoleListener(term).event("step.check", event)
    lines = term.export_text().splitlines()[1:]
    assert len(lines) > 2 and all(line.startswith(" " * 10) and len(line) <= 60 for line in lines)
    assert [w for line in lines for w in line.split()] == message.split()


def test_over_winrm_the_values_arrive_exact_and_are_shown_escaped(hostile, tmp_path, monkeypatch) -> None:
    """The real path: CLI → engine → pywinrm → HTTP (NTLM-sealed) → lab → the hostile PC."""
    state, book = hostile
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    model = HostModel(read_state(state))
    config = LabConfig(
        host=HostIdentity(model.hostname, str(model.os["version"])),
        powershell=AgentHandler(model),
        timeout_scale=0.05,
    )
    js = tmp_path / "r.json"
    with LabServer(config) as server:
        host = f"http://127.0.0.1:{server.port}"
        r = invoke("run", str(book), "--host", host, "--dry-run", "--report", f"json:{js}")
    assert r.exit_code == 1, r.output
    assert_shown_escaped(r.output, where="console over WinRM")
    steps = {s["id"]: s for s in json.loads(js.read_text(encoding="utf-8"))["steps"]}
    assert steps["registry-note"]["observed"] == HOSTILE
    assert steps["service-display-name"]["observed"] == HOSTILE
