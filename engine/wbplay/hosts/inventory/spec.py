"""What one ``--host`` item says before any inventory lookup.

A name (host, group or address), optionally with a port or a scheme:
``pc42``, ``host:port``, ``[v6]:port`` or ``https://host:port``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from wbplay.errors import UsageError
from wbplay.hosts.target import DEFAULT_PORTS

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class HostSpec:
    """One ``--host`` item as written: the scheme and port are None unless it gives them."""

    name: str  # host/group name, or address
    scheme: str | None = None
    port: int | None = None


def _parse_port(text: str, spec: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"--host {spec}: {text!r} is not a port number (1-65535)")
    return int(text)


def parse_spec(spec: str) -> HostSpec:
    """Parse one item; ``sim:`` and ``local`` are refused (the host factory takes them first)."""
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
        return HostSpec(_check_address(parts.hostname, spec), parts.scheme, port)
    if spec.startswith("["):
        addr, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"--host {spec}: write an IPv6 address as [addr] or [addr]:port")
        return HostSpec(_check_address(addr, spec), None, _parse_port(rest[1:], spec) if rest else None)
    if spec.count(":") == 1:
        host, _, port = spec.partition(":")
        return HostSpec(_check_address(host, spec), None, _parse_port(port, spec))
    return HostSpec(_check_address(spec, spec), None, None)


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
