"""Lint findings as text for a terminal, JSON, GitHub Actions annotations or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections.abc import Sequence

from wbplay.playbook.lint.table import ERROR, RULES, Finding

FORMATS = ("text", "json", "github", "sarif")


def _hint(f: Finding) -> str:
    hint = f.hint
    return f" (fix: {hint})" if hint else ""


def text(findings: Sequence[Finding]) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.severity} {f.rule} {f.message}{_hint(f)}" for f in findings]
    errors = sum(1 for f in findings if f.severity == ERROR)
    lines.append(f"{len(findings)} finding(s): {errors} error(s), {len(findings) - errors} warning(s)")
    return "\n".join(lines)


def as_json(findings: Sequence[Finding]) -> str:
    rows = [
        {
            "path": f.path,
            "line": f.line,
            "column": f.column,
            "rule": f.rule,
            "severity": f.severity,
            "message": f.message,
            "hint": f.hint,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def _escape(value: str, *, prop: bool = False) -> str:
    # GitHub's workflow-command escaping: %, CR, LF always; ':' and ',' inside properties.
    out = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return out.replace(":", "%3A").replace(",", "%2C") if prop else out


def github(findings: Sequence[Finding]) -> str:
    return "\n".join(
        f"::{f.severity} file={_escape(f.path, prop=True)},line={f.line},col={f.column},"
        f"title={_escape(f.rule, prop=True)}::{_escape(f.message + _hint(f))}"
        for f in findings
    )


def sarif(findings: Sequence[Finding]) -> str:
    rules = [
        {"id": rid, "shortDescription": {"text": desc}, "defaultConfiguration": {"level": sev}}
        for rid, (sev, desc) in RULES.items()
    ]
    results = [
        {
            "ruleId": f.rule,
            "level": f.severity,
            "message": {"text": f.message + _hint(f)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path.replace("\\", "/")},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
        }
        for f in findings
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "wbplay lint", "rules": rules}}, "results": results}],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def render(findings: Sequence[Finding], fmt: str) -> str:
    return {"text": text, "json": as_json, "github": github, "sarif": sarif}[fmt](findings)
