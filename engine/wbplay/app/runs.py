"""Running one playbook on one PC (and resuming an interrupted run)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbplay import report as report_mod
from wbplay.errors import JournalError, UsageError
from wbplay.hosts.base import Host
from wbplay.hosts.factory import ConnectOptions, expand, is_sim, open_host
from wbplay.library import failure_context
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Playbook, Step
from wbplay.playbook.variables import bind
from wbplay.run import hostlock
from wbplay.run import journal as journal_mod
from wbplay.run import plan as plan_mod
from wbplay.run.document import to_document
from wbplay.run.journal import Journal, new_run_id
from wbplay.run.options import Listener, Options
from wbplay.run.planguard import PlanGuard
from wbplay.run.results import RunReport
from wbplay.run.runner import Runner, check_allow
from wbplay.sim.state import resolve_state_file


@dataclass(frozen=True, slots=True)
class RunRequest:
    playbook: str
    host: str
    dry_run: bool
    variables: dict[str, str]
    rollback: bool = True
    allow: frozenset[str] = frozenset()
    connect: ConnectOptions = field(default_factory=ConnectOptions)
    skip_manual: bool = False
    reboot_timeout_s: float = 4 * 3600.0
    reboot_poll_s: float = 10.0
    for_code: str | None = None  # --for: the error code the run is for
    for_event: bool = False  # --for-event: the run is for the PC's newest backup failure event


def load_playbook(name: str) -> Playbook:
    return playbook_mod.load(playbook_mod.resolve(name))


def run(
    req: RunRequest,
    *,
    listener: Listener,
    confirm: Callable[[RunReport], bool],
    ask_manual: Callable[[Step, str], bool] | None = None,
    runs_dir: Path | None = None,
    plan_guard: PlanGuard | None = None,
    expect_sha256: str | None = None,
    loaded: Playbook | None = None,
    stop: threading.Event | None = None,
    resumes: str = "",
    fleet: str = "",
) -> tuple[RunReport, Path]:
    """Load, validate, bind and run one playbook on one host.  Nothing touches the
    host before the playbook and its variables are known to be valid.

    ``loaded``: the playbook already loaded (a fleet loads it once for every PC);
    ``stop``: set by a fleet's Ctrl-C, the run stops after its current change and rolls back;
    ``fleet``: the fleet run's id, recorded in the journal (``wbplay rollback --fleet``).
    A real run holds the PC's host lock (:mod:`wbplay.run.hostlock`) for all of its run."""
    pb = loaded or load_playbook(req.playbook)
    if expect_sha256 is not None:
        plan_mod.check_playbook({"playbook": {"sha256": expect_sha256}}, pb)
    values = bind(pb.vars, req.variables)
    check_allow(pb, req.allow)  # a usage error before any journal or connection
    host = open_host(req.host, read_only=req.dry_run, options=req.connect)
    try:
        failure = None
        if req.for_code is not None or req.for_event:
            failure = failure_context.what_for(req.for_code, host, pb, library())
            values = bind(pb.vars, failure_context.with_context(pb, req.variables, failure))
        run_id = new_run_id(pb.id, host.name)
        lock = None if req.dry_run else hostlock.acquire(_lock_key(req.host, host), run_id)
        pc = None if lock is None else pc_locked(req.host, host, run_id, listener)
        try:
            return _run_on(
                req, pb, pc or host, values, failure, run_id, lock, listener=listener, confirm=confirm,
                ask_manual=ask_manual, runs_dir=runs_dir, plan_guard=plan_guard, stop=stop,
                resumes=resumes, fleet=fleet,
            )
        finally:
            if pc is not None:
                pc.release()
            if lock is not None:
                lock.release()
    finally:
        host.close()


def pc_locked(spec: str, host: Host, run_id: str, listener: Listener) -> hostlock.PcLockedHost | None:
    """``host`` taking the PC-side lock before its first write, when ``WBPLAY_PC_LOCK=1``
    (opt-in for now: README "Host lock"); None for a simulated PC (a file on this controller:
    the controller-side lock is all there is to take)."""
    if is_sim(spec) or not hostlock.pc_lock_enabled():
        return None

    def replaced(holder: str) -> None:
        listener.event("pclock.recovered", {"host": spec, "stale": holder})

    return hostlock.PcLockedHost(host, run_id, on_replaced=replaced)


def _lock_key(spec: str, host: Host) -> str:
    """One key per PC: a simulated PC is its state file; a WinRM PC is its address and port."""
    if is_sim(spec):
        return f"sim:{resolve_state_file(spec[len('sim:'):]).resolve()}"
    return hostlock.host_key(host.identity)


