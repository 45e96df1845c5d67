"""The simulated backup engine: whether "Back up now" would work on this PC.

The outcome is *derived* from the state, never stored: a backup starts the
services of the backup chain (docs/domain.md §1: SDRSVC for Windows Backup,
wbengine for the block-level engine, VSS and swprv for the shadow copy, and
EventSystem, which VSS needs at run time [V3]).  A chain service that cannot
start makes the backup fail with HRESULT_FROM_WIN32 of its start error, the
0x80070422 of the seed when it is Disabled.  The attempt runs on a copy: it
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from wbplay.ops import Win32Error
from wbplay.sim.executor import start_service
from wbplay.sim.model import HostModel

BACKUP_CHAIN = ("EventSystem", "VSS", "swprv", "SDRSVC", "wbengine")


@dataclass(frozen=True, slots=True)
class BackupOutcome:
    ok: bool
    hresult: str  # "0x00000000" on success
    detail: str


def attempt_backup(model: HostModel) -> BackupOutcome:
    """Start the chain on a copy of the PC; report the first failure as Windows would."""
    trial = HostModel(model.snapshot())
    for name in BACKUP_CHAIN:
        if trial.service_name(name) is None:
            continue  # e.g. SDRSVC is not installed on Server; wbadmin does not need it
        result = start_service(trial, name)
        if not result.ok and result.error is not None:
            err: Win32Error = result.error
            return BackupOutcome(False, err.hresult, f"{name}: {err.message}")
    return BackupOutcome(True, "0x00000000", "the backup chain starts")
