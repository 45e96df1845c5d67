"""Replay fixtures from ``wbplay doctor --record DIR``: each op's raw agent output, redacted.

One JSON file per agent run (``NN-<op>.json``: the op, its arguments, the raw stdout and
stderr as text, the exit code and the verdict at record time) and ``doctor.json`` (the
checks).  The test suite's replay harness (tests/test_replay.py) decodes every recorded run
with the engine of the day, so a recorded PC becomes a regression test the day it is
recorded.

Redacted before anything is written: the account and host names seen (plain and as they
appear JSON-escaped in a frame), the domain part of every account SID (the RID stays, so
"500 = Administrator" still reads), and user profile folder names.  Passwords never reach
the agent's output; a password handed in is redacted too, should a tool ever echo it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from wbplay.errors import UsageError
from wbplay.hosts.doctor import DoctorReport

REDACTED_USER = "REDACTED-USER"
REDACTED_HOST = "REDACTED-HOST"
_SID = re.compile(r"S-1-5-21-\d+-\d+-\d+")
# C:\Users\<name> as a frame holds it (backslashes JSON-escaped) or plain, e.g. in stderr.
_PROFILE = re.compile(r"(?i)(\\{1,2}Users\\{1,2})(?!Public\b|Default\b|All Users\b)([^\\\"<>|:*?\r\n]+)")


def _forms(name: str) -> set[str]:
    escaped = json.dumps(name, ensure_ascii=True)[1:-1]
    return {name, escaped, escaped.replace("\\\\", "\\")}


def redact(
    text: str, *, users: Iterable[str] = (), hosts: Iterable[str] = (), secrets: Iterable[str] = ()
) -> str:
    """``text`` with every listed name and secret replaced, SIDs and profile folders anonymised."""
    pairs: list[tuple[str, str]] = []
    for placeholder, items in ((REDACTED_USER, users), (REDACTED_HOST, hosts), ("REDACTED", secrets)):
        for item in items:
            if len(item) >= 2:
                pairs += [(form, placeholder) for form in _forms(item)]
    for form, placeholder in sorted(pairs, key=lambda p: -len(p[0])):  # "PC\\alice" before "alice"
        # Whole words only: an account "admin" must not eat "Administrators".
        text = re.sub(
            rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", placeholder, text, flags=re.IGNORECASE
        )
    text = _SID.sub("S-1-5-21-0-0-0", text)
    return _PROFILE.sub(lambda m: m.group(1) + REDACTED_USER, text)


def write(
    report: DoctorReport, directory: Path, *, identity: str = "", secrets: Iterable[str] = ()
) -> list[Path]:
    """Write ``report``'s runs and checks under ``directory`` (created; must be empty).
    ``identity`` is the host's (``winrm://user@host:port``): its user is redacted too."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"--record {directory}: the folder is not empty; give a new one")
    directory.mkdir(parents=True, exist_ok=True)
    hosts = [n for n in report.names if "\\" not in n][:1]  # os.info's hostname comes first
    users = [n for n in report.names if n not in hosts]
    if "://" in identity and "@" in identity:  # the account wbplay logged in as
        login = identity.split("://", 1)[1].rsplit("@", 1)[0]
        users += [login, login.rsplit("\\", 1)[-1]]
    secret_list = [s for s in secrets if s]

    def clean(text: str) -> str:
        return redact(text, users=users, hosts=hosts, secrets=secret_list)

    written: list[Path] = []
    for n, raw in enumerate(report.raws, start=1):
        path = directory / f"{n:02d}-{raw.op.name}.json"
        doc = {
            "op": raw.op.name,
            "args": json.loads(clean(json.dumps(raw.op.args))),
            "exit_code": raw.exit_code,
            "verdict": raw.verdict,
            "stdout": clean(raw.stdout.decode("utf-8", errors="replace")),
            "stderr": clean(raw.stderr.decode("utf-8", errors="replace")),
        }
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n", encoding="ascii")
        written.append(path)
    summary = {
        "checks": [{"name": c.name, "status": c.status, "detail": clean(c.detail)} for c in report.checks],
        "exit_code": int(report.exit_code),
    }
    path = directory / "doctor.json"
    path.write_text(json.dumps(summary, indent=1, ensure_ascii=True) + "\n", encoding="ascii")
    return [*written, path]
