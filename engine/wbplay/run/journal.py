"""The run journal: one JSON Lines file per run, every event fsync'd.

An ``intent`` record (with the before-state and the inverse action) reaches the
disk *before* the change it announces, so a run killed at any point can be
rolled back from its journal (``wbplay rollback RUN``).  Records hold op
arguments and observed values only; credentials never reach the runner, and
any key that looks like one is masked anyway.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wbplay.errors import JournalError, PathError, PlaybookError
from wbplay.paths import ensure_dir, read_regular, runs_dir
from wbplay.playbook.yamlsafe import loads_json

# "pass" alone or as password/passwd/passphrase, but not "passes" (max_passes is a count, and
# `wbplay resume` needs it back from the journal).
_SECRET_KEY = re.compile(r"pass(word|wd|phrase)?(?![a-z])|secret|token|credential", re.IGNORECASE)


def _mask(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: ("***" if _SECRET_KEY.search(str(k)) else _mask(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id(playbook_id: str, host: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    safe_host = re.sub(r"[^A-Za-z0-9-]+", "-", host).strip("-")[:32] or "host"
    return f"{stamp}-{playbook_id}-{safe_host}-{secrets.token_hex(2)}"


class Journal:
    """Appends records to ``<runs>/<run_id>.jsonl``; each one is on disk when append returns."""

    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        self.run_id = run_id
        self.dir = ensure_dir(directory or runs_dir(), "wbplay's runs directory")
        self.path = self.dir / f"{run_id}.jsonl"
        self._seq = 0
        try:
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as e:
            raise PathError(str(self.path), f"cannot write the journal: {e.strerror or e}") from None

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        self._seq += 1
        record = {"ts": now_iso(), "run": self.run_id, "seq": self._seq, "event": event, **_mask(fields)}
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return record

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: str
    started: str
    playbook: str
    host: str
    mode: str
    outcome: str  # the run.end outcome, or "interrupted" when the journal just stops


def read(run_id: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """All records of a run (a prefix of the id is enough when it is unique).

    Every problem is a :class:`JournalError` that names the journal file."""
    path = find(run_id, directory)
    try:
        text = read_regular(path, "journal", 64 * 1024 * 1024).decode("utf-8")
    except PathError as e:
        raise JournalError(str(e)) from None
    except UnicodeDecodeError as e:
        raise JournalError(f"{path}: damaged journal: not UTF-8 text (byte {e.start})") from None
    # Records end at "\n" only: splitlines() would also split at U+0085 or U+2028, which
    # a PC's value can hold and JSON leaves unescaped, and call the journal damaged.
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    records = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = loads_json(line, str(path))
        except PlaybookError as e:
            # A run killed mid-write can leave one torn last line; anything else is damage.
            if n == len(lines) and records:
                break
            raise JournalError(f"{path}:{n}: damaged journal line ({e.message})") from None
        if not isinstance(record, dict) or not isinstance(record.get("event"), str):
            raise JournalError(f"{path}:{n}: not a journal record (a JSON object with an event)")
        records.append(record)
    if not records:
        raise JournalError(f"{path}: the journal has no records; there is nothing to roll back from it")
    return records


def find(run_id: str, directory: Path | None = None) -> Path:
    d = directory or runs_dir()
    exact = d / f"{run_id}.jsonl"
    if exact.is_file():
        return exact
    matches = sorted(d.glob(f"{run_id}*.jsonl")) if d.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise JournalError(f"no run {run_id!r} in {d} (see `wbplay runs`)")
    raise JournalError(f"{run_id!r} matches {len(matches)} runs; give more of the id")


def summaries(directory: Path | None = None) -> Iterator[RunSummary]:
    d = directory or runs_dir()
    if not d.is_dir():
        return
    for path in sorted(d.glob("*.jsonl")):
        try:
            records = read(path.stem, d)
        except JournalError:
            continue
        if not records:
            continue
        start = records[0]
        end = next((r for r in reversed(records) if r["event"] == "run.end"), None)
        yield RunSummary(
            run_id=path.stem,
            started=start.get("ts", ""),
            playbook=start.get("playbook", {}).get("id", "?"),
            host=start.get("host", "?"),
            mode=start.get("mode", "?"),
            outcome=end["outcome"] if end else "interrupted",
        )
