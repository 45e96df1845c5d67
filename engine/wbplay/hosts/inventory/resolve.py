"""``--host`` -> the WinRM targets it names, through the inventory and its vars."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wbplay.errors import InventoryError, UsageError
from wbplay.hosts.inventory.files import default_inventory_path
from wbplay.hosts.inventory.model import Inventory, VarValue
from wbplay.hosts.inventory.spec import HostSpec, parse_spec
from wbplay.hosts.inventory.yaml_file import load_inventory
from wbplay.hosts.target import (
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_PORTS,
    DEFAULT_READ_DEADLINE,
    DEFAULT_SCHEME,
    DEFAULT_TRANSPORT,
    DEFAULT_WRITE_DEADLINE,
    TRANSPORTS,
    Target,
    TlsVerificationDisabledWarning,
)

_PATH_VARS = ("ca_bundle", "cert_pem", "cert_key_pem")


# A fleet resolves every PC through the same file: without this, N PCs parse and validate an
# N-host inventory N times (quadratic; at 1,000 PCs that dominated the controller's CPU).
# Keyed by the file's identity and mtime, so an edited inventory is read again.
_LOADED: dict[tuple[str, int, int, int], Inventory] = {}
_LOADED_LOCK = threading.Lock()


def load_any(path: Path) -> Inventory:
    """An inventory in any of its formats, told apart by the file name: CSV, host list, else YAML."""
    try:
        st = path.stat()
    except OSError:
        return _load_any(path)  # let the loader say what is wrong with the path
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOADED_LOCK:
        if key in _LOADED:
            return _LOADED[key]
    inventory = _load_any(path)
    with _LOADED_LOCK:
        _LOADED.clear()  # one inventory at a time is all a run uses
        _LOADED[key] = inventory
    return inventory


def _load_any(path: Path) -> Inventory:
    from wbplay.hosts.inventory import table_files

    suffix = path.suffix.lower()
    if suffix in table_files.CSV_SUFFIXES:
        return table_files.load_csv(path)
    if suffix in table_files.LIST_SUFFIXES:
        return table_files.load_host_list(path)
    return load_inventory(path)


def _locate(inventory_path: Path | None, env: Mapping[str, str] | None) -> Inventory | None:
    if inventory_path is not None:
        return load_any(Path(inventory_path))
    path, required = default_inventory_path(env)
    if not required and not path.exists():
        return None
    return load_any(path)


def groups_of(
    inventory_path: Path | None = None, env: Mapping[str, str] | None = None
) -> dict[str, tuple[str, ...]]:
    """The inventory's groups (for ``--limit``), or none without an inventory."""
    inventory = _locate(inventory_path, env)
    return dict(inventory.groups) if inventory is not None else {}


