"""The exported runner's assessment, in Python, over the plan a script embeds.

It mirrors ``runner.ps1``'s ``Get-WbAssessment`` line for line, with the
project's own matchers and conditions, so a test can run an exported script's
plan against a simulated PC and compare it with ``wbplay run --dry-run``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wbplay.agent.request import decode_request
from wbplay.errors import AgentError
from wbplay.playbook import conditions, matchers
from wbplay.vocab.ops import Op, OpResult

Execute = Callable[[Sequence[Op]], list[OpResult]]

_DATA = re.compile(r"^\$WbExportData = '([A-Za-z0-9+/=]*)'\r?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Judged:
    step: str
    status: str
    observed: Any
    before: Any = None


def embedded_plan(script: str) -> dict[str, Any]:
    """The plan in an exported script's data block."""
    found = _DATA.search(script)
    if found is None:
        raise AgentError("no $WbExportData block in the script")
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8"))


def _observed(probe: dict[str, Any], results: Sequence[OpResult]) -> tuple[Any, str | None]:
    result = results[probe["op"]]
    if not result.ok:
        return None, result.error.message if result.error else "read failed"
    value, pick = result.value, probe["pick"]
    if pick == "=present":
        value, pick = value is not None, None
    elif pick == "=registry":
        value, pick = (value.get("value") if value and value.get("exists") else None), None
    parts = ([pick] if pick is not None else []) + (probe["field"].split(".") if probe["field"] else [])
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            value = None
    return value, None


def assess(plan: dict[str, Any], execute: Execute) -> list[Judged]:
    """Every step of ``plan`` judged from one batch of its reads, as the script does."""
    _mode, ops = decode_request(plan["reads"])
    results = execute(ops)
    facts = results[0].value or {}
    statuses: dict[str, str] = {}
    out: list[Judged] = []
    for step in plan["steps"]:
        observed: Any = None
        before: Any = None
        if not conditions.holds(step["when"], variables=plan["vars"], facts=facts, statuses=statuses):
            status = "blocked" if any(statuses.get(g) == "finding" for g in step["guards"]) else "skipped"
        else:
            observed, error = _observed(step["check"], results)
            if error is None and step["before"] is not None:
                before, error = _observed(step["before"], results)
            if error is not None:
                status = "error"
            elif matchers.matches(step["expect"], observed):
                status = "ok"
            elif step["remedy"] == "":
                status = "finding"
            elif step["remedy"] == "manual":
                status = "manual"
            elif any(statuses.get(w) == "blocked" for w in step["waits"]):
                status = "skipped"
            else:
                status = "drift" if step["consented"] else "blocked"
        statuses[step["id"]] = "fixed" if status == "drift" else status
        out.append(Judged(step["id"], status, observed, before))
    return out


def write_op(template: dict[str, Any] | None, before: Any) -> Op | None:
    """``New-WbWriteOp``: the op of a remedy or undo template, given the before-state."""
    if template is None:
        return None
    if "unless_before" in template and before == template["unless_before"]:
        return None
    if "only_if_before" in template and before != template["only_if_before"]:
        return None
    args = dict(template["args"])
    if "before_arg" in template:
        if before is None:
            return None
        args[template["before_arg"]] = before
    return Op(template["op"], args)


def remediate(plan: dict[str, Any], execute: Execute) -> tuple[int, dict[str, str]]:
    """``Invoke-WbRemediation``: (exit code, status by step) after applying every drift."""
    judged = assess(plan, execute)
    by_id = {s["id"]: s for s in plan["steps"]}
    statuses = {j.step: j.status for j in judged}
    applied: list[Judged] = []
    failed = False
    for j in judged:
        if j.status != "drift":
            continue
        step = by_id[j.step]
        op = write_op(step["apply"], j.before)
        assert op is not None
        applied.append(j)
        ok = execute([op])[0].ok
        if ok:
            verify = step["verify"]
            _mode, ops = decode_request(verify["request"])
            seen, error = _observed({"op": 0, "pick": verify["pick"], "field": verify["field"]}, execute(ops))
            ok = error is None and matchers.matches(verify["expect"], seen)
        if not ok:
            statuses[j.step], failed = "failed", True
            break
        statuses[j.step] = "fixed"
    if not failed:
        return 0, statuses
    code = 1
    for j in reversed(applied):
        undo = write_op(by_id[j.step]["undo"], j.before)
        if undo is not None and not execute([undo])[0].ok:
            code = 2
    return code, statuses
