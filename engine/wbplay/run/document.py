"""The JSON report document (``format_version`` 1), also the body of a saved plan.

Published as ``schemas/report.schema.json``; Terraform-style versioning: a new
*minor* version only adds fields, a new *major* version may change them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from wbplay.run.results import RunReport

FORMAT_VERSION = "1.1"  # 1.1: "for", summary.first_needed, journal; plan_file in plan reports


def to_document(report: RunReport, *, kind: str = "run") -> dict[str, Any]:
    counts = report.counts()
    changes = [s for s in report.steps if s.change is not None]
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "run_id": report.run_id,
        "journal": report.journal_path,
        "playbook": {
            "id": report.playbook_id,
            "title": report.playbook_title,
            "path": report.playbook_path,
            "sha256": report.playbook_sha256,
        },
        "host": {"spec": report.host_spec, "identity": report.host, "facts": report.facts},
        "facts_fingerprint": report.facts_fingerprint,
        "mode": report.mode,
        "variables": report.variables,
        "started": report.started,
        "ended": report.ended,
        "outcome": report.outcome,
        "exit_code": int(report.exit_code),
        "summary": {
            "counts": counts,
            "changes": len(changes),
            "irreversible": [s.id for s in changes if s.change and s.change.risk == "irreversible"],
            "manual": [s.id for s in report.steps if s.status == "manual"],
            "blocked": [s.id for s in report.steps if s.status == "blocked"],
            "rolled_back": list(report.rolled_back),
            "rollback_failed": list(report.rollback_failed),
            "first_needed": list(report.first_needed),
        },
        "steps": [
            {
                "id": s.id,
                "title": s.title,
                "status": s.status,
                "observed": s.observed,
                "expected": s.expected,
                "change": asdict(s.change) if s.change else None,
                "message": s.message,
                "error": s.error,
                "duration_ms": s.duration_ms,
                "verified": s.verified,
                "fingerprint": s.fingerprint,
                "why": s.why,
            }
            for s in report.steps
        ],
    }
    f = report.for_failure
    if f is not None:
        doc["for"] = {
            "code": f.code,
            "source": f.source,
            "target": f.target,
            "next_playbooks": list(report.next_playbooks),
        }
    return doc
