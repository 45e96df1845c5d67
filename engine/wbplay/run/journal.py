"""The run journal: one JSON Lines file per run, every event fsync'd.

An ``intent`` record (with the before-state and the inverse action) reaches the
disk *before* the change it announces, so a run killed at any point can be
rolled back from its journal (``wbplay rollback RUN``).  Records hold op
arguments and observed values only; credentials never reach the runner, and a
field *named* like a secret (password, secret, token, credential, private key)
is masked anyway.

Reading never trusts the file: a line cut mid-write, a garbage line or bytes
that are not UTF-8 are returned as :class:`Damage` (line number and why) next
to the records that could be read, so rollback can undo what it can prove and
say exactly what it skipped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from wbplay.errors import JournalError, PathError, PlaybookError
from wbplay.paths import ensure_dir, read_regular, runs_dir
from wbplay.playbook.yamlsafe import loads_json

# Names, not substrings: `max_passes` or a registry `key` are ordinary values.
_SECRET_WORDS = frozenset(
    {"pass", "password", "passwd", "pwd", "passphrase", "secret", "token", "credential", "credentials"}
)
_KEY_QUALIFIERS = frozenset({"private", "secret", "api", "access", "signing", "client", "pem"})
_MAX_JOURNAL_BYTES = 256 * 1024 * 1024  # far beyond any real run; a bigger file is not a journal


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a secret: a secret word, or key material."""
    words = _words(name)
    if _SECRET_WORDS.intersection(words) or "apikey" in words or "privatekey" in words:
        return True
    return "key" in words and bool(_KEY_QUALIFIERS.intersection(words))


def _mask(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: ("***" if is_secret_name(str(k)) else _mask(v)) for k, v in value.items()}
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
    """Appends records to ``<runs>/<run_id>.jsonl``; each one is on disk when append returns.

    Opening an existing journal (rollback appends to the run's own) continues its
    sequence numbers, and ends a line cut mid-write first, so the new records
    never fuse with a torn one.
    """

    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        self.run_id = run_id
        self.dir = ensure_dir(directory or runs_dir(), "wbplay's runs directory")
        self.path = self.dir / f"{run_id}.jsonl"
        self._seq = 0
        torn = False
        try:
            if self.path.exists():
                found = parse(read_regular(self.path, "journal", _MAX_JOURNAL_BYTES), self.path)
                self._seq = max((r["seq"] for r in found.records if _is_int(r.get("seq"))), default=0)
                torn = found.raw_tail_unterminated
            self._file = self.path.open("a", encoding="utf-8")
            if torn:
                self._file.write("\n")
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


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True, slots=True)
class Damage:
    """A journal line that could not be read as a record."""

    line: int
    reason: str
    event: str | None = None  # the event name, when the damaged text still shows it
    step: str | None = None  # likewise the step
    torn_tail: bool = False  # the last line, cut mid-write: the run died while writing it

    def describe(self) -> str:
        what = f" ({self.event}{' of ' + self.step if self.step else ''})" if self.event or self.step else ""
        return f"line {self.line}{what}: {self.reason}"


@dataclass(frozen=True, slots=True)
class JournalFile:
    path: Path
    records: list[dict[str, Any]]
    damage: list[Damage]
    raw_tail_unterminated: bool = False  # the file does not end with a newline
    line_numbers: tuple[int, ...] = ()  # the 1-based line of each record, for messages

    def line_of(self, index: int) -> int:
        return self.line_numbers[index] if index < len(self.line_numbers) else 0


_HINT = {name: re.compile(rf'"{name}"\s*:\s*"([^"\\]{{1,200}})"') for name in ("event", "step")}


def _hint(text: str, name: str) -> str | None:
    m = _HINT[name].search(text)
    return m.group(1) if m else None


def parse(data: bytes, path: Path) -> JournalFile:
    """Every readable record of a journal's bytes, and every line that is not one."""
    records: list[dict[str, Any]] = []
    numbers: list[int] = []
    damage: list[Damage] = []
    lines = data.split(b"\n")
    unterminated = bool(data) and not data.endswith(b"\n")
    if not unterminated:
        lines = lines[:-1]  # the empty string after the final newline
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        last = unterminated and n == len(lines)
        text = raw.decode("utf-8", errors="replace")
        try:
            record = loads_json(raw.decode("utf-8"), str(path))  # bounded: depth, number size, no NaN
        except UnicodeDecodeError:
            damage.append(Damage(n, "not UTF-8 text", _hint(text, "event"), _hint(text, "step")))
            continue
        except PlaybookError as e:
            if last and e.message.startswith("not valid JSON"):
                reason = "cut mid-write: the run was killed while writing it"
            elif e.message.startswith("not valid JSON"):
                reason = "not a JSON record (garbage or a half-written line)"
            else:
                reason = f"not a journal record: {e.message}"
            damage.append(Damage(n, reason, _hint(text, "event"), _hint(text, "step"), torn_tail=last))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("event"), str):
            damage.append(Damage(n, "not a journal record (no event name)", None, _hint(text, "step")))
            continue
        records.append(record)
        numbers.append(n)
    return JournalFile(path, records, damage, unterminated, tuple(numbers))


def load(run_id: str, directory: Path | None = None) -> JournalFile:
    """A run's journal (a unique prefix of the id is enough), damage and all.

    Raises :class:`JournalError` naming the file when it cannot be read at all,
    or holds no readable record.
    """
    path = find(run_id, directory)
    try:
        data = read_regular(path, "journal", _MAX_JOURNAL_BYTES)  # a FIFO or device is refused unread
    except PathError as e:
        raise JournalError(str(e)) from None
    found = parse(data, path)
    if not found.records:
        damaged = "; ".join(f"damaged journal {d.describe()}" for d in found.damage)
        why = f" ({damaged})" if damaged else ""
        raise JournalError(
            f"{path}: the journal has no records{why}. The run stopped before it recorded anything, so "
            "this journal announces no change; delete it, or restore it from a backup if it was damaged."
        )
    return found


def read(run_id: str, directory: Path | None = None) -> list[dict[str, Any]]:
    """All readable records of a run (see :func:`load` for the damaged lines)."""
    return load(run_id, directory).records


def find(run_id: str, directory: Path | None = None) -> Path:
    d = directory or runs_dir()
    exact = d / f"{run_id}.jsonl"
    if exact.exists():
        return exact
    matches = sorted(d.glob(f"{glob_escape(run_id)}*.jsonl")) if d.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise JournalError(f"no run {run_id!r} in {d} (see `wbplay runs`)")
    raise JournalError(f"{run_id!r} matches {len(matches)} runs; give more of the id")


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)
