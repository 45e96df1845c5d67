"""pywinrm's failures as wbplay errors, with a hint and never a credential.

pywinrm's exceptions (and the ``requests`` objects they reference, whose
``PreparedRequest`` carries the ``Authorization`` header for Basic auth) are
translated into wbplay errors *outside* the ``except`` block, so they are not
even kept as ``__context__``.
"""

from __future__ import annotations

import re
import socket
from xml.etree.ElementTree import ParseError

import requests
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMTransportError,
    WSManFaultError,
)

from wbplay.errors import AuthenticationError, ConnectError, HostError, TransportError
from wbplay.hosts.credentials import Credentials
from wbplay.hosts.target import Target
from wbplay.hosts.winrm.connection import username_for

WSMAN_INVALID_SELECTORS = 2150858843  # the shell id is unknown: it timed out or was deleted
# ERROR_WSMAN_QUOTA_MAX_OPERATIONS: WinRS never decrements a shell's operation
# count, so a long-lived shell eventually refuses commands; Ansible opens a new one.
WSMAN_QUOTA_MAX_OPERATIONS = 0x803381A6
WSMAN_QUOTA_MAX_SHELLS = 0x803381A5

# Exceptions a pywinrm call can raise that we translate.  AssertionError and
# StopIteration are how pywinrm 0.5 reports a reply it cannot make sense of
# (RelatesTo mismatch, missing ShellId/CommandId element).
WINRM_FAILURES = (
    requests.RequestException,
    WinRMError,
    WinRMTransportError,
    AssertionError,
    StopIteration,
    ParseError,
)


# OpenSSL's words for "the reply was not TLS at all": an HTTP listener answers a
# ClientHello with "HTTP/1.1 400 ...", which is no valid TLS record.
_NOT_TLS = ("wrong version number", "unknown protocol", "record layer failure", "packet length too long")
PROBE_TIMEOUT_S = 3.0


class ConnectionLost(TransportError):
    """Internal: the TCP connection (or its security context) is gone."""


class ShellGone(TransportError):
    """Internal: the shell expired or hit a quota; a new one may be opened."""


class DeadlineExpired(TransportError):
    """Internal: our per-request deadline passed."""


