"""The use cases behind the CLI: each takes plain arguments and returns data.

The CLI (:mod:`wbplay.cli`) only parses options, calls one of these and renders the result.
"""

from __future__ import annotations

import dataclasses
import difflib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wbplay import report as report_mod
from wbplay import resources
from wbplay.errors import ExitCode, HostError, JournalError, PlanError, PlaybookError, UsageError, WbplayError
from wbplay.hosts import doctor as doctor_mod
from wbplay.hosts import recording
from wbplay.hosts.base import Host
from wbplay.hosts.factory import ConnectOptions, expand, is_sim, open_host
from wbplay.library import coverage, failure_context, scaffold
from wbplay.library import triage as triage_mod
from wbplay.library.export import build as export_mod
from wbplay.playbook import lint as lint_mod
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Playbook, Step
from wbplay.playbook.variables import bind
from wbplay.run import fleet as fleet_mod
from wbplay.run import fleet_plan, history, hostlock
from wbplay.run import journal as journal_mod
from wbplay.run import plan as plan_mod
from wbplay.run import recorded as recorded_mod
from wbplay.run import rollback as rollback_mod
from wbplay.run import rollback_run as rollback_run_mod
from wbplay.run.document import to_document
from wbplay.run.fleet_review import FleetReview, HostOutcome, change_set, review
from wbplay.run.history import RunSummary
from wbplay.run.journal import Journal, new_run_id
from wbplay.run.options import Listener, Options
from wbplay.run.planguard import PlanGuard
from wbplay.run.results import RunReport
from wbplay.run.runner import Runner, check_allow
from wbplay.sim.state import read_state, resolve_state_file
from wbplay.vocab import kinddoc


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
) -> tuple[RunReport, Path]:
    """Load, validate, bind and run one playbook on one host.  Nothing touches the
    host before the playbook and its variables are known to be valid.

    ``loaded``: the playbook already loaded (a fleet loads it once for every PC);
    ``stop``: set by a fleet's Ctrl-C, the run stops after its current change and rolls back.
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
        try:
            return _run_on(
                req, pb, host, values, failure, run_id, lock, listener=listener, confirm=confirm,
                ask_manual=ask_manual, runs_dir=runs_dir, plan_guard=plan_guard, stop=stop,
                resumes=resumes,
            )
        finally:
            if lock is not None:
                lock.release()
    finally:
        host.close()


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
        )
        return runner.run(), journal.path
    finally:
        journal.close()


@dataclass(frozen=True, slots=True)
class ValidationResult:
    path: Path
    kind: str  # "playbook" | "scenarios"
    items: int  # steps of a playbook, scenarios of a scenario file
    error: PlaybookError | None


def _is_scenario_file(path: Path) -> bool:
    return path.name.endswith(".scenarios.yml") or path.parent.name == "scenarios"


def validate(paths: Iterable[Path]) -> list[ValidationResult]:
    """Check playbooks, and scenario files against their own schema, touching no host."""
    from wbplay.library import scenarios

    out = []
    files = [p for p in playbook_mod.expand_paths(list(paths)) if p.name != "README.md"]
    if not files:
        raise UsageError("no playbook files found in the given paths")
    for path in files:
        kind = "scenarios" if _is_scenario_file(path) else "playbook"
        if path.name.endswith(".state.yml"):  # a simulated PC beside its scenarios (wbplay new)
            kind = "host state"
        try:
            if kind == "host state":
                count = len(read_state(path).get("services") or {})
            elif kind == "scenarios":
                count = len(scenarios.load(path).scenarios)
            else:
                count = len(playbook_mod.load(path).steps)
            out.append(ValidationResult(path, kind, count, None))
        except PlaybookError as e:
            out.append(ValidationResult(path, kind, 0, e))
    return out


def library() -> list[Playbook]:
    return [playbook_mod.load(p) for p in playbook_mod.library_files()]


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
    try:
        # A rollback changes the PC too: it holds the host lock like a run (a stale one is taken over).
        if not dry_run:
            lock = hostlock.acquire(_lock_key(spec, host), f"{found.path.stem} (rollback)")
        return rollback_run_mod.roll_back(
            host, found, entries, policy=pol, listener=listener, dry_run=dry_run, confirm=confirm
        )
    finally:
        if lock is not None:
            lock.release()
        host.close()


def runs(
    *, host: str | None = None, playbook: str | None = None, limit: int | None = None
) -> list[RunSummary]:
    """Past runs, newest first."""
    found = history.summaries(host=host, playbook=playbook)
    return found[:limit] if limit is not None else found


def prune_runs(older_than: str) -> history.Pruned:
    """Delete the journals of settled runs older than ``older_than`` (``90d``)."""
    return history.prune(history.parse_age(older_than))


def document(report: RunReport) -> dict[str, Any]:
    return to_document(report)


def write_reports(report: RunReport, specs: list[report_mod.ReportSpec]) -> None:
    report_mod.write(to_document(report), specs)


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


def run_many(
    req: RunRequest,
    hosts: list[str],
    *,
    listener_for: Callable[[str], Listener],
    confirm: Callable[[RunReport], bool],
    forks: int = 10,
    timeout_per_host_s: float | None = None,
    on_progress: Callable[[fleet_mod.Progress], None] | None = None,
    guards: dict[str, PlanGuard] | None = None,
    requests: dict[str, RunRequest] | None = None,
) -> tuple[list[HostOutcome], list[str]]:
    """Run on every PC, ``forks`` at a time; return each PC's outcome (in ``hosts`` order)
    and the PCs never started (Ctrl-C).  The playbook is loaded and validated once, before
    any PC is touched.  One PC's failure, hang or timeout never stops another's run;
    ``guards``: a PC's reviewed plan, which its run must match exactly or refuse;
    ``requests``: a PC's own request (a fleet plan's variables), else ``req`` for that host."""
    pb = load_playbook(req.playbook)

    def one(host: str, stop: threading.Event) -> HostOutcome:
        try:
            report, path = run(
                (requests or {}).get(host) or dataclasses.replace(req, host=host),
                listener=listener_for(host),
                confirm=lambda r: not stop.is_set() and confirm(r),
                loaded=pb,
                stop=stop,
                plan_guard=(guards or {}).get(host),
            )
        except (HostError, PlanError) as e:
            return HostOutcome(host, e.exit_code, error=str(e))
        return HostOutcome(host, report.exit_code, report, path)

    def crashed(host: str, e: Exception) -> HostOutcome:
        if isinstance(e, WbplayError):
            return HostOutcome(host, e.exit_code, error=str(e))
        return HostOutcome(host, ExitCode.NEEDS_ATTENTION, error=f"internal error: {type(e).__name__}: {e}")

    def timed_out(host: str) -> HostOutcome:
        return HostOutcome(
            host,
            ExitCode.NEEDS_ATTENTION,
            error=f"no result within --timeout-per-host {timeout_per_host_s:g} s: told to stop after its "
            "current change and roll back; check its journal (wbplay journal list) and roll back if needed",
        )

    done = fleet_mod.fan_out(
        hosts,
        one,
        forks=forks,
        on_error=crashed,
        on_timeout=timed_out,
        failed=lambda o: o.exit_code not in (ExitCode.OK, ExitCode.PENDING, ExitCode.NO_CAUSE),
        timeout_s=timeout_per_host_s,
        on_progress=on_progress,
    )
    abandoned = HostOutcome(
        "", ExitCode.INTERRUPTED, error="still running at the second Ctrl-C: check its journal"
    )
    outcomes = [
        done.results.get(h) or dataclasses.replace(abandoned, host=h)
        for h in hosts
        if h in done.results or h in done.timed_out
    ]
    return outcomes, done.not_started


def fleet_review(outcomes: list[HostOutcome]) -> FleetReview:
    return review(outcomes)


def guards_from(outcomes: list[HostOutcome], allow: frozenset[str]) -> dict[str, PlanGuard]:
    """Each drifting PC's dry-run as the plan its real run must match (what the fleet review showed)."""
    return {
        o.host: plan_mod.guard(plan_mod.build(o.report, allow))
        for o in outcomes
        if o.report is not None and change_set(o.report)
    }


