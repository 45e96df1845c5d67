"""Many PCs at once: the fan-out, the fleet review and plan, the inventory listing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wbplay.app.runs import RunRequest, load_playbook, run
from wbplay.errors import ExitCode, HostError, PlanError, PlaybookError, WbplayError
from wbplay.hosts.credentials import PromptOnce
from wbplay.hosts.factory import ConnectOptions, expand, is_sim
from wbplay.playbook.model import Playbook
from wbplay.run import fleet as fleet_mod
from wbplay.run import fleet_plan
from wbplay.run import plan as plan_mod
from wbplay.run.fleet_review import FleetReview, HostOutcome, change_set, review
from wbplay.run.options import Listener
from wbplay.run.planguard import PlanGuard
from wbplay.run.results import RunReport


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
    fleet_id: str = "",
) -> tuple[list[HostOutcome], list[str]]:
    """Run on every PC, ``forks`` at a time; return each PC's outcome (in ``hosts`` order)
    and the PCs never started (Ctrl-C).  The playbook is loaded and validated once, before
    any PC is touched.  One PC's failure, hang or timeout never stops another's run;
    ``guards``: a PC's reviewed plan, which its run must match exactly or refuse;
    ``requests``: a PC's own request (a fleet plan's variables), else ``req`` for that host;
    ``fleet_id``: recorded in every PC's journal (``wbplay rollback --fleet``)."""
    pb = load_playbook(req.playbook)
    prompts = PromptOnce()  # a password to type is asked once for the fleet, not once per thread

    def one(host: str, stop: threading.Event) -> HostOutcome:
        try:
            one_req = (requests or {}).get(host) or dataclasses.replace(req, host=host)
            report, path = run(
                with_prompts(one_req, prompts),
                listener=listener_for(host),
                confirm=lambda r: not stop.is_set() and confirm(r),
                loaded=pb if one_req.playbook == req.playbook else None,  # a fleet plan may mix
                stop=stop,
                plan_guard=(guards or {}).get(host),
                fleet=fleet_id,
            )
        except (HostError, PlanError) as e:
            return HostOutcome(host, e.exit_code, error=str(e))
        return HostOutcome(host, report.exit_code, report, path)

    def crashed(host: str, e: Exception) -> HostOutcome:
        if isinstance(e, WbplayError):
            return HostOutcome(host, e.exit_code, error=str(e))
        return HostOutcome(host, ExitCode.NEEDS_ATTENTION, error=f"internal error: {type(e).__name__}: {e}")

    def timed_out(host: str) -> HostOutcome:
        where = f"--fleet {fleet_id}" if fleet_id else f"--host {host}"
        return HostOutcome(
            host,
            ExitCode.NEEDS_ATTENTION,
            error=f"no result within --timeout-per-host {timeout_per_host_s:g} s: told to stop after its "
            f"current change and roll back; if it never answered, find its journal with `wbplay runs "
            f"{where}` and undo it with `wbplay rollback RUN`",
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


def with_prompts(req: RunRequest, prompts: PromptOnce) -> RunRequest:
    """``req`` whose credential prompts go through the fleet's one :class:`PromptOnce`."""
    if req.connect.prompts is not None:
        return req
    return dataclasses.replace(req, connect=dataclasses.replace(req.connect, prompts=prompts))


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
        dry,
        hosts,
        listener_for=lambda h: _NULL,
        confirm=lambda r: False,
        forks=forks,
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
    fleet_id: str = "",
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
            first,
            list(requests),
            listener_for=lambda h: _NULL,
            confirm=lambda r: True,
            forks=forks,
            timeout_per_host_s=timeout_per_host_s,
            on_progress=on_progress,
            guards=guards,
            requests=requests,
            fleet_id=fleet_id,
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
        for t in resolve(
            name,
            connect.inventory,
            transport=connect.transport,
            insecure_skip_tls_verify=connect.insecure_skip_tls_verify,
        ):
            rows.append(InventoryRow(t.name, t.url, t.transport, t.origin))
    return rows
