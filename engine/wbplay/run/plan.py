"""Saved plans: review a dry-run, then apply exactly that, or nothing.

``wbplay plan`` saves the dry-run as JSON: the playbook's content hash and
variables, the host's identity, a fingerprint of everything each step read,
and every planned change as ``before → after`` with its risk, plus the plan's
own ``digest`` (sha256 of everything else) and an HMAC ``signature`` of it
(:mod:`.plansign`).  ``wbplay apply`` refuses a plan that is not valid JSON of
the plan schema, whose digest does not match its content or the ``--expect``ed
one, that this installation did not sign (unless ``--trust``), that is dated in
the future or is stale (older than :data:`STALE_AFTER` unless
``--allow-stale``), whose baseline is empty, whose playbook changed, or whose
steps are not exactly what re-deriving them now gives (:mod:`.planguard`,
checked by the runner before any change).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from wbplay.errors import PathError, PlanError, PlanOutOfDate, PlaybookError
from wbplay.paths import read_regular
from wbplay.playbook.model import Playbook
from wbplay.playbook.schema import check_value
from wbplay.playbook.yamlsafe import loads_json
from wbplay.run import plansign
from wbplay.run.document import to_document
from wbplay.run.planguard import PlanGuard, PlannedStep
from wbplay.run.results import DRIFT, RunReport

STALE_AFTER = timedelta(hours=24)
"""A plan older than this is refused unless --allow-stale: a PC drifts, and a review goes stale."""
CLOCK_SKEW = timedelta(minutes=5)
"""A plan dated further in the future than this was not made by a wbplay on a sane clock."""
MIN_EXPECT = 16
"""The shortest digest prefix ``--expect`` accepts (64 bits: no forged plan matches it by chance)."""
_UNSIGNED = ("digest", "signature")


def digest(doc: dict[str, Any]) -> str:
    """sha256 of the plan's canonical JSON, without its digest and signature."""
    body = {k: v for k, v in doc.items() if k not in _UNSIGNED}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build(report: RunReport, allow: frozenset[str]) -> dict[str, Any]:
    doc = to_document(report, kind="plan")
    doc["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    doc["stale_after_hours"] = int(STALE_AFTER.total_seconds() // 3600)
    doc["allow"] = sorted(allow)
    # Round-trip first, so the digest is of exactly what the file will say.
    doc = json.loads(json.dumps(doc, ensure_ascii=False, default=str))
    doc["digest"] = digest(doc)
    doc["signature"] = plansign.sign(doc["digest"])
    return doc


def save(doc: dict[str, Any], path: Path) -> None:
    if path.exists() and not path.is_file():  # writing into a FIFO would block; a directory fails late
        raise PathError(str(path), "cannot write the plan here: it is not a regular file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    except OSError as e:
        raise PathError(str(path), f"cannot write the plan: {e.strerror or e}") from None


def load(path: Path) -> dict[str, Any]:
    """A plan file, checked to be a regular file of the plan schema whose digest matches its content."""
    try:
        raw = read_regular(path, "plan")
    except PathError as e:
        raise PlanError(str(e)) from None
    try:
        doc = loads_json(raw.decode("utf-8-sig"), str(path))
    except UnicodeDecodeError as e:
        raise PlanError(f"{path}: not a JSON plan: not UTF-8 text (byte {e.start})") from None
    except PlaybookError as e:
        raise PlanError(f"{e.render()}\n  (not a JSON plan written by `wbplay plan`)") from None
    problems = check_value(doc, "report")
    if problems or doc.get("kind") != "plan":
        detail = "; ".join(problems[:3]) or "its kind is not 'plan'"
        raise PlanError(f"{path}: not a wbplay plan ({detail})")
    if "digest" not in doc:
        raise PlanError(f"{path}: the plan has no digest (made by an older wbplay?); make a new plan")
    if digest(doc) != doc["digest"]:
        raise PlanError(
            f"{path}: refusing to apply: the plan's content does not match its digest "
            "(it was edited after it was made). Make a new plan and have it reviewed."
        )
    return doc


def check_expect(doc: dict[str, Any], path: Path, expect: str | None) -> None:
    """``--expect DIGEST``: the digest the approver saw in plan.md (a prefix of 16+ hex digits)."""
    if expect is None:
        return
    want = expect.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{MIN_EXPECT},64}}", want):
        raise PlanError(
            f"--expect wants the plan digest shown in plan.md: {MIN_EXPECT} to 64 hex digits, got {expect!r}"
        )
    if not doc["digest"].startswith(want):
        raise PlanError(
            f"{path}: refusing to apply: its digest is {doc['digest']}, not the approved {want}. "
            "This is not the plan that was reviewed."
        )


def check_signature(doc: dict[str, Any], path: Path, *, trust: bool) -> None:
    plansign.verify(doc, path, trust=trust)


def check_baseline(doc: dict[str, Any], path: Path | None = None) -> None:
    """Refuse a plan that pins nothing: it would approve whatever the host looks like."""
    at = f"{path}: " if path else ""
    steps = doc["steps"]
    if not steps or not doc.get("facts_fingerprint") or any(not s.get("fingerprint") for s in steps):
        raise PlanError(
            f"{at}refusing to apply: the plan has an empty baseline (no recorded facts to compare against)"
        )


def check_fresh(
    doc: dict[str, Any], *, allow_stale: bool, now: datetime | None = None, path: Path | None = None
) -> None:
    at = f"{path}: " if path else ""
    try:
        created = datetime.fromisoformat(str(doc.get("created", "")).replace("Z", "+00:00"))
    except ValueError:
        raise PlanError(f"{at}the plan's created time {doc.get('created')!r} is not a date") from None
    if created.tzinfo is None:
        raise PlanError(f"{at}the plan's created time {doc['created']!r} has no time zone")
    age = (now or datetime.now(timezone.utc)) - created
    if -age > CLOCK_SKEW:
        raise PlanError(
            f"{at}refusing to apply: the plan is dated {doc['created']}, in the future "
            f"(more than {int(CLOCK_SKEW.total_seconds() // 60)} minutes ahead of this clock). "
            "A plan from the future would never go stale; make a new plan."
        )
    if age > STALE_AFTER and not allow_stale:
        hours = age.total_seconds() / 3600
        raise PlanOutOfDate(
            f"{at}refusing to apply: the plan is {hours:.1f} hours old (limit {doc['stale_after_hours']} h). "
            "Make a new plan, or pass --allow-stale if the host cannot have changed."
        )


def check_playbook(doc: dict[str, Any], pb: Playbook) -> None:
    planned = doc["playbook"]["sha256"]
    if pb.sha256 != planned:
        raise PlanOutOfDate(
            f"refusing to apply: the playbook {pb.path} changed since the plan "
            f"(sha256 {planned[:12]}… in the plan, {pb.sha256[:12]}… now). Make a new plan."
        )


def guard(doc: dict[str, Any], source: Path | None = None) -> PlanGuard:
    return PlanGuard(
        source=str(source or ""),
        facts=doc["host"]["facts"],
        facts_fingerprint=doc["facts_fingerprint"],
        steps=tuple(
            PlannedStep(s["id"], s["status"], s["observed"], s["change"], s["fingerprint"])
            for s in doc["steps"]
        ),
        changes={s["id"]: s["change"] for s in doc["steps"] if s["status"] == DRIFT and s["change"]},
    )