def make_fleet_plan(
    req: RunRequest,
    hosts: list[str],
    out: Path,
    *,
    forks: int = 10,
    on_progress: Callable[[fleet_mod.Progress], None] | None = None,
) -> tuple[dict[str, Any], list[HostOutcome], list[str]]:
    """``wbplay plan --host GROUP -o fleet-plan.json``: every PC's dry-run, saved as one fleet plan."""
    dry = dataclasses.replace(req, dry_run=True)
    outcomes, not_started = run_many(
        dry, hosts, listener_for=lambda h: _NULL, confirm=lambda r: False, forks=forks,
        on_progress=on_progress,
    )
    plans = {o.host: plan_mod.build(o.report, req.allow) for o in outcomes if o.report is not None}
    unplanned = {o.host: o.error for o in outcomes if o.report is None}
    unplanned.update(dict.fromkeys(not_started, "not started (interrupted)"))
    doc = fleet_plan.build(plans, unplanned)
    fleet_plan.save(doc, out)
    return doc, outcomes, not_started


def apply_fleet_plan(
    path: Path,
    *,
    allow_stale: bool,
    expect: str | None,
    trust: bool,
    connect: ConnectOptions | None = None,
    forks: int = 10,
    timeout_per_host_s: float | None = None,
    on_progress: Callable[[fleet_mod.Progress], None] | None = None,
) -> tuple[list[HostOutcome], list[str]]:
    """Apply a fleet plan: each PC exactly as reviewed, or that PC alone is refused."""
    fdoc = fleet_plan.load(path, expect=expect, trust=trust)
    refused: dict[str, HostOutcome] = {}
    requests: dict[str, RunRequest] = {}
    guards: dict[str, PlanGuard] = {}
    loaded: dict[str, Playbook] = {}
    for host, raw in fdoc["plans"].items():
        try:
            doc = fleet_plan.check_one(raw, host, path, allow_stale=allow_stale, trust=trust)
            where = doc["playbook"]["path"]
            if where not in loaded:
                loaded[where] = load_playbook(where)
            plan_mod.check_playbook(doc, loaded[where])
        except (PlanError, PlaybookError) as e:
            refused[host] = HostOutcome(host, e.exit_code, error=str(e))
            continue
        requests[host] = RunRequest(
            playbook=where,
            host=host,
            dry_run=False,
            variables={k: v for k, v in doc["variables"].items() if v is not None},
            allow=frozenset(doc["allow"]),
            connect=connect or ConnectOptions(),
        )
        guards[host] = plan_mod.guard(doc, path)
    outcomes: list[HostOutcome] = []
    not_started: list[str] = []
    if requests:
        first = next(iter(requests.values()))
        outcomes, not_started = run_many(
            first, list(requests), listener_for=lambda h: _NULL, confirm=lambda r: True, forks=forks,
            timeout_per_host_s=timeout_per_host_s, on_progress=on_progress, guards=guards, requests=requests,
        )
    done = {o.host: o for o in (*outcomes, *refused.values())}
    return [done[h] for h in fdoc["plans"] if h in done], not_started


