"""The exported runner's assessment, in Python, over the plan a script embeds.

It mirrors ``runner.ps1``'s ``Get-WbAssessment`` line for line, with the
project's own matchers and conditions, so a test can run an exported script's
plan against a simulated PC and compare it with ``wbplay run --dry-run``.
"""

from __future__ import annotations

import base64
import json
import re
import unicodedata
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


def _norm(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).replace("\r\n", "\n").replace("\r", "\n")


def _after_colon(line: str) -> str:
    return line.split(":", 1)[1].strip() if ":" in line else line.strip()


def _writer_blocks(command: Any, p: dict[str, Any]) -> list[dict[str, Any]]:
    """``ConvertFrom-WbWriters``: vssadmin list writers -> [{name, id, instance_id, state, ...}]."""
    out: list[dict[str, Any]] = []
    if command is None:
        return out
    current: dict[str, Any] | None = None
    after_state = False
    for line in _norm(command["output"]).split("\n"):
        if line.strip() == "":
            current, after_state = None, False
            continue
        name = re.match(p["name_re"], line)
        if name:
            current = {
                "name": name.group(1),
                "id": None,
                "instance_id": None,
                "state": None,
                "last_error": None,
            }
            out.append(current)
            after_state = False
            continue
        if current is None:
            continue
        guid = re.search(p["guid_re"], line)
        state = re.search(p["state_re"], line)
        if state and current["state"] is None:
            current["state"] = int(state.group(1))
            after_state = True
        elif after_state:
            current["last_error"] = _after_colon(line)
            after_state = False
        elif guid:
            current["id" if current["id"] is None else "instance_id"] = guid.group(0).lower()
    for w in out:
        w["failed"] = w["state"] in p["failed_states"]
    return out


def _providers(command: Any, p: dict[str, Any]) -> list[dict[str, Any]]:
    """``ConvertFrom-WbProviders``: vssadmin list providers -> [{name, id, third_party}]."""
    out: list[dict[str, Any]] = []
    for line in _norm(command["output"]).split("\n"):
        name = re.match(p["name_re"], line)
        if name:
            out.append({"name": name.group(1), "id": None, "third_party": None})
            continue
        guid = re.search(p["guid_re"], line)
        if guid and out and out[-1]["id"] is None:
            out[-1]["id"] = guid.group(0).lower()
            out[-1]["third_party"] = out[-1]["id"] not in p["microsoft"]
    return out


def _in_progress(values: list[Any], p: dict[str, Any]) -> dict[str, Any]:
    busy = [w["name"] for w in _writer_blocks(values[0], p) if w["state"] in p["busy_states"]]
    events = values[1] or []
    started = [e["time"] for e in events if e.get("id") == p["started_id"]]
    ended = [e["time"] for e in events if e.get("id") == p["completed_id"]]
    job = bool(started) and (not ended or max(started) > max(ended))
    why = []
    if job:
        why.append(f"a Windows backup started at {max(started)} and has not completed")
    if busy:
        why.append("a shadow copy is in progress (writers waiting: " + ", ".join(busy) + ")")
    return {
        "running": bool(why),
        "why": "; ".join(why),
        "job_started": max(started) if job else None,
        "busy_writers": busy,
    }


def _easy_print(values: list[Any], p: dict[str, Any]) -> dict[str, Any]:
    drivers, printers = values[0] or [], values[1] or []
    names = sorted({d["name"] for d in drivers if p["phrase"] in d["name"].lower()})
    redirected = sorted(
        x["name"]
        for x in printers
        if p["phrase"] in x.get("driver", "").lower() or re.match(p["port_re"], x.get("port", ""))
    )
    return {"present": bool(names or redirected), "drivers": names, "printers": redirected}


def derive(name: str, values: list[Any], p: dict[str, Any]) -> Any:
    """``Get-WbDerived``: a derived check kind's value from its reads' values, with the plan's tables."""
    if name == "writers":
        return None if values[0] is None else _writer_blocks(values[0], p)
    if name == "writer":
        return next((w for w in _writer_blocks(values[0], p) if w["name"].lower() == p["name"]), None)
    if name == "failed_writers":
        return None if values[0] is None else [w["name"] for w in _writer_blocks(values[0], p) if w["failed"]]
    if name == "in_progress":
        return _in_progress(values, p)
    if name == "providers":
        return None if values[0] is None else _providers(values[0], p)
    if name == "third_party_providers":
        return (
            None if values[0] is None else [x["name"] for x in _providers(values[0], p) if x["third_party"]]
        )
    if name == "policy_disabled":
        return [
            x["name"]
            for x in values[0] or []
            if str(x.get("name", "")).lower() in p["names"] and x.get("start_mode") == "Disabled"
        ]
    if name == "system_writer_errors":
        if values[0] is None:
            return None
        return [
            e for e in values[0] if not any(m in str(e.get("message") or "").lower() for m in p["benign"])
        ]
    if name == "easy_print":
        return _easy_print(values, p)
    raise AgentError(f"unknown derivation {name!r}")


