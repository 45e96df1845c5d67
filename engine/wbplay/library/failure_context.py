"""What a run is *for*, and the context the PC's own failure events give it.

``wbplay run PLAYBOOK --for 0x81000031`` (or ``--for-event``, the PC's newest
backup failure) names the failure the run must explain.  The PC's
Microsoft-Windows-Backup events also name the backup target: a playbook that
takes ``target`` uses it instead of requiring ``--var target=``.  A fact the
playbook needs that is neither given nor readable stops the run before it
starts (exit 2), instead of checking less and passing.  The failure also
carries the playbooks triage would try next, for a "no cause found" ending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from wbplay.errors import UsageError
from wbplay.hosts.base import Host
from wbplay.library import triage
from wbplay.playbook.model import Playbook
from wbplay.run.results import Failure
from wbplay.vocab import codes


def what_for(code: str | None, host: Host, pb: Playbook, library: Iterable[Playbook]) -> Failure:
    """The failure the run is for: ``code`` as given (its newest event read for context), or the
    PC's newest backup failure event when ``code`` is None (``--for-event``)."""
    events, _ = triage.read_host(host)
    if code is None:
        newest = next((e for e in events if e.code), None)
        if newest is None:
            raise UsageError(
                f"--for-event: {host.name} has no backup failure event in the last 30 days; "
                "name the failure with --for CODE"
            )
        found: list[str] = [str(newest.code)]
        event: triage.Evidence | None = newest
    else:
        found = codes.codes_in(code)
        if not found:
            raise UsageError(f"--for: {code!r} is not an error code (e.g. 0x81000031 or 2164260913)")
        event = next((e for e in events if found[0] in (e.code, e.detailed_code)), None)
    source = "--for" if code is not None or event is None else event.source
    ranked = triage.rank(triage.from_text(found[0]), library)
    others = [m.playbook_id for m in ranked if m.playbook_id != pb.id]
    return Failure(found[0], source, event.target if event else None, tuple(others))


def with_context(pb: Playbook, given: Mapping[str, Any], failure: Failure) -> dict[str, Any]:
    """``given`` plus what the failure's event names; stops when a needed fact is neither."""
    values = dict(given)
    if "target" in pb.vars and "target" not in values:
        if failure.target is None:
            raise UsageError(
                f"{pb.id} needs the backup target, and no backup failure event on the PC names one "
                f"for {failure.code}: pass --var target=X: (the drive the backup writes to)"
            )
        values["target"] = failure.target
    return values
