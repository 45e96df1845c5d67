"""HTTP message encryption (MS-WSMV 2.2.9.1) with an NTLM / SPNEGO security context.

After NTLM or Negotiate authentication over plain HTTP, WinRM bodies travel as
``multipart/encrypted``::

    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/HTTP-SPNEGO-session-encrypted\\r\\n
    \\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plain length>\\r\\n
    --Encrypted Boundary\\r\\n
    \\tContent-Type: application/octet-stream\\r\\n
    <uint32 LE signature length><signature><sealed bytes>--Encrypted Boundary--\\r\\n

The sealing state (RC4 keys, sequence numbers) lives in the context of one TCP
connection, so a body sealed on another connection fails here as on Windows.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from spnego.exceptions import SpnegoError

from wbplay.errors import WbplayError

PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
CONTENT_TYPE = f'multipart/encrypted;protocol="{PROTOCOL}";boundary="Encrypted Boundary"'
_BOUNDARY = b"--Encrypted Boundary"
_LENGTH = re.compile(rb"Length=(\d+)")


class DecryptError(WbplayError):
    """An encrypted body could not be opened (wrong context, tampered, malformed): HTTP 400."""


def is_encrypted(content_type: str) -> bool:
    return content_type.strip().lower().startswith(("multipart/encrypted", "multipart/x-multi-encrypted"))


def unwrap(context: Any, body: bytes, content_type: str) -> bytes:
    """The plaintext SOAP envelope of an encrypted request body."""
    if f'protocol="{PROTOCOL.lower()}"' not in content_type.lower():
        raise DecryptError("unsupported encryption protocol (the lab speaks SPNEGO/NTLM only)")
    parts = [p for p in body.split(_BOUNDARY + b"\r\n") if p]
    if len(parts) < 2 or len(parts) % 2:
        raise DecryptError("malformed multipart/encrypted body")
    plain = b""
    for i in range(0, len(parts), 2):
        header, payload = parts[i], parts[i + 1]
        length = _LENGTH.search(header)
        if length is None:
            raise DecryptError("encrypted part without OriginalContent Length")
        if payload.endswith(_BOUNDARY + b"--\r\n"):
            payload = payload[: -len(_BOUNDARY + b"--\r\n")]
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        if len(payload) < 4:
            raise DecryptError("encrypted part too short")
        (sig_len,) = struct.unpack("<I", payload[:4])
        if sig_len > len(payload) - 4:
            raise DecryptError("encrypted part with a bad signature length")
        signature, sealed = payload[4 : 4 + sig_len], payload[4 + sig_len :]
        try:
            data = context.unwrap_winrm(signature, sealed)
        except SpnegoError as e:
            raise DecryptError("the body was not sealed with this connection's security context") from e
        if len(data) != int(length.group(1)):
            raise DecryptError("decrypted length does not match OriginalContent Length")
        plain += data
    return plain


def wrap(context: Any, plain: bytes) -> bytes:
    """An encrypted response body (send it with :data:`CONTENT_TYPE`)."""
    wrapped = context.wrap_winrm(plain)
    return (
        _BOUNDARY + b"\r\n"
        b"\tContent-Type: " + PROTOCOL.encode() + b"\r\n"
        b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
        + str(len(plain)).encode()
        + b"\r\n"
        + _BOUNDARY
        + b"\r\n"
        b"\tContent-Type: application/octet-stream\r\n"
        + struct.pack("<I", len(wrapped.header))
        + wrapped.header
        + wrapped.data
        + _BOUNDARY
        + b"--\r\n"
    )
