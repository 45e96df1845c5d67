"""Check kinds: named reads of the host, each a read op plus what to pick from it.

A probe never changes the host.  Several probes that need the same op with the
same arguments share one read, and every probe of a run travels in one batch.

Some probes need several reads at once (is this destination a critical volume?
which disk do these I/O errors belong to?): they declare ``extra`` read ops and
a ``join`` that receives every op's value plus the probe's arguments
(:mod:`wbplay.vocab.derive`).  Their extra reads join the same batch and share
identical reads with other probes.  Probes used as a remedy's before-state stay
single-read (rollback re-reads them one by one).  The kinds themselves are
:mod:`wbplay.vocab.probe_catalog`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wbplay.playbook.model import Probe
from wbplay.vocab.ops import Op, OpResult
from wbplay.vocab.probe_catalog import PROBES

# PROBES stays importable from here, where callers have always found it.
__all__ = ["PROBES", "observe", "observe_all", "select", "single_read", "to_op", "to_ops"]


def to_op(probe: Probe) -> Op:
    """The probe's main read op (its only one unless the probe declares ``extra`` reads)."""
    spec = PROBES[probe.kind]
    names = spec.args + spec.optional_args
    args = {k: v for k, v in probe.args.items() if k in names}
    if spec.fixed is not None:
        args = {**spec.fixed(probe.args), **args}
    return Op(spec.op, args)


def to_ops(probe: Probe) -> list[Op]:
    """Every read the probe needs, main op first."""
    spec = PROBES[probe.kind]
    return [to_op(probe)] + [Op(name, build(probe.args)) for name, build in spec.extra]


def single_read(kind: str) -> bool:
    """Whether a probe kind needs exactly one read (required of remedies' before-probes)."""
    return not PROBES[kind].extra


def select(value: Any, dotted: str | None) -> Any:
    """Follow ``a.b.0.c`` into nested dicts and lists; missing parts give None."""
    if not dotted:
        return value
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def observe(probe: Probe, result: OpResult) -> Any:
    """The value a single-read probe observed from its op's result (the caller handles failures)."""
    return observe_all(probe, [result])


def observe_all(probe: Probe, results: Sequence[OpResult]) -> Any:
    """The value a probe observed from the results of :func:`to_ops`, in that order."""
    spec = PROBES[probe.kind]
    if spec.join is not None:
        value = spec.join([r.value for r in results], probe.args)
    else:
        value = spec.pick(results[0].value)
    return select(value, probe.field)
