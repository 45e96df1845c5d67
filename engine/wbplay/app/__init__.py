"""The use cases behind the CLI: each takes plain arguments and returns data.

The CLI (:mod:`wbplay.cli`) only parses options, calls one of these and renders the result.
One module per use-case family; this package re-exports them so callers say ``app.run``.
"""

from wbplay.app.doctor import DoctorResult, doctor
from wbplay.app.fleet import (
    _NULL,
    InventoryRow,
    _Quiet,
    apply_fleet_plan,
    fleet_review,
    guards_from,
    inventory_list,
    make_fleet_plan,
    run_many,
)
from wbplay.app.fleet_rollback import PcUndone, RunToUndo, rollback_many, runs_to_undo
from wbplay.app.fleet_triage import PcTriage, triage_many
from wbplay.app.fleet_triage import groups as fleet_triage_groups
from wbplay.app.journal import pc_journal, pc_runs, prune_runs, rollback_run, runs
from wbplay.app.library import (
    ValidationResult,
    _is_scenario_file,
    export,
    import_results,
    kind_doc,
    kind_index,
    library,
    lint,
    new_playbook,
    run_request_from_triage,
    schema_file,
    triage,
    validate,
)
from wbplay.app.review import apply_plan, make_plan
from wbplay.app.runs import (
    RunRequest,
    _lock_key,
    _run_on,
    document,
    hosts_of,
    load_playbook,
    per_host,
    resume_run,
    run,
    write_reports,
)

__all__ = [
    "_NULL",
    "DoctorResult",
    "InventoryRow",
    "PcTriage",
    "PcUndone",
    "RunRequest",
    "RunToUndo",
    "ValidationResult",
    "_Quiet",
    "_is_scenario_file",
    "_lock_key",
    "_run_on",
    "apply_fleet_plan",
    "apply_plan",
    "doctor",
    "document",
    "export",
    "fleet_review",
    "fleet_triage_groups",
    "guards_from",
    "hosts_of",
    "import_results",
    "inventory_list",
    "kind_doc",
    "kind_index",
    "library",
    "lint",
    "load_playbook",
    "make_fleet_plan",
    "make_plan",
    "new_playbook",
    "pc_journal",
    "pc_runs",
    "per_host",
    "prune_runs",
    "resume_run",
    "rollback_many",
    "rollback_run",
    "run",
    "run_many",
    "run_request_from_triage",
    "runs",
    "runs_to_undo",
    "schema_file",
    "triage",
    "triage_many",
    "validate",
    "write_reports",
]
