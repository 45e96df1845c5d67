"""Which PC this is: its hostname and its MachineGuid, read through ordinary ops.

A journal records the PC's identity so that ``wbplay rollback`` can refuse to
write a run's "before" values to a different PC (an edited journal, a reused
address, a re-imaged machine).  The hostname alone is not enough (names are
reused); MachineGuid is generated at Windows setup and survives renames.  It is
read with the registry op every host already implements, in the same batch as
the other reads, so recording it costs no round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wbplay.hosts.base import Host
from wbplay.playbook.model import Probe
from wbplay.vocab import probes
from wbplay.vocab.ops import Op, OpResult

MACHINE_GUID_KEY = r"HKLM\SOFTWARE\Microsoft\Cryptography"
GUID_PROBE = Probe("registry.entry", {"key": MACHINE_GUID_KEY, "name": "MachineGuid"})
OS_PROBE = Probe("os.info", {})


@dataclass(frozen=True, slots=True)
class PcIdentity:
    hostname: str
    machine_guid: str | None  # None: the PC has no readable MachineGuid

    def describe(self) -> str:
        guid = self.machine_guid or "no MachineGuid"
        return f"{self.hostname or '?'} ({guid})"

    def to_record(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "machine_guid": self.machine_guid}

    def same_pc(self, other: PcIdentity) -> bool:
        """The same machine: the same MachineGuid, and the same name (neither case-sensitive)."""
        mine, theirs = (self.machine_guid or "").lower(), (other.machine_guid or "").lower()
        return mine == theirs and self.hostname.casefold() == other.hostname.casefold()


def from_record(record: Mapping[str, Any]) -> PcIdentity | None:
    name, guid = record.get("hostname"), record.get("machine_guid")
    if not isinstance(name, str) or not (guid is None or isinstance(guid, str)):
        return None
    return PcIdentity(name, guid)


def from_reads(results: Mapping[tuple[str, str], OpResult]) -> PcIdentity:
    """The identity from a batch that included :data:`OS_PROBE` and :data:`GUID_PROBE`."""
    os_info = results.get(probes.to_op(OS_PROBE).key())
    guid = results.get(probes.to_op(GUID_PROBE).key())
    name = (
        os_info.value.get("hostname") if os_info and os_info.ok and isinstance(os_info.value, dict) else None
    )
    value = probes.observe(GUID_PROBE, guid) if guid and guid.ok else None
    found = value.get("value") if isinstance(value, dict) and value.get("exists") else None
    return PcIdentity(str(name or ""), str(found) if found else None)


def read(host: Host, extra: list[Op] | None = None) -> tuple[PcIdentity, list[OpResult]]:
    """The PC's identity, in one round trip together with ``extra`` reads (whose results follow)."""
    ops = [probes.to_op(OS_PROBE), probes.to_op(GUID_PROBE), *(extra or [])]
    results = host.read(ops)
    return from_reads({op.key(): r for op, r in zip(ops[:2], results, strict=False)}), results[2:]
