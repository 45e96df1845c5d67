"""Markdown for a change ticket: what was observed, what will change, the risk,
and whether each change can be rolled back.  A reviewer approves this text."""

from __future__ import annotations

import re
import shlex
from datetime import datetime, timedelta
from typing import Any

from wbplay.playbook.matchers import show
from wbplay.safetext import one_line

# What a value could use to hide or fake table rows, links or HTML: a backslash that
# would escape our escapes, the cell separator, code spans, link and image brackets,
# HTML tags and comments, and entities (``&#124;`` is a pipe once rendered).
_MD_ESCAPES = {"|": "\\|", "`": "\\`", "[": "\\[", "]": "\\]", "<": "&lt;", ">": "&gt;", "&": "&amp;"}
_MD_SPECIAL = re.compile(r"\\(?=[!-/:-@\[-`{-~])|[|`\[\]<>&]")
_CODE_SAFE = re.compile(r"[A-Za-z0-9._:+-]+")


def _text(value: Any) -> str:
    """A value from a PC or a file as inline Markdown: one line, every character shown as itself."""
    text = show(value) if not isinstance(value, str) else value
    return _MD_SPECIAL.sub(lambda m: _MD_ESCAPES.get(m.group(), "\\\\"), one_line(text))


def _cell(value: Any) -> str:
    return _text(value) or "—"


def _code(value: Any) -> str:
    """An id as a code span, where it cannot hold a backtick; anything else as plain text."""
    text = str(value)
    return f"`{text}`" if _CODE_SAFE.fullmatch(text) else _cell(text)


def _digest(doc: dict[str, Any]) -> list[str]:
    """The plan's identity: the approver approves this digest, and apply --expect refuses any other."""
    return [
        f"**Plan digest:** `{doc['digest']}`",
        "",
        f"Apply exactly this plan: `wbplay apply PLAN.json --expect {doc['digest']}`",
        "",
    ]


def _for(doc: dict[str, Any]) -> list[str]:
    """What the run was for, and, when nothing explained it, what triage would try next."""
    f = doc.get("for")
    if not f:
        return []
    out = [f"Run for **{_cell(f['code'])}** ({_cell(f['source'])}).", ""]
    if doc["exit_code"] == 6:
        nxt = ", ".join(f"`{p}`" for p in f.get("next_playbooks") or []) or "no other playbook"
        out += [f"> **No cause found:** every check passed; the backup will still fail. Next: {nxt}.", ""]
    return out


def render(doc: dict[str, Any]) -> str:
    pb, host, summary = doc["playbook"], doc["host"], doc["summary"]
    is_plan = doc["kind"] == "plan"
    title = "Change plan" if is_plan else ("Dry run" if doc["mode"] == "dry-run" else "Run report")
    lines = [
        f"# {title}: {_text(pb['id'])} on {_text(host['identity'])}",
        "",
        f"**{_text(pb['title'])}**",
        "",
        "| | |",
        "|---|---|",
        f"| Playbook | {_code(pb['id'])} (sha256 {_code(pb['sha256'][:16])}…) |",
        f"| Host | {_cell(host['identity'])} |",
        f"| OS | {_cell(host['facts'].get('caption'))} {_cell(host['facts'].get('version'))} |",
        f"| Variables | {_cell(', '.join(f'{k}={v}' for k, v in doc['variables'].items()) or 'none')} |",
        f"| Started | {_cell(doc['started'])} |",
        f"| Outcome | {_cell(doc['outcome'])} (exit {doc['exit_code']}) |",
        f"| Steps | {_cell(', '.join(f'{n} {k}' for k, n in sorted(summary['counts'].items())))} |",
        "",
    ]
    if is_plan and doc.get("digest"):
        lines += _digest(doc)
    if summary["irreversible"]:
        lines += [
            f"> **Irreversible steps:** {_text(', '.join(summary['irreversible']))}. "
            "They cannot be rolled back.",
            "",
        ]
    if summary["manual"]:
        lines += [f"> **Manual steps (a human must act):** {_text(', '.join(summary['manual']))}.", ""]
    if summary["blocked"]:
        lines += [f"> **Blocked until opted in:** {_text(', '.join(summary['blocked']))}.", ""]
    if summary.get("first_needed"):
        first = ", ".join(summary["first_needed"])
        lines += [f"> **First:** {_cell(first)} must be allowed and run; later repairs wait for it.", ""]
    lines += _for(doc)
    changes = [s for s in doc["steps"] if s["change"]]
    lines += ["## Changes", ""]
    if changes:
        lines += ["| Step | Change (before → after) | Risk | Rollback | Status |", "|---|---|---|---|---|"]
        for s in changes:
            c = s["change"]
            undo = "yes: " + _cell(c["undo"]["kind"]) if c["undo"] else "**no**"
            lines.append(
                f"| {_code(s['id'])} | {_cell(c['description'])} | {_cell(c['risk'])} | {undo} "
                f"| {_cell(s['status'])} |"
            )
    else:
        lines.append("No changes.")
    lines += ["", "## Steps", ""]
    for n, s in enumerate(doc["steps"], 1):
        lines += [
            f"### {n}. {_code(s['id'])}: {_text(s['title'])}",
            "",
            f"Why: {_cell(s['why'])}",
            "",
            "| Status | Observed (evidence) | Expected | Risk | Rollback possible |",
            "|---|---|---|---|---|",
        ]
        c = s["change"]
        risk = c["risk"] if c else "read-only"
        rollback = ("yes" if c["undo"] else "no") if c else "n/a"
        lines.append(
            f"| {_cell(s['status'])} | {_cell(s['observed'])} | {_cell(s['expected'])} | {_cell(risk)} "
            f"| {rollback} |"
        )
        for label in ("message", "error"):
            if s[label]:
                lines += ["", f"{label.capitalize()}: {_cell(s[label])}"]
        lines.append("")
    lines += _records(doc)
    return "\n".join(lines)


