"""``wbplay test``: run a playbook's scenarios against simulated PCs, like a test suite.

A scenario file (``schemas/scenarios.schema.json``) names a playbook and lists
scenarios.  Each scenario takes a simulated PC and checks, in order:

0. **for** (optional): the failure the run is for, as ``wbplay run --for`` (a code, or
   ``event``: the PC's newest backup failure); with it, all checks passing is exit 6;
1. **before**: what the backup engine answers (fails with code X, is refused,
   succeeds) and, optionally, that triage ranks this playbook first (from the
   PC's own events, or from a pasted ``error``);
2. a **dry-run** changes nothing;
3. the **run** (apply, confirmed) ends with the expected exit code, step
   statuses and number of changes; a ``human`` block plays the person who
   answers manual steps (unplugging a disk...);
4. **after**: the backup's new outcome and optional state checks;
5. a **second run** changes nothing (idempotence);
6. **rollback** from the first run's journal restores the PC's state exactly,
   or the scenario says why it cannot (irreversible steps, a human's action).

Where scenario files live: the library's are ``playbooks/scenarios/<playbook-id>.yml``
(shipped in the wheel with the playbooks); an author's may sit beside their
playbook as ``<name>.scenarios.yml``.  The library lists only ``playbooks/*.yml``,
and ``wbplay validate`` checks scenario files against their own schema.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from wbplay.errors import PlaybookError, UsageError, WbplayError
from wbplay.hosts.sim import SimHost
from wbplay.library import failure_context, triage
from wbplay.playbook import load as playbook_mod
from wbplay.playbook.model import Playbook, Step
from wbplay.playbook.schema import validate
from wbplay.playbook.variables import bind
from wbplay.playbook.yamlsafe import load_file
from wbplay.resources import playbooks_dir
from wbplay.run import journal as journal_mod
from wbplay.run import rollback
from wbplay.run.journal import Journal
from wbplay.run.options import Options
from wbplay.run.results import RunReport
from wbplay.run.runner import Runner
from wbplay.sim import storage
from wbplay.sim.backup import BackupOutcome, attempt_backup
from wbplay.sim.model import HostModel
from wbplay.sim.state import builtin_path, read_state, save_state
from wbplay.vocab import probes

SUFFIX = ".scenarios.yml"


def scenarios_dir() -> Path:
    """The library's scenario folder, ``playbooks/scenarios/`` (shipped in the wheel with the playbooks)."""
    return playbooks_dir() / "scenarios"


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    path: Path
    playbook: Playbook
    scenarios: tuple[Mapping[str, Any], ...]


@dataclass(slots=True)
class Result:
    file: str
    playbook_id: str
    name: str
    host: str
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    statuses: dict[str, str] = field(default_factory=dict)  # step id -> status in the real run

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def id(self) -> str:
        return f"{self.playbook_id}::{self.name}"


# -- discovery and loading -----------------------------------------------------------------


def discover(names: Sequence[str] = ()) -> list[Path]:
    """Scenario files: every one in the library, or those of the playbooks (or files) named."""
    if not names:
        return sorted(scenarios_dir().glob("*.yml"))
    out: list[Path] = []
    for name in names:
        p = Path(name)
        if p.is_file() and (p.name.endswith(SUFFIX) or p.parent.resolve() == scenarios_dir().resolve()):
            out.append(p)
            continue
        try:
            pb_path = playbook_mod.resolve(name)
        except UsageError:
            pb_path = None
        candidates = []
        if pb_path is not None:
            candidates.append(pb_path.with_name(pb_path.name.removesuffix(pb_path.suffix) + SUFFIX))
        candidates.append(scenarios_dir() / f"{p.name.removesuffix('.yml').removesuffix('.yaml')}.yml")
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise UsageError(
                f"no scenarios for {name!r} (looked for {', '.join(str(c) for c in candidates)})"
            )
        out.append(found)
    return out


def load(path: Path) -> ScenarioFile:
    doc = load_file(path)
    if not isinstance(doc.data, dict):
        raise doc.error("a scenario file must be a YAML mapping", (), "start with playbook: and scenarios:")
    validate(doc, "scenarios")
    data = doc.data
    beside = (path.parent / data["playbook"]).resolve()
    pb_path = beside if beside.is_file() else playbook_mod.resolve(data["playbook"])
    pb = playbook_mod.load(pb_path)
    names = [s["name"] for s in data["scenarios"]]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise doc.error(f"duplicate scenario name {dupes[0]!r}", ("scenarios",), "names must be unique")
    return ScenarioFile(path, pb, tuple(data["scenarios"]))


@cache
def _library() -> tuple[Playbook, ...]:
    return tuple(playbook_mod.load(p) for p in playbook_mod.library_files())


# -- running -------------------------------------------------------------------------------