def _observed(probe: dict[str, Any], results: Sequence[OpResult]) -> tuple[Any, str | None]:
    for index in probe.get("ops") or [probe["op"]]:
        failed = results[index]
        if not failed.ok:
            return None, failed.error.message if failed.error else "read failed"
    result = results[probe["op"]]
    value, pick = result.value, probe["pick"]
    if probe.get("derive"):
        value = derive(probe["derive"], [results[i].value for i in probe["ops"]], probe["params"])
    elif pick == "=present":
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
        if step.get("reported"):
            status = "reported"
        elif not conditions.holds(step["when"], variables=plan["vars"], facts=facts, statuses=statuses):
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
    if "before_fields" in template:
        if not (isinstance(before, dict) and before.get("exists")):
            return write_op(template["when_absent"], before)
        args.update({f: before.get(f) for f in template["before_fields"]})
    if "before_arg" in template:
        if before is None:
            return None
        args[template["before_arg"]] = before
    return Op(template["op"], args)


def _identity(results: Sequence[OpResult]) -> dict[str, Any]:
    """``Get-WbIdentity``: hostname (read 0) and MachineGuid (read 1) for the journal."""
    name = str(results[0].value.get("hostname") or "") if results[0].ok and results[0].value else ""
    entry = results[1].value if results[1].ok else None
    guid = str(entry["value"]) if isinstance(entry, dict) and entry.get("exists") else None
    return {"hostname": name, "machine_guid": guid}


def _inverse(op: Op | None) -> dict[str, Any] | None:
    return None if op is None else {"kind": op.name, **op.args}


class Journal:
    """``Write-WbJournal``: the records remediate.ps1 appends, in wbplay's event shape."""

    def __init__(self, run: str, clock: Callable[[], str]) -> None:
        self.run, self.clock = run, clock
        self.records: list[dict[str, Any]] = []

    def write(self, event: str, **fields: Any) -> None:
        self.records.append(
            {"ts": self.clock(), "run": self.run, "seq": len(self.records) + 1, "event": event, **fields}
        )

    def text(self) -> str:
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in self.records)


def remediate(
    plan: dict[str, Any], execute: Execute, journal: Journal | None = None
) -> tuple[int, dict[str, str]]:
    """``Invoke-WbRemediation``: (exit code, status by step) after applying every drift."""
    _mode, read_ops = decode_request(plan["reads"])
    reads = execute(read_ops)
    judged = assess(plan, lambda _ops: reads)
    log = journal.write if journal is not None else (lambda event, **fields: None)
    log("run.start", playbook=plan["playbook"], dry_run=False, engine="remediate")
    log("host.identity", **_identity(reads))
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
        log(
            "change.intent",
            step=j.step,
            action=step["record"]["action"],
            before=j.before,
            before_probe=step["record"]["before_probe"],
            inverse=_inverse(write_op(step["undo"], j.before)),
        )
        applied.append(j)
        result = execute([op])[0]
        ok = result.ok
        if not ok:
            log("change.failed", step=j.step, error=result.error.message if result.error else "failed")
        else:
            log("change.done", step=j.step)
            verify = step["verify"]
            _mode, ops = decode_request(verify["request"])
            seen, error = _observed(verify["check"], execute(ops))
            ok = error is None and matchers.matches(verify["expect"], seen)
            log("step.verify", step=j.step, observed=seen, ok=ok, error=error)
        if not ok:
            statuses[j.step], failed = "failed", True
            break
        statuses[j.step] = "fixed"
    code = 0
    if failed:
        code = 1
        for j in reversed(applied):
            undo = write_op(by_id[j.step]["undo"], j.before)
            if undo is None:
                log("undo.skip", step=j.step, why="nothing to undo")
            elif execute([undo])[0].ok:
                log("undo.verify", step=j.step, ok=True, action=undo.name)
            else:
                code = 2
                log("undo.failed", step=j.step, action=undo.name, error="failed")
    log("run.end", exit_code=code, rolled_back=code == 1)
    return code, statuses
