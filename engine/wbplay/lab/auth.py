"""Per-connection authentication, as the WinRM service does it.

* ``WWW-Authenticate: Negotiate`` (plus ``Basic realm="WSMAN"`` when Basic is
  enabled) on every 401.
* NTLM through pyspnego's acceptor.  The first token of a handshake is sniffed:
  raw NTLMSSP (requests_ntlm, pypsrp ``auth="ntlm"``) gets an NTLM acceptor,
  an SPNEGO token (pypsrp ``auth="negotiate"``, first byte 0x60) a Negotiate
  one.  NTLM authenticates the TCP *connection*: later requests on it carry no
  Authorization header, and the context seals/unseals its bodies.  A new
  connection starts unauthenticated.
* Basic only when enabled, checked on every request; over plain HTTP it also
  needs ``allow_unencrypted`` (Windows refuses it otherwise).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from enum import Enum
from typing import Any

import spnego
from spnego.exceptions import SpnegoError

from wbplay.lab.users import LabUser, NtlmUserFile

_NTLMSSP = b"NTLMSSP\x00"


class Outcome(Enum):
    OK = "ok"  # authenticated: go on with the request
    CONTINUE = "continue"  # handshake in progress: 401 with the server token
    DENIED = "denied"  # 401 with the plain challenge


@dataclass(frozen=True)
class AuthResult:
    outcome: Outcome
    token: bytes | None = None  # server token for WWW-Authenticate: Negotiate <b64>
    user: LabUser | None = None
    handshake_done: bool = False  # this request completed an NTLM/SPNEGO handshake


class Authenticator:
    """The lab-wide auth policy; hands out one :class:`ConnectionAuth` per TCP connection."""

    def __init__(
        self,
        users: tuple[LabUser, ...],
        hostname: str,
        *,
        basic: bool,
        allow_unencrypted: bool,
        tls: bool,
    ) -> None:
        self.users = users
        self.hostname = hostname
        self.basic = basic
        self.allow_unencrypted = allow_unencrypted
        self.tls = tls
        self._ntlm_file = NtlmUserFile(users, hostname)

    def challenges(self) -> list[str]:
        return ["Negotiate", 'Basic realm="WSMAN"'] if self.basic else ["Negotiate"]

    def connection(self) -> ConnectionAuth:
        return ConnectionAuth(self)

    def close(self) -> None:
        self._ntlm_file.close()

    def find_user(self, name: str) -> LabUser | None:
        """The lab user behind ``user``, ``HOST\\user`` or ``.\\user`` (case-insensitive)."""
        domain, sep, bare = name.rpartition("\\")
        if sep and domain.lower() not in (self.hostname.lower(), "."):
            return None
        for user in self.users:
            if user.name.lower() == bare.lower():
                return user
        return None

    def new_acceptor(self, protocol: str) -> Any:
        options = (
            spnego.NegotiateOptions.use_ntlm if protocol == "ntlm" else spnego.NegotiateOptions.use_negotiate
        )
        with self._ntlm_file.active():
            return spnego.server(protocol=protocol, options=options)

    def step(self, context: Any, token: bytes) -> bytes | None:
        with self._ntlm_file.active():
            return context.step(token)

    def check_basic(self, header_value: str) -> LabUser | None:
        try:
            decoded = base64.b64decode(header_value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        user = self.find_user(name) if sep else None
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user


class ConnectionAuth:
    """The auth state of one TCP connection."""

    def __init__(self, policy: Authenticator) -> None:
        self._policy = policy
        self._context: Any = None
        self.user: LabUser | None = None
        self.scheme: str | None = None  # "ntlm", "negotiate" or "basic"

    @property
    def sealing_context(self) -> Any:
        """The NTLM/SPNEGO context that seals this connection's bodies, once authenticated."""
        if self.scheme in ("ntlm", "negotiate") and self.user is not None:
            return self._context
        return None

    def authenticate(self, authorization: str | None) -> AuthResult:
        if authorization is None:
            if self.user is not None and self.scheme in ("ntlm", "negotiate"):
                return AuthResult(Outcome.OK, user=self.user)
            return AuthResult(Outcome.DENIED)
        scheme, _, value = authorization.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "negotiate":
            return self._negotiate(value.strip())
        if scheme == "basic":
            self._reset()
            if not self._policy.basic or (not self._policy.tls and not self._policy.allow_unencrypted):
                return AuthResult(Outcome.DENIED)
            user = self._policy.check_basic(value.strip())
            if user is None:
                return AuthResult(Outcome.DENIED)
            # Basic authenticates this request only: the next one must carry the header again.
            self.user, self.scheme = user, "basic"
            return AuthResult(Outcome.OK, user=user)
        self._reset()
        return AuthResult(Outcome.DENIED)

    def _reset(self) -> None:
        self._context, self.user, self.scheme = None, None, None

    def _negotiate(self, value: str) -> AuthResult:
        try:
            token = base64.b64decode(value, validate=True)
        except binascii.Error:
            self._reset()
            return AuthResult(Outcome.DENIED)
        starts_handshake = (token.startswith(_NTLMSSP) and token[8:12] == b"\x01\x00\x00\x00") or token[
            :1
        ] == b"\x60"
        try:
            if starts_handshake:
                self._reset()
                self.scheme = "ntlm" if token.startswith(_NTLMSSP) else "negotiate"
                self._context = self._policy.new_acceptor(self.scheme)
            elif self._context is None or self._context.complete:
                self._reset()
                return AuthResult(Outcome.DENIED)
            out = self._policy.step(self._context, token)
        except SpnegoError:
            # Wrong password, unknown user, or a broken token: Windows answers a bare 401.
            self._reset()
            return AuthResult(Outcome.DENIED)
        if not self._context.complete:
            return AuthResult(Outcome.CONTINUE, token=out)
        principal = self._context.client_principal or ""
        user = self._policy.find_user(principal)
        if user is None:
            self._reset()
            return AuthResult(Outcome.DENIED)
        self.user = user
        return AuthResult(Outcome.OK, token=out, user=user, handshake_done=True)