class _Quiet:
    def event(self, name: str, fields: Mapping[str, Any]) -> None:
        del name, fields


def _state_source(sf: ScenarioFile, host: str) -> Path:
    local = (sf.path.parent / host).resolve()
    if host.endswith((".yml", ".yaml")) and local.is_file():
        return local
    builtin = builtin_path(host)
    if builtin is None:
        raise UsageError(f"{sf.path}: no built-in simulated PC or state file named {host!r}")
    return builtin


def _check_backup(stage: str, expect: Mapping[str, Any] | None, outcome: BackupOutcome) -> list[str]:
    if expect is None:
        return []
    got = f"ok={outcome.ok} code={outcome.hresult or '-'} reason={outcome.reason} detail={outcome.detail!r}"
    problems = []
    if expect.get("ok") and not outcome.ok:
        problems.append(f"{stage}: expected the backup to succeed; got {got}")
    if "fails" in expect and (outcome.ok or outcome.hresult != expect["fails"]):
        problems.append(f"{stage}: expected the backup to fail with {expect['fails']}; got {got}")
    if "refused" in expect and (outcome.ok or outcome.reason != expect["refused"]):
        problems.append(f"{stage}: expected Windows to refuse the backup ({expect['refused']}); got {got}")
    if "detail" in expect and outcome.detailed_hresult != expect["detail"]:
        problems.append(
            f"{stage}: expected detailed code {expect['detail']}; got {outcome.detailed_hresult or '-'}"
        )
    if "warning" in expect and bool(outcome.warnings) != expect["warning"]:
        problems.append(f"{stage}: expected warning={expect['warning']}; got {list(outcome.warnings)}")
    return problems


def _attempt(path: Path, expect: Mapping[str, Any] | None) -> BackupOutcome:
    expect = expect or {}
    return attempt_backup(HostModel(read_state(path)), expect.get("kind"), expect.get("target"))


def _human(host: SimHost, script: Mapping[str, Mapping[str, Any]]) -> Callable[[Step, str], bool]:
    """Plays the person at the PC: unplugs or plugs a disk when a manual step asks."""

    def act(step: Step, instruction: str) -> bool:
        del instruction
        action = script.get(step.id)
        if action is None or action.get("decline"):
            return False
        letter, attached = (action["detach"], False) if "detach" in action else (action["attach"], True)
        vol = next((v for v in storage.volumes(host.model) if v.get("letter") == letter), None)
        disk = storage.disk(host.model, vol["disk"]) if vol else None
        if disk is None:
            raise UsageError(f"human step {step.id}: no disk holds {letter}")
        if attached:
            disk.pop("attached", None)
        else:
            disk["attached"] = False
        save_state(host.path, host.model.state)
        return True

    return act


def _run_once(
    pb: Playbook, path: Path, sc: Mapping[str, Any], runs: Path, *, dry_run: bool
) -> tuple[RunReport, str, int]:
    given = dict(sc.get("vars") or {})
    values = bind(pb.vars, given, "scenario vars")
    host = SimHost(path, read_only=dry_run, name=path.stem)
    failure = None
    if "for" in sc:
        code = None if sc["for"] == "event" else sc["for"]
        failure = failure_context.what_for(code, host, pb, _library())
        values = bind(pb.vars, failure_context.with_context(pb, given, failure), "scenario vars")
    journal = Journal(journal_mod.new_run_id(pb.id, host.name), runs)
    try:
        report = Runner(
            pb,
            host,
            variables=values,
            options=Options(
                dry_run=dry_run,
                allow=frozenset(sc.get("allow") or ()),
                reboot_poll_s=0.0,
                for_failure=failure,
            ),
            journal=journal,
            listener=_Quiet(),
            confirm=lambda _r: True,
            ask_manual=None if dry_run else _human(host, sc.get("human") or {}),
            host_spec=f"sim:{path}",
        ).run()
    finally:
        journal.close()
    changes = sum(1 for r in journal_mod.read(journal.run_id, runs) if r["event"] == "change.intent")
    return report, journal.run_id, changes


def _check_run(stage: str, expect: Mapping[str, Any] | None, report: RunReport, changes: int) -> list[str]:
    expect = expect or {}
    problems = []
    if "exit" in expect and int(report.exit_code) != expect["exit"]:
        problems.append(
            f"{stage}: exit {int(report.exit_code)} ({report.outcome}), expected {expect['exit']}"
        )
    if "changes" in expect and changes != expect["changes"]:
        problems.append(f"{stage}: {changes} change(s), expected {expect['changes']}")
    statuses = {s.id: s.status for s in report.steps}
    for step_id, want in (expect.get("statuses") or {}).items():
        if step_id not in statuses:
            problems.append(f"{stage}: no step {step_id!r} in the playbook")
        elif statuses[step_id] != want:
            detail = next((s.error or s.message for s in report.steps if s.id == step_id), "")
            problems.append(
                f"{stage}: step {step_id} is {statuses[step_id]}, expected {want} {detail}".rstrip()
            )
    return problems


