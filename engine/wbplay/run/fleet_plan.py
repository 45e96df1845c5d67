"""A fleet plan: every PC's saved plan (``run/plan.py``) in one file, reviewed and applied once.

The file holds each PC's plan document whole (its own digest and signature), and a
fleet digest over them, signed like a plan, so ``--expect`` approves the fleet at
once.  At apply time each PC's plan is checked on its own and its run must match
it exactly (``planguard``): a PC that drifted, or whose plan does not check out,
is refused alone; the others go ahead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wbplay.errors import PathError, PlanError, PlaybookError
from wbplay.paths import read_regular
from wbplay.playbook.schema import check_value
from wbplay.playbook.yamlsafe import loads_json
from wbplay.run import plan as plan_mod
from wbplay.run import plansign

KIND = "fleet-plan"


def fleet_digest(plans: Mapping[str, dict[str, Any]]) -> str:
    """sha256 over every (host, plan digest) pair: a change to any PC's plan changes it."""
    pairs = sorted((host, str(doc.get("digest", ""))) for host, doc in plans.items())
    return hashlib.sha256(json.dumps(pairs, separators=(",", ":")).encode("utf-8")).hexdigest()


def build(plans: Mapping[str, dict[str, Any]], unplanned: Mapping[str, str]) -> dict[str, Any]:
    """``plans``: host -> its plan document; ``unplanned``: host -> why it has none (unreachable...)."""
    doc: dict[str, Any] = {
        "kind": KIND,
        "plans": {host: plans[host] for host in plans},
        "unplanned": dict(unplanned),
        "digest": fleet_digest(plans),
    }
    doc["signature"] = plansign.sign(doc["digest"])
    return doc


def is_fleet_plan(path: Path) -> bool:
    try:
        head = read_regular(path, "plan")[:4096].decode("utf-8-sig", errors="replace")
    except PathError:
        return False
    return f'"kind": "{KIND}"' in head


def save(doc: dict[str, Any], path: Path) -> None:
    plan_mod.save(doc, path)


def load(path: Path, *, expect: str | None, trust: bool) -> dict[str, Any]:
    """The fleet file, its fleet digest checked (and ``--expect``, and its signature unless ``trust``)."""
    try:
        doc = loads_json(read_regular(path, "plan").decode("utf-8-sig"), str(path))
    except PathError as e:
        raise PlanError(str(e)) from None
    except (UnicodeDecodeError, PlaybookError) as e:
        raise PlanError(f"{path}: not a JSON fleet plan written by `wbplay plan` ({e})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND or not isinstance(doc.get("plans"), dict):
        raise PlanError(f"{path}: not a wbplay fleet plan")
    if fleet_digest(doc["plans"]) != doc.get("digest"):
        raise PlanError(
            f"{path}: refusing to apply: the fleet plan's content does not match its digest "
            "(it was edited after it was made). Make a new plan and have it reviewed."
        )
    plan_mod.check_expect(doc, path, expect)
    plansign.verify(doc, path, trust=trust)
    return doc


def check_one(doc: Any, host: str, path: Path, *, allow_stale: bool, trust: bool) -> dict[str, Any]:
    """One PC's plan inside the fleet file, checked as ``wbplay apply`` checks a plan file."""
    where = Path(f"{path} [{host}]")
    problems = check_value(doc, "report") if isinstance(doc, dict) else ["not an object"]
    if problems or doc.get("kind") != "plan":
        raise PlanError(f"{where}: not a wbplay plan ({'; '.join(problems[:3]) or 'its kind'})")
    if plan_mod.digest(doc) != doc.get("digest"):
        raise PlanError(f"{where}: refusing to apply: this PC's plan does not match its digest (edited)")
    plan_mod.check_signature(doc, where, trust=trust)
    plan_mod.check_baseline(doc, where)
    plan_mod.check_fresh(doc, allow_stale=allow_stale, path=where)
    return doc