def resolve(
    spec: str,
    inventory_path: Path | None = None,
    *,
    insecure_skip_tls_verify: bool = False,
    transport: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[Target]:
    """The WinRM targets ``spec`` names: one host, a group, or a comma-separated list.

    ``insecure_skip_tls_verify`` is the CLI's ``--insecure-skip-tls-verify``;
    ``transport`` (a CLI option) overrides every target's transport, with the
    same checks as the inventory's.
    Raises :class:`InventoryError` (with file:line) or :class:`UsageError`.
    """
    if transport is not None and transport not in TRANSPORTS:
        raise UsageError(f"unknown transport {transport!r}; use one of {', '.join(TRANSPORTS)}")
    inventory = _locate(inventory_path, env)
    targets: dict[str, Target] = {}
    items = [s.strip() for s in spec.split(",")]
    if not spec.strip() or not all(items):
        raise UsageError(f"--host {spec!r}: empty host name")
    for item in items:
        parsed = parse_spec(item)
        specs: list[HostSpec] = [parsed]
        if inventory is not None and parsed.name in inventory.groups:
            if parsed.scheme or parsed.port:
                raise UsageError(
                    f"--host {item}: {parsed.name} is a group; set scheme and port in the inventory"
                )
            specs = [HostSpec(member) for member in inventory.groups[parsed.name]]
            if not specs:
                raise inventory.error(f"group {parsed.name!r} has no hosts", ("groups", parsed.name))
        for one in specs:
            target = _build(one.name, one, inventory, insecure_skip_tls_verify, transport)
            targets.setdefault(target.name, target)
    for target in targets.values():
        if target.insecure:
            warnings.warn(
                TlsVerificationDisabledWarning(
                    f"certificate validation is OFF for {target.name} ({target.url}): anyone on the network "
                    "path can impersonate the PC and capture the credentials; give ca_bundle instead"
                ),
                stacklevel=2,
            )
    return list(targets.values())


def _build(
    name: str, spec: HostSpec, inventory: Inventory | None, insecure: bool, transport_override: str | None
) -> Target:
    in_inventory = inventory is not None and name in inventory.host_names
    values: dict[str, VarValue] = {}
    if inventory is not None:
        values = (
            inventory.host_vars(name)
            if in_inventory
            else {k: VarValue(v, ("all", "vars", k)) for k, v in inventory.all_vars.items()}
        )

    def get(key: str, default: Any = None) -> Any:
        return values[key].value if key in values else default

    def fail(message: str, key: str, hint: str = "") -> InventoryError | UsageError:
        if key == "transport" and transport_override:
            return UsageError(
                f"{name}: --transport {transport_override}: {message}" + (f" ({hint})" if hint else "")
            )
        if inventory is not None and key in values:
            return inventory.error(message, values[key].key_path, hint)
        return UsageError(f"{name}: {message}" + (f" ({hint})" if hint else ""))

    explicit_port = spec.port or get("port")
    # As Ansible does: 5985 is the WinRM HTTP listener, so "pc42:5985" means http; else https.
    implied = "http" if explicit_port == DEFAULT_PORTS["http"] else DEFAULT_SCHEME
    scheme = spec.scheme or get("scheme", implied)
    port = explicit_port or DEFAULT_PORTS[scheme]
    transport = transport_override or get("transport", DEFAULT_TRANSPORT)
    cert_validation = "ignore" if insecure else get("cert_validation", "validate")
    base = Path(inventory.path).parent if inventory is not None else Path.cwd()
    paths = {k: str((base / Path(get(k)).expanduser()).resolve()) if get(k) else None for k in _PATH_VARS}

    if transport == "basic" and scheme == "http":
        raise fail(
            "Basic authentication over plain HTTP is refused: it sends the password in clear text, and "
            "Windows rejects it by default (AllowUnencrypted=false)",
            "transport",
            "use scheme: https (port 5986), or transport: ntlm, which encrypts the messages over HTTP",
        )
    if transport == "certificate":
        if scheme != "https":
            raise fail("certificate authentication needs scheme: https", "transport")
        if not paths["cert_pem"] or not paths["cert_key_pem"]:
            raise fail(
                "certificate authentication needs cert_pem and cert_key_pem",
                "transport",
                "give the client certificate and its key as PEM files",
            )
    if paths["ca_bundle"] and cert_validation == "ignore" and not insecure:
        raise fail(
            "ca_bundle is set but cert_validation is ignore",
            "cert_validation",
            "remove cert_validation: ignore so the CA bundle is used",
        )
    for key in _PATH_VARS:
        if paths[key] and not Path(paths[key]).is_file():
            raise fail(f"{key} file not found: {paths[key]}", key)

    operation_timeout = int(get("operation_timeout", DEFAULT_OPERATION_TIMEOUT))
    read_timeout = int(get("read_timeout", operation_timeout + 10))
    if read_timeout <= operation_timeout:
        raise fail(
            f"read_timeout ({read_timeout}) must be greater than operation_timeout ({operation_timeout})",
            "read_timeout",
            "the PC may hold a request for operation_timeout seconds before answering",
        )

    origin = "command line"
    if in_inventory and inventory is not None and inventory.document is not None:
        mark = inventory.document.mark_for(inventory.first_entry(name))
        origin = f"{inventory.path}:{mark.line}" if mark else inventory.path
    return Target(
        name=name,
        address=get("address") or spec.name,
        port=int(port),
        scheme=scheme,
        transport=transport,
        cert_validation=cert_validation,
        ca_bundle=paths["ca_bundle"],
        username=get("username"),
        cert_pem=paths["cert_pem"],
        cert_key_pem=paths["cert_key_pem"],
        operation_timeout=operation_timeout,
        read_timeout=read_timeout,
        read_deadline=float(get("read_deadline", DEFAULT_READ_DEADLINE)),
        write_deadline=float(get("write_deadline", DEFAULT_WRITE_DEADLINE)),
        origin=origin,
    )
