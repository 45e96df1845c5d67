"""Who may log on to the lab, and the private NTLM credential file pyspnego's acceptor reads.

Users file (``wbplay lab --users FILE``), two accepted forms:

* ``*.yaml`` / ``*.yml``::

      users:
        wbadmin: some-lab-password
        helpdesk: another-one

  (a list of ``{name: ..., password: ...}`` mappings works too);

* any other file: one ``user:password`` per line (the password is everything
  after the first colon); blank lines and lines starting with ``#`` are ignored.

User names are local accounts of the simulated PC: a client may log on as
``wbadmin``, ``PC42\\wbadmin`` or ``.\\wbadmin``.  Without ``--users`` the lab
has one documented, lab-only account (:data:`DEFAULT_USER`).

pyspnego's NTLM acceptor only reads credentials from the file named by the
``NTLM_USER_FILE`` environment variable.  :class:`NtlmUserFile` writes that file
(Heimdal ``DOMAIN:USER:PASSWORD`` lines) into a private temp dir (0700, file
0600) and sets the variable only around the acceptor calls, under a lock, then
restores it: several labs in one process each see their own users, and no
child process inherits the path.  Passwords are never logged or printed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from wbplay.errors import UsageError


@dataclass(frozen=True)
class LabUser:
    """A local account of the simulated PC."""

    name: str
    password: str = field(repr=False)


DEFAULT_USER = LabUser("wbadmin", "wbplay-lab-only")
"""The documented lab account; it exists only inside a running ``wbplay lab``."""

_ENV_VAR = "NTLM_USER_FILE"
_ENV_LOCK = threading.Lock()


def _check(user: LabUser, where: str) -> LabUser:
    if not user.name or any(c in user.name for c in ":\\/@ \t"):
        raise UsageError(f"{where}: invalid user name {user.name!r} (no domain, spaces, ':' or '@')")
    if not user.password:
        raise UsageError(f"{where}: user {user.name!r} has an empty password")
    if ":" in user.password or "\n" in user.password:
        # The Heimdal line format pyspnego reads cannot hold a ':' in the password.
        raise UsageError(f"{where}: the password of {user.name!r} contains ':', which the lab cannot store")
    return user


def load_users(path: Path) -> tuple[LabUser, ...]:
    """Read a users file (see the module docstring); UsageError if it is invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read the users file {path}: {e.strerror}") from e
    users: list[LabUser] = []
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"{path}: not valid YAML ({e.__class__.__name__})") from e
        entries = data.get("users") if isinstance(data, dict) else None
        if isinstance(entries, dict):
            pairs = list(entries.items())
        elif isinstance(entries, list) and all(isinstance(e, dict) for e in entries):
            pairs = [(e.get("name"), e.get("password")) for e in entries]
        else:
            raise UsageError(f"{path}: expected a top-level 'users:' mapping of name to password")
        for name, password in pairs:
            if not isinstance(name, str) or not isinstance(password, str):
                raise UsageError(f"{path}: every user needs a string name and a string password")
            users.append(_check(LabUser(name, password), str(path)))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            name, sep, password = stripped.partition(":")
            if not sep:
                raise UsageError(f"{path}:{number}: expected 'user:password'")
            users.append(_check(LabUser(name.strip(), password), f"{path}:{number}"))
    if not users:
        raise UsageError(f"{path}: no users defined")
    names = [u.name.lower() for u in users]
    if len(set(names)) != len(names):
        raise UsageError(f"{path}: a user is defined twice")
    return tuple(users)


class NtlmUserFile:
    """The lab's private NTLM_USER_FILE; use :meth:`active` around every acceptor call."""

    def __init__(self, users: tuple[LabUser, ...], hostname: str) -> None:
        self._dir = tempfile.mkdtemp(prefix="wbplay-lab-ntlm-")  # mkdtemp creates it 0700
        self.path = os.path.join(self._dir, "users")
        lines = []
        for user in users:
            # A local account may be named bare, as HOSTNAME\user or as .\user: the acceptor
            # matches the domain the client sent, so list all three.
            for domain in ("", hostname.upper(), "."):
                lines.append(f"{domain}:{user.name}:{user.password}\n")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)

    @contextmanager
    def active(self) -> Iterator[None]:
        with _ENV_LOCK:
            previous = os.environ.get(_ENV_VAR)
            os.environ[_ENV_VAR] = self.path
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop(_ENV_VAR, None)
                else:
                    os.environ[_ENV_VAR] = previous

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
