"""The journal's use cases: rollback, the list of runs, pruning."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from wbplay.app.runs import _lock_key, pc_locked
from wbplay.errors import JournalError, UsageError
from wbplay.hosts.factory import ConnectOptions, open_host
from wbplay.run import history, hostlock
from wbplay.run import journal as journal_mod
from wbplay.run import recorded as recorded_mod
from wbplay.run import rollback as rollback_mod
from wbplay.run import rollback_run as rollback_run_mod
from wbplay.run.history import RunSummary
from wbplay.run.options import Listener
from wbplay.vocab.ops import Op


def _pc_read(host_spec: str, connect: ConnectOptions | None, name: str) -> object:
    """One ``journal.read`` on the PC (read-only): the journals an exported remediate.ps1 wrote."""
    host = open_host(host_spec, read_only=True, options=connect or ConnectOptions())
    try:
        result = host.read([Op("journal.read", {"name": name} if name else {})])[0]
    finally:
        host.close()
    if not result.ok:
        why = result.error.message if result.error else "the read failed"
        raise JournalError(f"{host_spec}: cannot read the PC's journals: {why}")
    return result.value


def pc_runs(host_spec: str, connect: ConnectOptions | None = None) -> list[dict[str, object]]:
    """``wbplay log --host H``: the runs exported scripts journaled on the PC, ``{name, size}``."""
    value = _pc_read(host_spec, connect, "")
    return [dict(v) for v in value] if isinstance(value, list) else []


def pc_journal(run_id: str, host_spec: str, connect: ConnectOptions | None = None) -> journal_mod.JournalFile:
    """``wbplay log RUN --host H``: a journal the PC wrote, read over the agent, damage and all."""
    value = _pc_read(host_spec, connect, run_id)
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise JournalError(
            f"{host_spec}: no journal {run_id!r} in %ProgramData%\\wbplay\\runs (see wbplay log --host)"
        )
    found = journal_mod.parse(value["text"].encode("utf-8"), Path(f"{host_spec}:{run_id}.jsonl"))
    if not found.records:
        raise JournalError(f"{host_spec}: the journal {run_id!r} has no readable record")
    return found


def _fetch_from_pc(
    run_id: str, host_spec: str, connect: ConnectOptions | None, runs_dir: Path | None
) -> None:
    """A run wbplay has no journal of, journaled on the PC by remediate.ps1: copy it here first,
    so that the one rollback rule (and its record of what it undid) applies to it as to any run."""
    try:
        journal_mod.find(run_id, runs_dir)
        return
    except JournalError:
        pass
    value = _pc_read(host_spec, connect, run_id)
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return  # neither here nor on the PC: journal_mod.load names the run as missing
    directory = runs_dir or journal_mod.runs_dir()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{run_id}.jsonl").write_text(value["text"], encoding="utf-8")


def rollback_run(
    run_id: str,
    *,
    host_spec: str | None,
    listener: Listener,
    connect: ConnectOptions | None = None,
    runs_dir: Path | None = None,
    policy: rollback_mod.UndoPolicy | None = None,
    dry_run: bool = False,
    confirm: rollback_run_mod.Confirm | None = None,
) -> rollback_run_mod.RollbackResult:
    """Undo what a finished, failed or interrupted run changed, from its journal.

    A journal whose changes are all settled never opens the PC.  Otherwise the
    PC must be the one the run changed (hostname and MachineGuid), and a WinRM
    run is reopened as the user it ran as (the journal holds the name, never a
    password).  ``confirm`` sees the plan before anything is undone (None: yes).
    """
    if host_spec:
        _fetch_from_pc(run_id, host_spec, connect, runs_dir)
    found = journal_mod.load(run_id, runs_dir)
    entries = recorded_mod.entries(found)
    known = {c.step_id for c in entries.changes} | set(entries.settled)
    unknown = sorted((policy.allow if policy else frozenset()) - known)
    if unknown:
        raise UsageError(f"--allow names no change of {found.path.stem}: {', '.join(unknown)}")
    if not entries.changes:
        return rollback_run_mod.nothing_to_do(found, entries)
    spec = host_spec or entries.start.get("host_spec")
    if not isinstance(spec, str) or not spec:
        raise UsageError(f"{found.path} does not name its host; pass --host")
    opts = connect or ConnectOptions()
    if entries.user and opts.username is None:
        opts = dataclasses.replace(opts, username=entries.user)
    pol = dataclasses.replace(policy or rollback_mod.UndoPolicy(), run_id=found.path.stem)
    host = open_host(spec, read_only=dry_run, options=opts)
    lock = None
    pc = None
    try:
        # A rollback changes the PC too: it holds the host lock like a run (a stale one is taken over).
        if not dry_run:
            lock = hostlock.acquire(_lock_key(spec, host), f"{found.path.stem} (rollback)")
            if lock.recovered is not None:
                listener.event("lock.recovered", {"host": spec, "stale": lock.recovered.describe()})
            pc = pc_locked(spec, host, f"{found.path.stem} (rollback)", listener)
        return rollback_run_mod.roll_back(
            pc or host, found, entries, policy=pol, listener=listener, dry_run=dry_run, confirm=confirm
        )
    finally:
        if pc is not None:
            pc.release()
        if lock is not None:
            lock.release()
        host.close()


def runs(
    *,
    host: str | None = None,
    playbook: str | None = None,
    limit: int | None = None,
    fleet: str | None = None,
) -> list[RunSummary]:
    """Past runs, newest first (``fleet``: only those of one fleet run)."""
    found = history.summaries(host=host, playbook=playbook, fleet=fleet)
    return found[:limit] if limit is not None else found


def prune_runs(older_than: str) -> history.Pruned:
    """Delete the journals of settled runs older than ``older_than`` (``90d``)."""
    return history.prune(history.parse_age(older_than))
