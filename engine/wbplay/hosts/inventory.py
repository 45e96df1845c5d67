"""Which Windows PCs ``--host`` means, and how to connect to each of them.

``--host pc42`` is looked up in a YAML inventory (``schemas/inventory.schema.json``):

.. code-block:: yaml

    all:
      vars: {username: CORP\\backupadmin, ca_bundle: corp-ca.pem}
    groups:
      office:
        vars: {transport: ntlm}
        hosts:
          pc42: {address: 10.0.0.42}
          pc43:                       # address defaults to the name
    hosts:
      kiosk: {address: 192.168.7.20, port: 5986}

Host vars override group vars, which override ``all.vars``.  A host in two
groups that set the same var to different values is an error (there is no
silent "last group wins").  A group name resolves to all its hosts; a
comma-separated list resolves to each item.

Without an inventory entry, ``--host`` also takes a bare hostname or IP,
``host:port``, ``[v6]:port`` or ``https://host:port`` (``all.vars`` still apply).

Where the inventory is: ``--inventory`` (``inventory_path``), else
``$WBPLAY_INVENTORY``, else ``$XDG_CONFIG_HOME/wbplay/inventory.yml``
(``~/.config/wbplay/inventory.yml``).  Only the last may be missing.

Secure defaults: HTTPS on 5986, NTLM, certificate validation on.  Basic auth
over HTTP is refused; skipping certificate validation takes an explicit
``cert_validation: ignore`` or ``insecure_skip_tls_verify=True`` and raises a
:class:`TlsVerificationDisabledWarning` through :mod:`warnings`.

``sim:NAME`` and ``local`` are handled by the host factory before this module.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from wbplay import resources
from wbplay.errors import InventoryError, UsageError
from wbplay.playbook.yamlsafe import Document, KeyPath, format_key_path, load_text

ENV_INVENTORY = "WBPLAY_INVENTORY"

DEFAULT_SCHEME = "https"
DEFAULT_PORTS = {"https": 5986, "http": 5985}
DEFAULT_TRANSPORT = "ntlm"
TRANSPORTS = ("ntlm", "kerberos", "credssp", "certificate", "basic")
DEFAULT_OPERATION_TIMEOUT = 20
DEFAULT_READ_DEADLINE = 300.0
DEFAULT_WRITE_DEADLINE = 900.0

VAR_NAMES = (
    "address",
    "port",
    "scheme",
    "transport",
    "cert_validation",
    "ca_bundle",
    "username",
    "cert_pem",
    "cert_key_pem",
    "operation_timeout",
    "read_timeout",
    "read_deadline",
    "write_deadline",
)
_PATH_VARS = ("ca_bundle", "cert_pem", "cert_key_pem")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class TlsVerificationDisabledWarning(UserWarning):
    """Certificate validation was switched off for a host (on purpose, but worth saying)."""


@dataclass(frozen=True)
class Target:
    """One WinRM endpoint, fully resolved: everything needed to connect except the password."""

    name: str
    address: str
    port: int
    scheme: str = DEFAULT_SCHEME
    transport: str = DEFAULT_TRANSPORT
    cert_validation: str = "validate"
    ca_bundle: str | None = None
    username: str | None = None
    cert_pem: str | None = None
    cert_key_pem: str | None = None
    operation_timeout: int = DEFAULT_OPERATION_TIMEOUT
    read_timeout: int = DEFAULT_OPERATION_TIMEOUT + 10
    read_deadline: float = DEFAULT_READ_DEADLINE
    write_deadline: float = DEFAULT_WRITE_DEADLINE
    origin: str = field(default="command line", compare=False)  # "inventory.yml:12" or "command line"

    @property
    def url(self) -> str:
        """The WS-Management endpoint, always with an explicit port (pywinrm guesses wrong without)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}/wsman"

    @property
    def insecure(self) -> bool:
        """True when an HTTPS certificate will not be checked."""
        return self.scheme == "https" and self.cert_validation == "ignore"


@dataclass(frozen=True)
class _Value:
    """A var's value and where it was set, so semantic errors can point at the line."""

    value: Any
    key_path: KeyPath


