"""A resolved WinRM endpoint: everything needed to connect to one PC except the password.

Secure defaults: HTTPS on 5986, NTLM, certificate validation on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_SCHEME = "https"
DEFAULT_PORTS = {"https": 5986, "http": 5985}
DEFAULT_TRANSPORT = "ntlm"
TRANSPORTS = ("ntlm", "kerberos", "credssp", "certificate", "basic")
DEFAULT_OPERATION_TIMEOUT = 20
DEFAULT_READ_DEADLINE = 300.0
DEFAULT_WRITE_DEADLINE = 900.0


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