def _run_on(
    req: RunRequest,
    pb: Playbook,
    host: Host,
    values: dict[str, Any],
    failure: Any,
    run_id: str,
    lock: hostlock.HostLock | None,
    *,
    listener: Listener,
    confirm: Callable[[RunReport], bool],
    ask_manual: Callable[[Step, str], bool] | None,
    runs_dir: Path | None,
    plan_guard: PlanGuard | None,
    stop: threading.Event | None,
    resumes: str = "",
    fleet: str = "",
) -> tuple[RunReport, Path]:
    if lock is not None and lock.recovered is not None:
        listener.event("lock.recovered", {"host": req.host, "stale": lock.recovered.describe()})
    journal = Journal(run_id, runs_dir)
    try:
        runner = Runner(
            pb,
            host,
            variables=values,
            options=Options(
                dry_run=req.dry_run,
                rollback=req.rollback,
                allow=req.allow,
                plan=plan_guard,
                skip_manual=req.skip_manual,
                reboot_timeout_s=req.reboot_timeout_s,
                reboot_poll_s=req.reboot_poll_s,
                for_failure=failure,
                stop=stop,
            ),
            journal=journal,
            listener=listener,
            confirm=confirm,
            ask_manual=ask_manual,
            host_spec=req.host,
            resumes=resumes,
            fleet=fleet,
        )
        return runner.run(), journal.path
    finally:
        journal.close()


def document(report: RunReport) -> dict[str, Any]:
    return to_document(report)


def write_reports(report: RunReport, specs: list[report_mod.ReportSpec]) -> None:
    report_mod.write(to_document(report), specs)


def resume_run(
    run_id: str,
    *,
    listener: Listener,
    confirm: Callable[[RunReport], bool],
    ask_manual: Callable[[Step, str], bool] | None = None,
    variables: dict[str, str] | None = None,
    connect: ConnectOptions | None = None,
    skip_manual: bool = False,
    reboot_timeout_s: float = 4 * 3600.0,
    reboot_poll_s: float = 10.0,
    runs_dir: Path | None = None,
) -> tuple[RunReport, Path, str]:
    """Carry on an interrupted run: the same playbook (unchanged), host, variables and opt-ins,
    as a new run that re-reads every step, so what the first run finished reads as OK.
    Returns the new run's report, its journal and the id of the run it resumed."""
    records = journal_mod.read(run_id, runs_dir)
    start = records[0] if records else {}
    old = str(start.get("run", run_id))
    if start.get("event") != "run.start":
        raise JournalError(f"run {old}: its journal does not start with run.start")
    if start.get("mode") != "apply":
        raise UsageError(f"run {old} was a dry run: nothing to resume (run it without --dry-run)")
    if start.get("plan"):
        raise UsageError(f"run {old} applied a reviewed plan: make a new plan rather than resume it")
    if not start.get("host_spec"):
        raise UsageError(f"run {old}: its journal does not name its host")
    given = {k: v for k, v in start.get("variables", {}).items() if v is not None}
    given.update(variables or {})
    masked = sorted(k for k, v in given.items() if v == "***")
    if masked:
        raise UsageError(f"the journal masks {', '.join(masked)}: give it again with --var NAME=VALUE")
    pb = load_playbook(start["playbook"]["path"])
    if pb.sha256 != start["playbook"].get("sha256"):
        raise UsageError(
            f"the playbook {pb.path} changed since run {old}: resuming would run something else; "
            "start a new run (wbplay run), or undo the old one (wbplay rollback)"
        )
    req = RunRequest(
        playbook=start["playbook"]["path"],
        host=start["host_spec"],
        dry_run=False,
        variables=given,
        allow=frozenset(start.get("allow", [])),
        connect=connect or ConnectOptions(),
        skip_manual=skip_manual,
        reboot_timeout_s=reboot_timeout_s,
        reboot_poll_s=reboot_poll_s,
    )
    report, path = run(
        req,
        listener=listener,
        confirm=confirm,
        ask_manual=ask_manual,
        runs_dir=runs_dir,
        resumes=old,
    )
    return report, path, old


def hosts_of(req: RunRequest) -> list[str]:
    return expand(req.host, req.connect)


def per_host(specs: list[report_mod.ReportSpec], host: str) -> list[report_mod.ReportSpec]:
    """Each PC of a multi-host run writes its own reports: ``r.md`` becomes ``r.pc42.md``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in host)
    return [
        report_mod.ReportSpec(spec.format, spec.path.with_name(f"{spec.path.stem}.{safe}{spec.path.suffix}"))
        for spec in specs
    ]

def library() -> list[Playbook]:
    return [playbook_mod.load(p) for p in playbook_mod.library_files()]
