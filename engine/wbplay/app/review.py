"""Change review: save a dry-run as a plan, apply exactly that plan."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wbplay.app.runs import RunRequest, run
from wbplay.hosts.factory import ConnectOptions
from wbplay.playbook.model import Step
from wbplay.run import plan as plan_mod
from wbplay.run.options import Listener
from wbplay.run.results import RunReport


def make_plan(
    req: RunRequest, out: Path, *, listener: Listener, runs_dir: Path | None = None
) -> dict[str, Any]:
    """The dry-run, saved for review (``wbplay plan -o plan.json``)."""
    dry = dataclasses.replace(req, dry_run=True)
    report, _ = run(dry, listener=listener, confirm=lambda r: False, runs_dir=runs_dir)
    doc = plan_mod.build(report, req.allow)
    plan_mod.save(doc, out)
    # Not part of the signed plan: only its review text (--report md:) names the exact `wbplay apply`.
    return {**doc, "plan_file": str(out)}


def apply_plan(
    path: Path,
    *,
    allow_stale: bool,
    listener: Listener,
    confirm: Callable[[RunReport], bool],
    connect: ConnectOptions | None = None,
    host_spec: str | None = None,
    runs_dir: Path | None = None,
    ask_manual: Callable[[Step, str], bool] | None = None,
    expect: str | None = None,
    trust: bool = False,
) -> tuple[RunReport, Path]:
    """Apply exactly what a reviewed plan says, or refuse with the reason.

    The file must be the reviewed one (digest, ``--expect``), made here (signature,
    unless ``trust``), current, and then the runner re-derives every step on the host
    now and refuses unless the plan is exactly that derivation."""
    doc = plan_mod.load(path)
    plan_mod.check_expect(doc, path, expect)
    plan_mod.check_signature(doc, path, trust=trust)
    plan_mod.check_baseline(doc, path)
    plan_mod.check_fresh(doc, allow_stale=allow_stale, path=path)
    req = RunRequest(
        playbook=doc["playbook"]["path"],
        host=host_spec or doc["host"]["spec"],
        dry_run=False,
        variables={k: v for k, v in doc["variables"].items() if v is not None},
        allow=frozenset(doc["allow"]),
        connect=connect or ConnectOptions(),
    )
    return run(
        req,
        listener=listener,
        confirm=confirm,
        ask_manual=ask_manual,
        runs_dir=runs_dir,
        plan_guard=plan_mod.guard(doc, path),
        expect_sha256=doc["playbook"]["sha256"],
    )
