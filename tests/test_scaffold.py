"""`wbplay new`: what it writes validates, lints clean and its scenarios pass as generated;
and the issue's walkthrough, as a new user would do it, through the CLI."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from wbplay.cli import app
from wbplay.vocab import kinddoc

runner = CliRunner()


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_default_scaffold_validates_lints_and_passes(tmp_path: Path) -> None:
    out = _ok("new", "fix-vss-disabled", "--dir", str(tmp_path))
    pb = tmp_path / "fix-vss-disabled.yml"
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {
        "fix-vss-disabled.yml",
        "fix-vss-disabled.scenarios.yml",
        "fix-vss-disabled.healthy.state.yml",
        "fix-vss-disabled.broken.state.yml",
    }
    assert "created" in out
    assert "4 valid, 0 invalid" in _ok("validate", str(tmp_path))
    assert "2 passed, 0 failed" in _ok("test", str(pb))
    lint = runner.invoke(app, ["lint", str(pb)])
    assert lint.exit_code == 0  # only the TODO placeholders are reported, as warnings
    assert {line.split()[2] for line in lint.output.splitlines() if ": warning " in line} == {"WB016"}
    for path in tmp_path.iterdir():
        assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=")


def test_every_field_is_commented(tmp_path: Path) -> None:
    _ok("new", "demo", "--dir", str(tmp_path))
    text = (tmp_path / "demo.yml").read_text(encoding="utf-8")
    for key in ("schema_version:", "id:", "title:", "description:", "applies_to:", "references:", "vars:"):
        line = next(i for i, t in enumerate(text.splitlines()) if t.startswith(key))
        lines = text.splitlines()
        assert "#" in lines[line] or lines[line - 1].startswith("#"), key
    for key in ("why:", "check:", "expect:", "remedy:"):
        assert any(t.strip().startswith(key) and "#" in t for t in text.splitlines()) or f"# {key}" in text


def test_every_check_kind_scaffolds_into_passing_scenarios(tmp_path: Path) -> None:
    args = ["new", "all-kinds", "--dir", str(tmp_path)]
    for kind in kinddoc.check_kinds():
        args += ["--check", kind]
    _ok(*args)
    assert "2 passed, 0 failed" in _ok("test", str(tmp_path / "all-kinds.yml"))


def test_from_copies_a_playbook_and_its_scenarios(tmp_path: Path) -> None:
    _ok("new", "my-0x80070422", "--from", "fix-0x80070422", "--dir", str(tmp_path))
    pb = tmp_path / "my-0x80070422.yml"
    assert "id: my-0x80070422" in pb.read_text(encoding="utf-8")
    assert "2 valid, 0 invalid" in _ok("validate", str(tmp_path))
    assert " 0 failed" in _ok("test", str(pb))


def test_refuses_bad_names_unknown_kinds_and_overwrites(tmp_path: Path) -> None:
    assert runner.invoke(app, ["new", "Bad Name", "--dir", str(tmp_path)]).exit_code == 2
    assert runner.invoke(app, ["new", "x", "--check", "nope", "--dir", str(tmp_path)]).exit_code == 2
    _ok("new", "twice", "--dir", str(tmp_path))
    again = runner.invoke(app, ["new", "twice", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_walkthrough_vss_free_space_and_backup_ui_policy(tmp_path: Path) -> None:
    """Issue 10, "Done when": VSS Manual and running, system drive >= 10 % free, the
    backup-UI policy value absent; from `wbplay new`, without reading the engine's code."""
    _ok("doc")  # find the kinds
    _ok("doc", "volume")
    _ok(
        "new", "vss-ready", "--dir", str(tmp_path),
        "--check", "service.start_mode", "--check", "service.state",
        "--check", "volume", "--check", "registry.entry",
    )  # fmt: skip
    pb = tmp_path / "vss-ready.yml"
    text = pb.read_text(encoding="utf-8")
    assert "name: VSS" in text and "free_percent" in text and "DisableBackupUI" in text
    # What the author then writes by hand: the title and description the scaffold left as TODO.
    text = text.replace(
        '"TODO: one line that names the failure this fixes"', '"Ready for a backup: VSS, free space, policy"'
    ).replace(
        "TODO: describe the failure, what this playbook checks and what it may change.",
        "Checks that VSS is Manual and running, that the Windows drive has 10 % free space and "
        "that no policy hides the backup UI; fixes the first, second and last.",
    )
    pb.write_text(text, encoding="utf-8")
    assert "4 valid, 0 invalid" in _ok("validate", str(tmp_path))
    assert "0 finding(s)" in _ok("lint", str(pb))
    out = _ok("test", str(pb))
    assert "vss-ready::broken" in out and "vss-ready::healthy" in out and "2 passed, 0 failed" in out
    scenarios = (tmp_path / "vss-ready.scenarios.yml").read_text(encoding="utf-8")
    assert "vss-start-mode: fixed" in scenarios and "backup-ui-policy-absent: fixed" in scenarios
