"""Signing plans with a key of this installation (HMAC-SHA256 over the plan's digest).

The key is 32 random bytes in ``<state dir>/plan-signing.key`` (mode 0600),
made on the first ``wbplay plan``.  A valid signature proves only that the
plan was written by a wbplay holding that key, i.e. by someone who can read
this installation's state directory, and not changed since.  It proves
nothing about what the plan contains being right: that is the reviewer's job,
and ``apply`` re-derives every change anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from wbplay.errors import PathError, PlanError
from wbplay.paths import ensure_dir, read_regular, state_home

ALGORITHM = "hmac-sha256"
KEY_NAME = "plan-signing.key"


def key_path() -> Path:
    return state_home() / KEY_NAME


def _read_key(path: Path) -> bytes:
    key = read_regular(path, "plan signing key", limit=1024)
    if len(key) < 32:
        raise PathError(
            str(path), "the plan signing key is too short", "remove it; the next plan makes a new one"
        )
    return key


def _key(create: bool) -> bytes | None:
    path = key_path()
    if not os.path.lexists(path):
        if not create:
            return None
        ensure_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_key(path)  # another plan made it just now
        except OSError as e:
            raise PathError(str(path), f"cannot create the plan signing key: {e.strerror}") from None
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return _read_key(path)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"wbplay plan key\0" + key).hexdigest()[:16]


def sign(digest: str) -> dict[str, str]:
    key = _key(create=True)
    assert key is not None
    mac = hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()
    return {"algorithm": ALGORITHM, "key_id": key_id(key), "value": mac}


def verify(doc: dict[str, Any], path: Path, *, trust: bool) -> None:
    """Refuse a plan not signed by this installation's key, unless ``trust``."""
    if trust:
        return
    how = "pass --trust to apply a plan made elsewhere (after checking its digest with --expect)"
    signature = doc.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        raise PlanError(f"{path}: refusing to apply: the plan is not signed; {how}")
    key = _key(create=False)
    if key is None:
        raise PlanError(
            f"{path}: refusing to apply: this installation has no plan signing key ({key_path()}), "
            f"so the plan was made elsewhere; {how}"
        )
    signed = str(doc.get("digest", "")).encode("ascii", "replace")
    expected = hmac.new(key, signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("value", ""))):
        mine = key_id(key)
        theirs = signature.get("key_id")
        why = (
            f"it was signed by another installation (key {theirs}, this one is {mine})"
            if theirs != mine
            else "its signature does not match its content (edited after it was signed)"
        )
        raise PlanError(f"{path}: refusing to apply: {why}; {how}")