@dataclass(frozen=True)
class Inventory:
    """A loaded, schema-valid inventory."""

    path: str
    document: Document | None  # None for an empty file
    all_vars: Mapping[str, Any]
    groups: Mapping[str, tuple[str, ...]]  # group -> host names, in file order
    host_names: tuple[str, ...]  # every host, in order of first appearance

    def _data(self) -> dict[str, Any]:
        return self.document.data if self.document else {}

    def error(self, message: str, key_path: KeyPath, hint: str = "") -> InventoryError:
        if self.document is None:
            return InventoryError(message, path=self.path, key_path=format_key_path(key_path), hint=hint)
        err = self.document.error(message, key_path, hint, cls=InventoryError)
        assert isinstance(err, InventoryError)
        return err

    def host_vars(self, host: str) -> dict[str, _Value]:
        """``host``'s merged vars (all < groups < host), each with its key path."""
        data = self._data()
        merged: dict[str, _Value] = {}
        for k, v in (data.get("all") or {}).get("vars", {}).items():
            merged[k] = _Value(v, ("all", "vars", k))
        self._merge_layer(
            merged,
            [
                (("groups", g, "vars"), (data["groups"][g] or {}).get("vars") or {})
                for g, members in self.groups.items()
                if host in members
            ],
            host,
        )
        entries: list[tuple[KeyPath, Mapping[str, Any]]] = []
        if (data.get("hosts") or {}).get(host):
            entries.append((("hosts", host), data["hosts"][host]))
        for g, members in self.groups.items():
            if host in members and ((data["groups"][g] or {}).get("hosts") or {}).get(host):
                entries.append((("groups", g, "hosts", host), data["groups"][g]["hosts"][host]))
        self._merge_layer(merged, entries, host)
        return merged

    def _merge_layer(
        self, merged: dict[str, _Value], layer: list[tuple[KeyPath, Mapping[str, Any]]], host: str
    ) -> None:
        """Apply one precedence level; within a level, two different values are an error."""
        level: dict[str, _Value] = {}
        for base, values in layer:
            for k, v in values.items():
                if k in level and level[k].value != v:
                    first = format_key_path(level[k].key_path)
                    raise self.error(
                        f"{host} gets two different values for {k!r}: {level[k].value!r} from {first} "
                        f"and {v!r} here",
                        (*base, k),
                        f"set {k} for {host} in one place (its host entry wins over all groups)",
                    )
                level.setdefault(k, _Value(v, (*base, k)))
        merged.update(level)


def default_inventory_path(env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The inventory to use when ``--inventory`` is not given, and whether it must exist."""
    env = os.environ if env is None else env
    if env.get(ENV_INVENTORY):
        return Path(env[ENV_INVENTORY]).expanduser(), True
    config_home = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(config_home) / "wbplay" / "inventory.yml", False


def load_inventory(path: Path) -> Inventory:
    """Read, parse and validate an inventory file; errors name ``file:line``."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise InventoryError(
            f"cannot read the inventory: {e.strerror}",
            path=str(path),
            hint=f"pass --inventory PATH or set {ENV_INVENTORY}",
        ) from None
    except UnicodeDecodeError as e:
        raise InventoryError(f"not UTF-8 text (byte {e.start})", path=str(path)) from None
    if all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()):
        return Inventory(str(path), None, {}, {}, ())
    doc = load_text(text, str(path), InventoryError)
    if not isinstance(doc.data, dict):
        raise doc.error(
            "an inventory is a mapping with 'all', 'groups' and/or 'hosts'", (), cls=InventoryError
        )
    _validate(doc)
    data: dict[str, Any] = doc.data
    groups: dict[str, tuple[str, ...]] = {}
    order: dict[str, None] = dict.fromkeys((data.get("hosts") or {}).keys())
    for g, body in (data.get("groups") or {}).items():
        members = tuple(((body or {}).get("hosts") or {}).keys())
        groups[g] = members
        order.update(dict.fromkeys(members))
    for g in groups:
        if g in order:
            raise doc.error(
                f"{g!r} is both a group and a host name",
                ("groups", g),
                "--host NAME must mean one thing; rename the group or the host",
                cls=InventoryError,
            )
    return Inventory(str(path), doc, dict((data.get("all") or {}).get("vars") or {}), groups, tuple(order))


def _validate(doc: Document) -> None:
    error = best_match(Draft202012Validator(resources.schema("inventory")).iter_errors(doc.data))
    if error is None:
        return
    key_path: KeyPath = tuple(error.absolute_path)
    message, hint = error.message, ""
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        unexpected = re.findall(r"'([^']*)'", error.message)
        if unexpected:
            key = unexpected[0]
            key_path = (*key_path, key)
            known = (
                VAR_NAMES if _holds_vars(key_path[:-1]) else ("all", "groups", "hosts", "vars", "description")
            )
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known keys: " + ", ".join(known)
            if key == "password":
                hint = (
                    "passwords never go in the inventory: use WBPLAY_PASSWORD_<HOST>, "
                    "the OS keyring or the interactive prompt"
                )
    raise doc.error(message, key_path, hint, cls=InventoryError)


