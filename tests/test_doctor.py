"""``wbplay doctor`` end to end: CLI -> engine -> pywinrm -> HTTP -> lab -> simulated PC.

Read-only by construction (the state file is byte-for-byte unchanged), PASS on every shipped
PC, FAIL naming the cause on a PC made to fail one check, and ``--record`` writes redacted
replay fixtures that the replay harness accepts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from test_e2e_lab import Lab
from test_replay import replay
from wbplay.cli import app
from wbplay.errors import HostError
from wbplay.hosts import doctor, recording
from wbplay.hosts.factory import open_host
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim.state import builtin_names
from wbplay.vocab.ops import OP_SPECS

runner = CliRunner()


@pytest.fixture
def lab(state_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Lab]]:
    monkeypatch.setenv("WBPLAY_USER", DEFAULT_USER.name)
    monkeypatch.setenv("WBPLAY_PASSWORD", DEFAULT_USER.password)
    labs: list[Lab] = []

    def make(name: str, **changes: object) -> Lab:
        path = state_file(name)
        state = yaml.safe_load(path.read_text(encoding="utf-8"))
        state.update(changes)
        path.write_text(yaml.safe_dump(state, allow_unicode=True), encoding="utf-8")
        labs.append(Lab(path))
        return labs[-1]

    yield make
    for one in labs:
        one.stop()


def doctor_cli(host: str, *extra: str) -> tuple[int, str]:
    r = runner.invoke(app, ["doctor", "--host", host, "--skip-slow", *extra])
    return r.exit_code, r.output


def status(output: str, check: str) -> str:
    line = next(x for x in output.splitlines() if x[5:].startswith(check + " "))
    return line[:4]


def test_every_read_op_is_tried_once() -> None:
    names = [op.name for op in doctor._sample_ops([])]
    assert sorted(names) == sorted(n for n, s in OP_SPECS.items() if not s.writes)


def test_doctor_refuses_a_writable_host() -> None:
    with pytest.raises(HostError), open_host("sim:win10-healthy", read_only=False) as host:
        doctor.diagnose(host)


@pytest.mark.parametrize("name", builtin_names())
def test_every_shipped_pc_passes(name: str) -> None:
    with open_host(f"sim:{name}", read_only=True) as host:
        report = doctor.diagnose(host)
    assert [c for c in report.checks if c.status == doctor.FAIL] == []
    assert int(report.exit_code) == 0


@pytest.mark.parametrize("name", ["win7-healthy", "win11-healthy", "srv2019-healthy"])
def test_doctor_over_winrm_passes_and_changes_nothing(lab, name: str) -> None:
    pc = lab(name)
    before = pc.state.read_bytes()
    code, output = doctor_cli(pc.host)
    assert code == 0, output
    assert status(output, "agent bootstrap") == "PASS" and status(output, "op volume.list") == "PASS"
    assert status(output, "op chkdsk.scan") == "SKIP"  # --skip-slow
    assert pc.state.read_bytes() == before


@pytest.mark.parametrize(
    ("changes", "check", "cause"),
    [
        ({"powershell": {"language_mode": "ConstrainedLanguage"}}, "language mode", "ConstrainedLanguage"),
        ({"powershell": {"winrs_max_memory_mb": 100}}, "winrs memory quota", "MaxMemoryPerShellMB is 100"),
        ({"session": {"admin": False, "elevated": False}}, "admin rights", "not an administrator"),
        ({"session": {"admin": True, "elevated": False}}, "admin rights", "UAC-filtered"),
    ],
)
def test_a_failing_check_names_its_cause(lab, changes: dict[str, object], check: str, cause: str) -> None:
    pc = lab("win10-healthy", **changes)
    code, output = doctor_cli(pc.host)
    assert code == 5, output
    assert status(output, check) == "FAIL"
    assert cause in output


def test_record_writes_redacted_fixtures_that_replay(lab, tmp_path: Path) -> None:
    pc = lab("win7-healthy", session={"user": "PC42\\alice", "sid": "S-1-5-21-111-222-333-1001"})
    out = tmp_path / "rec"
    code, output = doctor_cli(pc.host, "--record", str(out))
    assert code == 0, output
    files = sorted(out.iterdir())
    assert (out / "doctor.json").is_file() and len(files) > 20
    text = "".join(p.read_text(encoding="ascii") for p in files).lower()
    # (The lab's login name, "wbadmin", is redacted too: so is the tool of that name, harmlessly.)
    for secret in ("alice", DEFAULT_USER.password.lower(), "111-222-333"):
        assert secret not in text, secret
    assert pc.model.hostname.lower() not in text
    assert recording.REDACTED_USER.lower() in text
    session = json.loads((out / "03-session.info.json").read_text(encoding="ascii"))
    assert "S-1-5-21-0-0-0-1001" in session["stdout"]  # the RID stays readable
    assert replay(out) == []
    # A second recording never mixes with the first.
    code, output = doctor_cli(pc.host, "--record", str(out))
    assert code == 2 and "not empty" in output


def test_redaction_of_escaped_and_plain_forms() -> None:
    text = '{"user":"PC42\\\\Alice","path":"C:\\\\Users\\\\alice\\\\Documents","p":"C:\\\\Users\\\\Public"}'
    clean = recording.redact(text, users=["PC42\\Alice", "Alice"], hosts=["PC42"])
    assert "alice" not in clean.lower() and "pc42" not in clean.lower()
    assert "Users\\\\Public" in clean
    assert json.loads(clean)["path"] == "C:\\Users\\" + recording.REDACTED_USER + "\\Documents"
    assert recording.redact("BUILTIN\\Administrators", users=["admin"]) == "BUILTIN\\Administrators"


def test_a_pc_error_is_printed_visibly(monkeypatch: pytest.MonkeyPatch) -> None:
    from wbplay import app as app_mod

    real = app_mod.doctor

    def hostile(host: str, **kw: object) -> app_mod.DoctorResult:
        progress = kw.get("progress")
        check = doctor.Check("op x", doctor.FAIL, "error 5: \x1b[31mAccess\r\nis denied")
        if callable(progress):
            progress(check)
        return app_mod.DoctorResult(doctor.DoctorReport("pc", (check,), (), ()))

    monkeypatch.setattr(app_mod, "doctor", hostile)
    code, output = doctor_cli("sim:win10-healthy")
    monkeypatch.setattr(app_mod, "doctor", real)
    assert code == 5
    assert "\x1b" not in output and "\r" not in output
    assert "Access is denied" in output
