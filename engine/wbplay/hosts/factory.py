"""``--host`` specs -> Host objects.

* ``sim:NAME`` / ``sim:path/to/state.yml``: a simulated PC (see wbplay.sim.state);
* ``local``: this Windows PC through powershell.exe;
* anything else: a WinRM target, resolved through the inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wbplay.hosts.base import Host
from wbplay.hosts.credentials import PromptOnce


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    inventory: Path | None = None
    transport: str | None = None
    insecure_skip_tls_verify: bool = False
    fail_write: int | None = None  # tests only: inject a failure at the n-th write (sim)
    limit: str | None = None  # --limit: narrow a group or list by glob, group, !exclude
    username: str | None = None  # WinRM: log on as this user (rollback: the one the journal names)
    # A fleet's: each credential prompted for once across its threads (hosts/credentials.py).
    prompts: PromptOnce | None = field(default=None, compare=False, repr=False)


def is_sim(spec: str) -> bool:
    return spec.startswith("sim:")


def expand(spec: str, options: ConnectOptions | None = None) -> list[str]:
    """``--host`` may name several PCs (a comma list or an inventory group): one spec per PC."""
    opts = options or ConnectOptions()
    out: list[str] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if is_sim(item) or item == "local":
            out.append(item)
            continue
        from wbplay.hosts.inventory.resolve import resolve

        targets = resolve(item, opts.inventory, transport=opts.transport)
        out += [item] if len(targets) == 1 else [t.name for t in targets]
    out = list(dict.fromkeys(out))
    if opts.limit is not None:
        from wbplay.hosts.inventory.limit import select
        from wbplay.hosts.inventory.resolve import groups_of

        groups = {} if all(is_sim(h) or h == "local" for h in out) else groups_of(opts.inventory)
        out = select(out, opts.limit, groups)
    return out


def open_host(spec: str, *, read_only: bool, options: ConnectOptions | None = None) -> Host:
    opts = options or ConnectOptions()
    if is_sim(spec):
        # Imported here: only a sim run needs the simulator (and its schema validation).
        from wbplay.hosts.sim import SimHost
        from wbplay.sim.state import resolve_state_file

        target = spec[len("sim:") :]
        path = resolve_state_file(target)
        name = Path(target).stem if target.endswith((".yml", ".yaml")) else target
        return SimHost(path, read_only=read_only, name=name, fail_write=opts.fail_write)
    if spec == "local":
        from wbplay.hosts.local import LocalHost

        return LocalHost(read_only=read_only)
    from wbplay.hosts.winrm.host import open_winrm_host

    return open_winrm_host(spec, read_only=read_only, options=opts)
