"""Lint rule WB017, which needs the scenarios run: a step that no scenario ever runs.

A step skipped (or never reached) in every scenario is untested however many scenarios the
playbook has. This runs the playbook's scenarios (``wbplay lint --scenarios``), so it sits
above the loader-layer rules of :mod:`wbplay.playbook.lint`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from wbplay.errors import UsageError
from wbplay.library import scenarios
from wbplay.playbook.lint.table import Finding
from wbplay.playbook.yamlsafe import load_file

NOT_RUN = frozenset({"skipped"})


def unexercised(playbook: Path) -> list[Finding]:
    """WB017 for each step of ``playbook`` that its scenarios never run (none without scenarios)."""
    try:
        files = scenarios.discover([str(playbook)])
    except UsageError:
        return []  # WB013 already says there is no scenario file
    seen: dict[str, set[str]] = defaultdict(set)
    for result in scenarios.run_files(files):
        for step_id, status in result.statuses.items():
            seen[step_id].add(status)
    doc = load_file(playbook)
    out = []
    for i, step in enumerate(doc.data.get("steps") or []):
        if seen[step["id"]] - NOT_RUN:
            continue
        mark = doc.mark_for(("steps", i, "id"))
        out.append(
            Finding(
                doc.path,
                mark.line if mark else 1,
                mark.column if mark else 1,
                "WB017",
                f"no scenario runs step {step['id']!r} (skipped or never reached in every one)",
                "add a scenario whose simulated PC makes this step run (see its when:)",
            )
        )
    return out