class _Quiet:
    def event(self, name: str, fields: Any) -> None:
        return None


_NULL = _Quiet()


@dataclass(frozen=True, slots=True)
class InventoryRow:
    name: str
    where: str  # the URL, or the simulated PC / local
    transport: str
    origin: str  # the inventory file:line, or "command line"


def inventory_list(spec: str, connect: ConnectOptions) -> list[InventoryRow]:
    """What ``--host spec`` (and ``--limit``) resolve to, one row per PC, without connecting."""
    from wbplay.hosts.inventory.resolve import resolve

    rows = []
    for name in expand(spec, connect):
        if is_sim(name) or name == "local":
            rows.append(InventoryRow(name, name, "-", "command line"))
            continue
        for t in resolve(name, connect.inventory, transport=connect.transport,
                         insecure_skip_tls_verify=connect.insecure_skip_tls_verify):
            rows.append(InventoryRow(t.name, t.url, t.transport, t.origin))
    return rows


def triage(
    *, error: str | None, host_spec: str | None, since_days: int, connect: ConnectOptions | None = None
) -> triage_mod.TriageResult:
    """Rank the library for a pasted error and/or a PC's recent backup events (read-only)."""
    host = open_host(host_spec, read_only=True, options=connect or ConnectOptions()) if host_spec else None
    try:
        return triage_mod.run(error=error, host=host, playbooks=library(), since_days=since_days)
    finally:
        if host is not None:
            host.close()


