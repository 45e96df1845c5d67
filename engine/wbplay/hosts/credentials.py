"""Where a WinRM password comes from, and the type that keeps it out of logs.

Sources, in this order (the first that answers wins):

1. the environment: ``WBPLAY_PASSWORD_<HOST>`` (the host name upper-cased,
   every character other than A-Z/0-9 turned into ``_``), then ``WBPLAY_PASSWORD``;
2. the OS keyring (``keyring`` package), service ``wbplay``, key ``user@host``
   then ``host``; a missing or broken keyring backend is not an error, wbplay
   just moves on to the next source;
3. an interactive prompt (``getpass``), only when stdin is a terminal.  In a
   fleet (:class:`PromptOnce`) each credential is asked for once, whatever the
   number of PCs and threads: one prompt per user name (and one for the user
   name itself), never two at once, the answer reused for every PC that logs on
   as that user in this run.

There is deliberately no ``--password`` option: a value on a command line ends
up in shell histories and in every process listing on the machine.

The user name comes from the inventory (``username``, per host or group) and
otherwise from ``WBPLAY_USER``; the inventory wins because it is the more
specific of the two (a run over a group of PCs may use different accounts).

A password only ever travels as a :class:`Secret`, whose ``repr``/``str`` is
``***``; :meth:`Secret.reveal` is called in exactly one place, where the
password is handed to pywinrm.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wbplay.errors import AuthenticationError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "wbplay"
ENV_USER = "WBPLAY_USER"
ENV_PASSWORD = "WBPLAY_PASSWORD"

# Transports that authenticate with a user name and password.  Kerberos uses
# the ticket cache (kinit) and certificate auth uses a client certificate.
PASSWORD_TRANSPORTS = frozenset({"ntlm", "basic", "credssp"})


class Secret:
    """A password that prints as ``***`` wherever it is formatted or logged.

    Immutable, like a frozen dataclass, but deliberately *not* a dataclass:
    ``dataclasses.asdict`` recurses into nested dataclasses and would copy the
    clear text out of ``Credentials`` into a plain dict.  Copies return the same
    object, so ``asdict(credentials)`` keeps a ``Secret``; pickling is refused.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """The real value: only for handing it to the transport library."""
        return self._value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "***"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        # A pickle (multiprocessing, caches) would carry the clear text somewhere
        # nobody audits.
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class Credentials:
    """A user name and password, and where the password came from (for messages)."""

    username: str
    password: Secret
    source: str  # e.g. "environment variable WBPLAY_PASSWORD_PC42", "keyring", "prompt"


class PromptOnce:
    """A fleet's prompts: each credential asked once, one prompt at a time, across threads.

    Without it, ``--forks 10`` over PCs with no password in the environment would
    start ten ``getpass`` prompts at once on one terminal, their keystrokes
    interleaved.  The first thread to need a credential asks while the others
    wait on the lock; they then reuse its answer.  A prompt that raises (Ctrl-C,
    end of input) caches nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], Secret] = {}

    def ask(self, key: tuple[str, str], ask: Callable[[], str]) -> Secret:
        with self._lock:
            if key not in self._answers:
                self._answers[key] = Secret(ask())
            return self._answers[key]


def host_env_var(host: str) -> str:
    """``WBPLAY_PASSWORD_<HOST>`` for ``host``: upper-cased, non-alphanumerics -> ``_``."""
    return f"{ENV_PASSWORD}_{re.sub(r'[^A-Z0-9]', '_', host.upper())}"


def needs_password(transport: str) -> bool:
    """Whether ``transport`` authenticates with a password at all."""
    return transport in PASSWORD_TRANSPORTS


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):  # closed or replaced stdin
        return False


def _from_keyring(username: str, host: str) -> str | None:
    """The keyring's password for ``user@host`` or ``host``; None if absent or unavailable."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        log.debug("keyring package not installed; skipping the keyring")
        return None
    for key in (f"{username}@{host}", host):
        try:
            value = keyring.get_password(KEYRING_SERVICE, key)
        except (KeyringError, RuntimeError, OSError) as exc:
            # No backend (headless Linux), a locked store, a dead D-Bus: none of
            # these should stop a run whose password is available elsewhere.
            log.debug("keyring unavailable (%s); trying the next source", type(exc).__name__)
            return None
        if value:
            return value
    return None


def get_credentials(
    host: str,
    username: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    prompt: Callable[[str], str] | None = None,
    user_prompt: Callable[[str], str] | None = None,
    prompts: PromptOnce | None = None,
) -> Credentials:
    """The credentials for ``host`` (the inventory name, or the address given).

    ``username`` is the inventory's value, if any.  ``interactive`` defaults to
    "stdin is a terminal"; without it nothing is ever prompted for.  ``prompt`` /
    ``user_prompt`` default to ``getpass.getpass`` / ``input`` (looked up at call
    time); ``prompts``: a fleet's, so each credential is asked for once.
    Raises :class:`AuthenticationError` naming what to set when no source answers.
    """
    env = os.environ if env is None else env
    interactive = _stdin_is_tty() if interactive is None else interactive

    user = username or env.get(ENV_USER) or ""
    if not user:
        if not interactive:
            raise AuthenticationError(
                f"no user name for {host}: set {ENV_USER}=DOMAIN\\user (or 'username' in the inventory)"
            )
        ask_user = user_prompt or input
        if prompts is None:
            user = ask_user(f"User name for {host}: ").strip()
        else:
            text = f"User name (for {host} and every PC the inventory gives none): "
            asked = prompts.ask(("user", ""), lambda: ask_user(text))
            user = asked.reveal().strip()
        if not user:
            raise AuthenticationError(f"no user name given for {host}")

    # An empty variable counts as unset: Windows refuses blank passwords for
    # network logons anyway (LimitBlankPasswordUse), so "" is always a mistake.
    per_host = host_env_var(host)
    for var in (per_host, ENV_PASSWORD):
        value = env.get(var)
        if value:
            return Credentials(user, Secret(value), f"environment variable {var}")

    value = _from_keyring(user, host)
    if value:
        return Credentials(user, Secret(value), f"keyring (service {KEYRING_SERVICE!r})")

    if interactive:
        ask = prompt or getpass.getpass
        if prompts is None:
            value = ask(f"Password for {user}@{host}: ")
        else:
            value = prompts.ask(
                ("password", user),
                lambda: ask(f"Password for {user} (for {host} and every PC this run logs on to as {user}): "),
            ).reveal()
        if value:
            return Credentials(user, Secret(value), "prompt")
        raise AuthenticationError(f"no password given for {user}@{host}")

    raise AuthenticationError(
        f"no password for {user}@{host}: set {per_host} (this host) or {ENV_PASSWORD} (all hosts), "
        f"or store it in the OS keyring with `keyring set {KEYRING_SERVICE} {user}@{host}`; "
        "wbplay only prompts when run from a terminal"
    )
