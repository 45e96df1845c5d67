"""Saved plans: review a dry-run, then apply exactly that, or nothing.

``wbplay plan`` saves the dry-run as JSON: the playbook's content hash and
variables, the host's identity, a fingerprint of everything each step read,
and every planned change as ``before → after`` with its risk.  ``wbplay apply``
refuses a plan that is stale (older than :data:`STALE_AFTER` unless
``--allow-stale``), whose baseline is empty, whose playbook changed, or whose
host no longer reads exactly as it did (checked by the runner before any change).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wbplay.errors import PlanError, PlanFileError
from wbplay.playbook.model import Playbook
from wbplay.playbook.schema import check_value
from wbplay.run.document import to_document
from wbplay.run.planguard import PlanGuard
from wbplay.run.results import RunReport

STALE_AFTER = timedelta(hours=24)
"""A plan older than this is refused unless --allow-stale: a PC drifts, and a review goes stale."""


def build(report: RunReport, allow: frozenset[str]) -> dict[str, Any]:
    doc = to_document(report, kind="plan")
    doc["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    doc["stale_after_hours"] = int(STALE_AFTER.total_seconds() // 3600)
    doc["allow"] = sorted(allow)
    return doc


def save(doc: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise PlanFileError(f"{path}: cannot read the plan: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise PlanFileError(f"{path}:{e.lineno}:{e.colno}: not a JSON plan: {e.msg}") from None
    problems = check_value(doc, "report")
    if problems or doc.get("kind") != "plan":
        detail = "; ".join(problems[:3]) or "its kind is not 'plan'"
        raise PlanFileError(f"{path}: not a wbplay plan ({detail})")
    return doc


def check_baseline(doc: dict[str, Any]) -> None:
    """Refuse a plan that pins nothing: it would approve whatever the host looks like."""
    steps = doc["steps"]
    if not steps or not doc.get("facts_fingerprint") or any(not s.get("fingerprint") for s in steps):
        raise PlanError(
            "refusing to apply: the plan has an empty baseline (no recorded facts to compare against)"
        )


def check_fresh(doc: dict[str, Any], *, allow_stale: bool, now: datetime | None = None) -> None:
    created = datetime.fromisoformat(doc["created"].replace("Z", "+00:00"))
    age = (now or datetime.now(timezone.utc)) - created
    if age > STALE_AFTER and not allow_stale:
        hours = age.total_seconds() / 3600
        raise PlanError(
            f"refusing to apply: the plan is {hours:.1f} hours old (limit {doc['stale_after_hours']} h). "
            "Make a new plan, or pass --allow-stale if the host cannot have changed."
        )


def check_playbook(doc: dict[str, Any], pb: Playbook) -> None:
    planned = doc["playbook"]["sha256"]
    if pb.sha256 != planned:
        raise PlanError(
            f"refusing to apply: the playbook {pb.path} changed since the plan "
            f"(sha256 {planned[:12]}… in the plan, {pb.sha256[:12]}… now). Make a new plan."
        )


def guard(doc: dict[str, Any]) -> PlanGuard:
    return PlanGuard(
        facts_fingerprint=doc["facts_fingerprint"],
        fingerprints={s["id"]: s["fingerprint"] for s in doc["steps"]},
        changes={
            s["id"]: s["change"]["action"] for s in doc["steps"] if s["status"] == "drift" and s["change"]
        },
    )