def _check_state(path: Path, checks: Sequence[Mapping[str, Any]]) -> list[str]:
    state = read_state(path)
    problems = []
    for c in checks:
        if "file" in c:
            present = HostModel(copy.deepcopy(state)).file_key(c["file"]) is not None
            if present != c["exists"]:
                problems.append(f"after: {c['file']} {'exists' if present else 'is missing'}")
            continue
        value = probes.select(state, c["path"])
        if "equals" in c and value != c["equals"]:
            problems.append(f"after: {c['path']} is {value!r}, expected {c['equals']!r}")
        if "not" in c and value == c["not"]:
            problems.append(f"after: {c['path']} is {value!r}, expected anything else")
    return problems


def _triage(sf: ScenarioFile, sc: Mapping[str, Any], path: Path) -> list[str]:
    spec = (sc.get("before") or {}).get("triage")
    if spec is None:
        return []
    books = list(_library())
    if sf.playbook.id not in {b.id for b in books}:
        books.append(sf.playbook)
    if "error" in spec:
        matches = triage.rank(triage.from_text(spec["error"]), books)
    else:
        with SimHost(path, read_only=True) as host:
            evidence, events = triage.read_host(host)
        matches = triage.rank(evidence, books, events)
    want = sf.playbook.id if spec["first"] is True else spec["first"]
    ranked = [m.playbook_id for m in matches]
    problems = []
    if spec["first"] is not False and (not ranked or ranked[0] != want):
        problems.append(f"triage: expected {want} first; ranked {ranked or 'nothing'}")
    if "includes" in spec and spec["includes"] not in ranked:
        problems.append(f"triage: expected {spec['includes']} among {ranked}")
    return problems


def run_scenario(sf: ScenarioFile, sc: Mapping[str, Any]) -> Result:
    started = time.monotonic()
    result = Result(str(sf.path), sf.playbook.id, sc["name"], sc["host"])
    with tempfile.TemporaryDirectory(prefix="wbplay-scenario-") as tmp:
        work, runs = Path(tmp) / "pc.yml", Path(tmp) / "runs"
        try:
            shutil.copyfile(_state_source(sf, sc["host"]), work)
            original = copy.deepcopy(read_state(work))
            before = sc.get("before") or {}
            result.failures += _check_backup(
                "before", before.get("backup"), _attempt(work, before.get("backup"))
            )
            result.failures += _triage(sf, sc, work)
            _run_once(sf.playbook, work, sc, runs, dry_run=True)
            if read_state(work) != original:
                result.failures.append("dry-run: the host state changed")
            report, run_id, changes = _run_once(sf.playbook, work, sc, runs, dry_run=False)
            result.statuses = {s.id: s.status for s in report.steps}
            result.failures += _check_run("run", sc["run"], report, changes)
            after = sc.get("after") or {}
            result.failures += _check_backup(
                "after", after.get("backup"), _attempt(work, after.get("backup"))
            )
            result.failures += _check_state(work, after.get("checks") or ())
            second, _, second_changes = _run_once(sf.playbook, work, sc, runs, dry_run=False)
            result.failures += _check_run(
                "second run", {"changes": 0, **(sc.get("second_run") or {})}, second, second_changes
            )
            if sc["rollback"] == "restores":
                result.failures += _rollback(work, runs, run_id, original)
        except WbplayError as e:
            result.failures.append(f"error: {e}")
    result.seconds = time.monotonic() - started
    return result


def _rollback(work: Path, runs: Path, run_id: str, original: Mapping[str, Any]) -> list[str]:
    changes = rollback.from_journal(journal_mod.read(run_id, runs))
    with SimHost(work, read_only=False) as host:
        # "restores" means: with the operator's consent to undos that are themselves irreversible.
        consent = rollback.UndoPolicy(allow_all=True)
        outcomes = rollback.undo(host, changes, lambda *_a, **_k: None, consent)
    problems = [
        f"rollback: {o.step_id} {o.status}: {o.detail}"
        for o in outcomes
        if o.status not in ("undone", "not-applied")
    ]
    state = read_state(work)
    if state != original:
        diff = sorted(k for k in set(state) | set(original) if state.get(k) != original.get(k))
        problems.append(f"rollback: the state differs from the original in {', '.join(diff)}")
    return problems


def run_files(paths: Sequence[Path]) -> Iterator[Result]:
    """Every scenario of every file, in order; a file that does not load is one failed result."""
    for path in paths:
        try:
            sf = load(path)
        except (PlaybookError, UsageError) as e:
            yield Result(str(path), path.stem, "(load)", "-", [str(e)])
            continue
        for sc in sf.scenarios:
            yield run_scenario(sf, sc)