def run_request_from_triage(
    result: triage_mod.TriageResult, host: str, *, dry_run: bool, connect: ConnectOptions | None = None
) -> RunRequest:
    """``triage --run``: the best match, run *for* the failure that matched it, with the
    variables triage read off the PC (the backup target)."""
    if not result.matches:
        raise UsageError("triage found no playbook for this failure: nothing to run")
    best = result.matches[0]
    pb = load_playbook(best.playbook_id)
    handled = set(pb.applies_to.error_codes)
    codes = [c for e in result.evidence for c in (e.code, e.detailed_code) if c]
    code = next((c for c in codes if c in handled), codes[0] if codes else None)
    return RunRequest(
        playbook=best.playbook_id,
        host=host,
        dry_run=dry_run,
        variables=dict(best.suggested_vars),
        connect=connect or ConnectOptions(),
        for_code=code,
        for_event=code is None,
    )


# -- authoring (issue 10): wbplay new / schema / doc / lint ---------------------------------


def schema_file(name: str) -> Path:
    """The installed JSON Schema ``name`` (playbook, scenarios, hoststate, inventory, report)."""
    path = resources.schemas_dir() / f"{name}.schema.json"
    if not path.is_file():
        names = (p.name.removesuffix(".schema.json") for p in resources.schemas_dir().glob("*.schema.json"))
        known = ", ".join(sorted(names))
        raise UsageError(f"no schema named {name!r}; choose one of: {known}")
    return path


def kind_doc(kind: str) -> kinddoc.KindDoc:
    try:
        return kinddoc.describe(kind)
    except KeyError:
        close = difflib.get_close_matches(kind, kinddoc.check_kinds() + kinddoc.remedy_kinds(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "; `wbplay doc` lists them"
        raise UsageError(f"no check or remedy kind {kind!r}{hint}") from None


def kind_index() -> tuple[list[kinddoc.KindDoc], list[kinddoc.KindDoc]]:
    """Every check kind and every remedy kind, documented."""
    return [kinddoc.describe(k) for k in kinddoc.check_kinds()], [
        kinddoc.describe(k) for k in kinddoc.remedy_kinds()
    ]


def lint(paths: list[Path], *, run_scenarios: bool = False) -> list[lint_mod.Finding]:
    """The lint findings of these playbooks; ``run_scenarios`` adds WB017 (runs the scenarios)."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    findings = lint_mod.lint_paths(paths)
    if run_scenarios:
        broken = {f.path for f in findings if f.rule == "WB000"}
        for path in lint_mod.playbook_files(paths):
            if str(path) not in broken:
                findings += coverage.unexercised(path)
    return sorted(findings, key=lambda f: (f.path, f.line, f.column, f.rule))


def new_playbook(name: str, dest: Path, from_playbook: str | None, checks: list[str]) -> scaffold.Scaffold:
    return scaffold.new(name, dest, from_playbook=from_playbook, checks=checks)


@dataclass(frozen=True, slots=True)
class DoctorResult:
    report: doctor_mod.DoctorReport
    recorded: tuple[Path, ...] = ()


def doctor(
    host: str,
    *,
    connect: ConnectOptions | None = None,
    record: Path | None = None,
    skip_slow: bool = False,
    progress: Callable[[doctor_mod.Check], None] | None = None,
) -> DoctorResult:
    """``wbplay doctor``: the read-only self-test of one PC (:mod:`wbplay.hosts.doctor`); with
    ``record``, every agent run is saved there, redacted, as a replay fixture."""
    if record is not None and record.exists() and any(record.iterdir()):
        raise UsageError(f"--record {record}: the folder is not empty; give a new one")
    opened = open_host(host, read_only=True, options=connect)
    try:
        report = doctor_mod.diagnose(opened, skip_slow=skip_slow, progress=progress)
    finally:
        opened.close()
    if record is None:
        return DoctorResult(report)
    return DoctorResult(report, tuple(recording.write(report, record, identity=opened.identity)))


def export(
    playbook: str, engine: str, out_dir: Path, variables: dict[str, str], allow: frozenset[str]
) -> export_mod.ExportResult:
    """``wbplay export ENGINE``: the use case is :func:`wbplay.library.export.build.export`."""
    pb = load_playbook(playbook)
    check_allow(pb, allow)
    return export_mod.export(pb, engine, out_dir, bind(pb.vars, variables), allow)
