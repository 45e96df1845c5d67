"""What an operator reads and keeps (issue 14): version, the simulated PCs, --allow typos,
the Markdown records of a run and a plan, and a user's own state file."""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

import wbplay
from conftest import REPO
from wbplay.cli import app
from wbplay.resources import docs_dir, playbooks_dir
from wbplay.run.journal import Journal
from wbplay.sim.state import builtin_names, read_state


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"wbplay {wbplay.__version__}"


def test_sim_list_shows_each_pc_with_its_description() -> None:
    result = invoke("sim", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(builtin_names())
    by_name = {line.split()[0]: line.split(None, 1)[1] for line in lines}
    assert set(by_name) == set(builtin_names())
    assert "BitLocker setup moved Windows RE" in by_name["win7-winre-on-usb"]
    assert all(text.strip() for text in by_name.values())


def test_allow_naming_an_unknown_step_is_a_usage_error_before_any_journal(wbplay_home: Path) -> None:
    result = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "--yes", "--allow", "no-such-step")
    assert result.exit_code == 2, result.output
    assert "no-such-step" in result.output
    assert not (wbplay_home / "runs").exists() or not list((wbplay_home / "runs").iterdir())


def test_markdown_records_of_a_plan_and_of_the_run_that_applied_it(tmp_path: Path) -> None:
    plan_json, plan_md, run_md = tmp_path / "p.json", tmp_path / "plan.md", tmp_path / "run.md"
    made = invoke(
        "plan", "fix-0x80070422", "--host", "sim:pc42", "-o", str(plan_json), "--report", f"md:{plan_md}"
    )
    assert made.exit_code == 1, made.output
    text = plan_md.read_text(encoding="utf-8")
    doc = json.loads(plan_json.read_text(encoding="utf-8"))
    assert f"| Run id | {doc['run_id']} |" in text and doc["journal"] in text
    assert f"```sh\nwbplay apply {plan_json}\n```" in text
    made_at = datetime.fromisoformat(doc["created"].replace("Z", "+00:00"))
    expires = (made_at + timedelta(hours=24)).isoformat()
    assert f"expires {expires.replace('+00:00', 'Z')} (24 h)" in text and "--allow-stale" in text

    applied = invoke("apply", str(plan_json), "--yes", "--report", f"md:{run_md}")
    assert applied.exit_code == 0, applied.output
    text = run_md.read_text(encoding="utf-8")
    (journal,) = [p for p in (tmp_path / "wbplay-home" / "runs").glob("*.jsonl") if p.stem != doc["run_id"]]
    assert f"| Run id | {journal.stem} |" in text and str(journal) in text
    rollback = text[text.index("## Rollback") :]
    row = "| wbengine-not-disabled | wbengine start mode: Disabled → Manual | service.set_start_mode |"
    assert row in rollback
    assert f"```sh\nwbplay rollback {journal.stem}\n```" in rollback


def test_markdown_of_a_dry_run_has_records_and_no_rollback(tmp_path: Path) -> None:
    md = tmp_path / "dry.md"
    result = invoke("run", "fix-0x80070422", "--host", "sim:pc42", "-n", "--report", f"md:{md}")
    assert result.exit_code == 1, result.output
    text = md.read_text(encoding="utf-8")
    assert "## Records" in text and "| Run id | " in text
    assert "## Rollback" not in text and "nothing to roll back" in text


def test_writing_a_users_state_file_keeps_its_comments_and_mode(state_file) -> None:
    state = state_file("pc42")
    text = state.read_text(encoding="utf-8")
    marker = "  # wbengine: Disabled here on purpose, to reproduce ticket 4711\n"
    start = text.index("\n  wbengine:") + 1
    state.write_text(text[:start] + marker + text[start:] + "# the end: keep me\n", encoding="utf-8")
    state.chmod(0o640)

    result = invoke("run", "fix-0x80070422", "--host", f"sim:{state}", "--yes")
    assert result.exit_code == 0, result.output

    after = state.read_text(encoding="utf-8")
    assert marker in after and after.endswith("# the end: keep me\n")
    assert after.splitlines()[0] == text.splitlines()[0]  # the header comment
    assert stat.S_IMODE(state.stat().st_mode) == 0o640
    data = read_state(state)  # and the new state is what the run left
    assert data["services"]["wbengine"]["start_mode"] == "Manual"
    assert data["services"]["VSS"]["start_mode"] == "Manual"


def test_docs_cited_by_the_playbooks_ship_with_them() -> None:
    """A `why` may cite docs/NAME.md §N only if that file ships beside the playbooks (playbooks/docs/,
    in the wheel wbplay/_data/playbooks/docs/) and has §N."""
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"playbooks" = "wbplay/_data/playbooks"' in pyproject
    cited: dict[str, set[str]] = {}
    for book in sorted(playbooks_dir().glob("*.yml")):
        text = book.read_text(encoding="utf-8")
        for name, sections in re.findall(r"docs/([\w-]+\.md)((?:[ ,]+(?:§|s\.)\s?\d+(?:\.\d+)?)*)", text):
            cited.setdefault(name, set()).update(re.findall(r"(?:§|s\.)\s?(\d+)", sections))
    assert cited, "the playbooks cite no docs: drop this test and the shipped copy"
    for name, sections in cited.items():
        doc = docs_dir() / name
        assert doc.is_file(), f"playbooks cite docs/{name}, which is not shipped"
        headings = set(re.findall(r"^## (\d+)\.", doc.read_text(encoding="utf-8"), re.MULTILINE))
        assert sections <= headings, f"docs/{name} has no section {sorted(sections - headings)}"


def test_the_journal_masks_secrets_but_not_a_count_of_passes(tmp_path: Path) -> None:
    journal = Journal("t-mask", tmp_path)
    record = journal.append(
        "run.start",
        variables={"max_passes": 3, "password": "x", "admin_pass": "y", "passphrase": "z", "api_token": "t"},
    )
    journal.close()
    assert record["variables"] == {
        "max_passes": 3,
        "password": "***",
        "admin_pass": "***",
        "passphrase": "***",
        "api_token": "***",
    }


def test_playbooks_cite_no_file_outside_what_ships() -> None:
    """`shared/` is the authors' workspace: no user has it, so no playbook may cite it."""
    for book in sorted(playbooks_dir().rglob("*.yml")):
        assert "shared/" not in book.read_text(encoding="utf-8"), book