def translate(
    e: BaseException,
    target: Target,
    credentials: Credentials | None,
    *,
    connected_once: bool,
    chunk_size: int,
) -> HostError:
    """``e`` (one of :data:`WINRM_FAILURES`) as a wbplay error naming the cause and the fix.

    ``connected_once``: whether a shell was ever opened; before that, a dropped
    or silent connection is a connect error, after it a :class:`ConnectionLost`.
    """
    t, url = target, target.url
    if isinstance(e, InvalidCredentialsError):
        source = f" (password from {credentials.source})" if credentials else ""
        user = username_for(target, credentials)
        return AuthenticationError(
            f"the host rejected the credentials for user {user or '(none)'} at {url}{source}; "
            "check the user name (DOMAIN\\user or .\\user for a local account), the password, and that "
            f"the account may use WinRM ({t.transport} authentication)"
        )
    if isinstance(e, requests.exceptions.SSLError):
        if any(words in str(e).lower() for words in _NOT_TLS):
            return _not_tls(t)
        if t.insecure:
            return ConnectError(
                f"the TLS handshake with {url} failed ({_ssl_reason(e)}); certificate validation is off "
                "(--insecure-skip-tls-verify), so the certificate is not the cause: check that port "
                f"{t.port} is the PC's WinRM HTTPS listener"
            )
        return ConnectError(
            f"certificate validation failed for {url}: {_ssl_reason(e)}. Give the CA that signed "
            "the PC's WinRM certificate with `ca_bundle: /path/to/ca.pem` in the inventory; only on a "
            "network you trust, skip the check with --insecure-skip-tls-verify (or cert_validation: "
            "ignore)"
        )
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return ConnectError(
            f"no answer from {url} within {t.read_timeout} s: check the address, that WinRM listens on "
            f"port {t.port} (winrm quickconfig{' -transport:https' if t.scheme == 'https' else ''}) "
            "and that the firewall lets it through"
        )
    if isinstance(e, requests.exceptions.ReadTimeout):
        if not connected_once:
            return ConnectError(
                f"{url} accepted the connection but did not answer within {t.read_timeout} s "
                "(read_timeout): is it a WinRM listener?"
            )
        return ConnectionLost(f"{url} did not answer within read_timeout {t.read_timeout} s")
    if isinstance(e, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        if not connected_once:
            return ConnectError(f"cannot connect to {url}: {_connect_reason(e)}")
        return ConnectionLost(f"connection error: {_connect_reason(e)}")
    if isinstance(e, requests.RequestException):
        # e.g. a Kerberos exchange that failed (no ticket, wrong SPN).
        hint = " (Kerberos: is there a ticket? run kinit)" if "Kerberos" in type(e).__name__ else ""
        return ConnectError(f"cannot talk to {url}: {type(e).__name__}{hint}")
    if isinstance(e, WSManFaultError):
        details = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("fault", e.fault_code),
                ("subcode", e.fault_subcode),
                ("WSManFault", e.wsman_fault_code),
                ("WMI error", f"0x{e.wmierror_code:08X}" if e.wmierror_code is not None else None),
            )
            if v is not None
        )
        text = f"WS-Management fault from {url}: {e.reason.strip()} ({details}; HTTP {e.code})"
        codes = {e.wsman_fault_code, e.wmierror_code}
        if WSMAN_INVALID_SELECTORS in codes or WSMAN_QUOTA_MAX_OPERATIONS in codes:
            return ShellGone(text)
        if WSMAN_QUOTA_MAX_SHELLS in codes:
            text += (
                f"; the account has too many WinRM shells open on {t.name} (MaxShellsPerUser): "
                "wait for idle shells to expire, or close other WinRM sessions"
            )
        return TransportError(text)
    if isinstance(e, WinRMTransportError):
        if e.code == 413:
            return TransportError(
                f"{url} refused a request as too large (HTTP 413: larger than its MaxEnvelopeSizekb). "
                f"wbplay sends at most {chunk_size} bytes per message; if the PC's limit is lower, "
                'raise it: winrm set winrm/config @{MaxEnvelopeSizekb="500"}'
            )
        if e.code == 400:
            # What Windows answers to a body sealed with a security context it no longer has.
            return ConnectionLost(f"{url} answered HTTP 400 (the connection's security context was lost)")
        return TransportError(f"{url} answered HTTP {e.code}")
    if isinstance(e, WinRMError):
        text = str(e)
        hint = ""
        if "kerberos" in text:
            hint = " (install Kerberos support: pip install 'pywinrm[kerberos]', and kinit first)"
        elif "credssp" in text:
            hint = " (install CredSSP support: pip install 'pywinrm[credssp]')"
        return ConnectError(f"cannot use WinRM on {url}: {text}{hint}")
    # AssertionError / StopIteration / ParseError: a reply pywinrm could not read.
    return TransportError(
        f"{url} sent a WS-Management reply that could not be understood ({type(e).__name__})"
    )


def _not_tls(t: Target) -> ConnectError:
    """HTTPS was asked for, and the other end did not answer in TLS."""
    host = f"[{t.address}]" if ":" in t.address else t.address
    http = f"http://{host}:{t.port}"
    fix = (
        f"use {http} (NTLM and Kerberos still encrypt every message), or give the PC an HTTPS "
        "listener (winrm quickconfig -transport:https)"
    )
    if answers_plain_http(t.address, t.port):
        return ConnectError(f"the server answered in plain HTTP; {fix}")
    return ConnectError(f"{t.url} did not answer in TLS: is it an HTTP listener? If so, {fix}")


def answers_plain_http(address: str, port: int, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether ``address:port`` answers an HTTP request, sent in plain text and without credentials."""
    host = f"[{address}]" if ":" in address else address
    request = f"HEAD /wsman HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii", "replace")
    reply = b""
    try:
        with socket.create_connection((address, port), timeout=timeout) as conn:
            conn.sendall(request)
            while len(reply) < 5:
                chunk = conn.recv(5 - len(reply))
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return False
    return reply == b"HTTP/"


def _ssl_reason(e: BaseException) -> str:
    match = re.search(r"certificate verify failed: ([^(')]+)", str(e))
    if match:
        return match.group(1).strip()
    if "hostname" in str(e).lower() and "match" in str(e).lower():
        return "the certificate's name does not match the host name"
    return "the TLS handshake failed"


def _connect_reason(e: BaseException) -> str:
    text = str(e)
    for needle, reason in (
        ("Connection refused", "connection refused (is WinRM listening on that port?)"),
        ("Name or service not known", "the host name does not resolve"),
        ("nodename nor servname", "the host name does not resolve"),
        ("getaddrinfo failed", "the host name does not resolve"),
        ("Temporary failure in name resolution", "the host name does not resolve"),
        ("No route to host", "no route to host"),
        ("Network is unreachable", "network unreachable"),
        ("RemoteDisconnected", "the server closed the connection"),
        ("Connection reset", "the connection was reset"),
        ("Connection aborted", "the connection was aborted"),
    ):
        if needle in text:
            return reason
    return type(e).__name__
