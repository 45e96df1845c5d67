"""``wbplay doctor``: the read-only self-test of one PC."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wbplay.errors import UsageError
from wbplay.hosts import doctor as doctor_mod
from wbplay.hosts import recording
from wbplay.hosts.factory import ConnectOptions, open_host


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