# -- records: where the run is kept, how to undo it, how to apply a plan ----------------------
def _command(*argv: str) -> list[str]:
    """A command to copy, as a fenced block (one line; arguments quoted for a shell)."""
    line = " ".join(shlex.quote(" ".join(str(a).split())) for a in argv)
    return ["```sh", line, "```", ""]


def _records(doc: dict[str, Any]) -> list[str]:
    run_id = str(doc["run_id"])
    lines = ["## Records", "", "| | |", "|---|---|", f"| Run id | {_cell(run_id)} |"]
    if doc.get("journal"):
        lines.append(f"| Journal | {_cell(doc['journal'])} (read it with `wbplay log` and the run id) |")
    lines.append("")
    if doc["kind"] == "plan":
        return lines + _how_to_apply(doc)
    if doc["mode"] != "apply":
        return [*lines, "A dry run changes nothing: there is nothing to roll back.", ""]
    return lines + _rollback(doc, run_id)


def _rollback(doc: dict[str, Any], run_id: str) -> list[str]:
    summary = doc["summary"]
    rolled, failed = summary["rolled_back"], summary["rollback_failed"]
    sent = [s for s in doc["steps"] if s["change"] and s["status"] in ("fixed", "failed")]
    left = [s for s in sent if s["id"] not in rolled]
    lines = ["## Rollback", ""]
    if rolled:
        lines += [f"Rolled back during the run: {_cell(', '.join(rolled))}.", ""]
    if failed:
        lines += [f"**Could not be rolled back:** {_cell(', '.join(failed))}; check them by hand.", ""]
    if left:
        lines += [
            "Changes this run left on the PC, newest last:",
            "",
            "| Step | Change | Undo |",
            "|---|---|---|",
        ]
        for s in left:
            undo = _cell(s["change"]["undo"]["kind"]) if s["change"]["undo"] else "**cannot be undone**"
            lines.append(f"| {_cell(s['id'])} | {_cell(s['change']['description'])} | {undo} |")
        lines.append("")
    elif not rolled:
        lines += ["This run changed nothing on the PC.", ""]
    lines += ["To undo what this run changed, newest change first (each undo is verified):", ""]
    return lines + _command("wbplay", "rollback", run_id)


def _how_to_apply(doc: dict[str, Any]) -> list[str]:
    created = str(doc.get("created", ""))
    hours = int(doc.get("stale_after_hours", 24))
    try:
        made = datetime.fromisoformat(created.replace("Z", "+00:00"))
        expires = (made + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
    except ValueError:
        expires = f"{hours} h after it was made"
    lines = [
        "## How to apply",
        "",
        "Once this plan is approved, apply exactly these changes, and nothing else:",
        "",
        *_command("wbplay", "apply", str(doc.get("plan_file") or "PLAN.json")),
        f"The plan was made {_cell(created)} and expires {_cell(expires)} ({hours} h): after that, "
        "`wbplay apply` refuses it unless `--allow-stale` is given. It also refuses it, changing "
        "nothing, if the PC or the playbook no longer reads as it did here.",
        "",
        "Every change `wbplay apply` makes is journalled and can be undone with `wbplay rollback RUN`, "
        "RUN being the id of the run it starts (the name of the journal file its summary prints).",
        "",
    ]
    return lines
