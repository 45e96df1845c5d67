"""``wbplay lint``: what a reviewer would catch in a playbook and the schema cannot.

Each finding names ``file:line:col``, a rule id and a fix hint.  The rules read the raw
YAML document (so they still report on a playbook the loader would refuse, with their own
ids); a schema violation is reported as rule ``WB000`` and stops the semantic rules for that
file, whose data may then be any shape.  The rules and what triggers each are listed in
:data:`RULES`; ``tests/test_lint.py`` has one playbook per rule.
"""

from __future__ import annotations

from pathlib import Path

from wbplay.errors import PlaybookError
from wbplay.playbook.lint.rules import ALL_RULES, scenario_file
from wbplay.playbook.lint.table import RULES, Finding
from wbplay.playbook.load import expand_paths
from wbplay.playbook.schema import validate
from wbplay.playbook.yamlsafe import KeyPath, load_text, read_text

__all__ = ["RULES", "Finding", "lint_file", "lint_paths", "playbook_files"]


def lint_file(path: Path) -> list[Finding]:
    """Every finding in one playbook file, in file order."""
    found: list[Finding] = []
    try:
        text, _raw = read_text(path, what="playbook")
        doc = load_text(text, str(path))
        if not isinstance(doc.data, dict):
            raise doc.error("a playbook must be a YAML mapping", (), "start with id:, title:, steps:")
        validate(doc, "playbook")
    except PlaybookError as e:
        for one in (e, *e.also):
            found.append(Finding(one.path, one.line or 1, one.column or 1, "WB000", one.message, one.hint))
        return found

    def emit(rule: str, at: KeyPath, message: str, hint: str) -> None:
        mark = doc.mark_for(at)
        found.append(
            Finding(doc.path, mark.line if mark else 1, mark.column if mark else 1, rule, message, hint)
        )

    for rule in ALL_RULES:
        rule(doc, emit)
    scenario_file(doc, Path(path), emit)
    return sorted(found, key=lambda f: (f.line, f.column, f.rule))


def playbook_files(paths: list[Path]) -> list[Path]:
    """The playbooks among these files and folders (scenario files and host states are not)."""
    return [p for p in expand_paths(paths) if _is_playbook(p)]


def lint_paths(paths: list[Path]) -> list[Finding]:
    return [f for p in playbook_files(paths) for f in lint_file(p)]


def _is_playbook(p: Path) -> bool:
    """Scenario files and host states share the folders; only playbooks are linted."""
    return not (p.name.endswith((".scenarios.yml", ".state.yml")) or p.parent.name == "scenarios")