def _holds_vars(parent: KeyPath) -> bool:
    """Whether the mapping at ``parent`` is a vars mapping or a host entry."""
    return (len(parent) >= 1 and parent[-1] == "vars") or (len(parent) >= 2 and parent[-2] == "hosts")


# -- spec parsing -------------------------------------------------------------------


@dataclass(frozen=True)
class _Spec:
    name: str  # host/group name, or address
    scheme: str | None = None
    port: int | None = None


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"--host {spec}: {text!r} is not a port number (1-65535)")
    return int(text)


def _parse_spec(spec: str) -> _Spec:
    spec = spec.strip()
    if spec.startswith("sim:") or spec == "local":
        raise UsageError(f"--host {spec} is not a WinRM host (the host factory handles sim: and local)")
    if "://" in spec:
        parts = urlsplit(spec)
        if parts.scheme not in DEFAULT_PORTS:
            raise UsageError(f"--host {spec}: the scheme must be http or https, not {parts.scheme!r}")
        if parts.path not in ("", "/", "/wsman") or parts.query or parts.fragment:
            raise UsageError(f"--host {spec}: give scheme://host:port only (the path is always /wsman)")
        if parts.username or parts.password:
            raise UsageError(
                f"--host {parts.scheme}://...@{parts.hostname}: credentials never go on the command line; "
                "use the inventory's username and WBPLAY_PASSWORD_<HOST>, the keyring or the prompt"
            )
        try:
            port = parts.port
        except ValueError:
            raise UsageError(f"--host {spec}: the port is not a number from 1 to 65535") from None
        if not parts.hostname:
            raise UsageError(f"--host {spec}: no host name")
        return _Spec(_check_address(parts.hostname, spec), parts.scheme, port)
    if spec.startswith("["):
        addr, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"--host {spec}: write an IPv6 address as [addr] or [addr]:port")
        return _Spec(_check_address(addr, spec), None, _parse_port(rest[1:], spec) if rest else None)
    if spec.count(":") == 1:
        host, _, port = spec.partition(":")
        return _Spec(_check_address(host, spec), None, _parse_port(port, spec))
    return _Spec(_check_address(spec, spec), None, None)


def _check_address(text: str, spec: str) -> str:
    if not text:
        raise UsageError("--host needs a host name, an address, a group or scheme://host:port")
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError:
            raise UsageError(f"--host {spec}: {text!r} is not a valid IPv6 address") from None
    if not _NAME_RE.match(text) or len(text) > 253:
        raise UsageError(
            f"--host {spec}: {text!r} is not a valid host name",
        )
    return text


# -- resolution -----------------------------------------------------------------------


def _locate(inventory_path: Path | None, env: Mapping[str, str] | None) -> Inventory | None:
    if inventory_path is not None:
        return load_inventory(Path(inventory_path))
    path, required = default_inventory_path(env)
    if not required and not path.exists():
        return None
    return load_inventory(path)


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
        parsed = _parse_spec(item)
        specs: list[_Spec] = [parsed]
        if inventory is not None and parsed.name in inventory.groups:
            if parsed.scheme or parsed.port:
                raise UsageError(
                    f"--host {item}: {parsed.name} is a group; set scheme and port in the inventory"
                )
            specs = [_Spec(member) for member in inventory.groups[parsed.name]]
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
    name: str, spec: _Spec, inventory: Inventory | None, insecure: bool, transport_override: str | None
) -> Target:
    in_inventory = inventory is not None and name in inventory.host_names
    values: dict[str, _Value] = {}
    if inventory is not None:
        values = (
            inventory.host_vars(name)
            if in_inventory
            else {k: _Value(v, ("all", "vars", k)) for k, v in inventory.all_vars.items()}
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
        mark = inventory.document.mark_for(_first_entry(inventory, name))
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


def _first_entry(inventory: Inventory, name: str) -> KeyPath:
    data = inventory._data()
    if name in (data.get("hosts") or {}):
        return ("hosts", name)
    for g, members in inventory.groups.items():
        if name in members:
            return ("groups", g, "hosts", name)
    return ()
