"""Typed errors under one root, and the process exit codes they map to.

Every error message is written for the sysadmin reading it: it says what was
wrong and what to do.  No error ever carries a credential (see
``wbplay.credentials``); transport errors are built from status codes and
hostnames, never from the auth arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from wbplay.safetext import bounded

# The last guard on a message's size, whatever it quotes (each quote is bounded
# where it is made, see ``wbplay.safetext.quoted``; this catches the rest).
MESSAGE_LIMIT = 4000


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0  # nothing to do, or every change applied and verified
    PENDING = 1  # dry-run found changes, or steps wait for opt-in / a human
    INVALID = 2  # invalid playbook, plan, journal, inventory, host state, state directory, path or usage
    ROLLED_BACK = 3  # a step failed; every applied change was undone and verified
    CONNECTION = 4  # could not connect or authenticate to the host
    NEEDS_ATTENTION = 5  # a rollback failed, or a failure was left in place (--no-rollback)
    NO_CAUSE = 6  # every check passed, and nothing explains the failure the run was for
    INTERRUPTED = 130  # Ctrl-C; the journal can be rolled back with `wbplay rollback`


class WbplayError(Exception):
    """Root of every error wbplay raises on purpose."""

    exit_code: ExitCode = ExitCode.INVALID

    def __str__(self) -> str:
        return bounded(super().__str__(), MESSAGE_LIMIT)


class UsageError(WbplayError):
    """The command line asked for something that cannot be done."""


class PlaybookError(WbplayError):
    """A playbook (or another YAML input) is invalid.

    Carries the file, the 1-based line and column, the key path inside the
    document and a hint at what would be valid.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        column: int | None = None,
        key_path: str = "",
        hint: str = "",
    ) -> None:
        self.message = bounded(message, MESSAGE_LIMIT)
        self.path = path
        self.line = line
        self.column = column
        self.key_path = bounded(key_path)  # a key is input too
        self.hint = bounded(hint, MESSAGE_LIMIT)
        self.also: tuple[PlaybookError, ...] = ()  # the file's other errors (validate shows them all)
        super().__init__(self.render())

    @classmethod
    def all_of(cls, errors: Sequence[PlaybookError]) -> PlaybookError:
        """The first error, carrying the others: one file, every problem in it."""
        first = errors[0]
        first.also = tuple(errors[1:])
        first.args = (first.render(),)
        return first

    def render(self) -> str:
        text = self._render_one()
        for more in self.also:
            text += "\n" + more._render_one()
        return text

    def _render_one(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.message}"
        if self.key_path:
            text += f"\n  at key: {self.key_path}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return bounded(text, MESSAGE_LIMIT)


class HostStateError(PlaybookError):
    """A simulated host state file is invalid."""


class InventoryError(PlaybookError):
    """The inventory file is invalid, or a host is not in it."""


class ResultsError(PlaybookError):
    """An imported results file (Intune's device status CSV or Graph JSON) is invalid."""


class PathError(WbplayError):
    """A file or directory wbplay must use is missing, of the wrong type (a FIFO, a device,
    a dangling symlink, a loop) or unusable.  Carries the path and what is wrong with it."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        super().__init__(f"{path}: {reason}" + (f"\n  hint: {hint}" if hint else ""))


class PlanError(WbplayError):
    """A saved plan is invalid, or does not say what it records (edited, unsigned, from
    the future): nothing was applied."""

    exit_code = ExitCode.INVALID
    outcome = "refused: the plan is invalid"


class PlanOutOfDate(PlanError):
    """A valid plan the world moved past (host drifted, playbook changed, stale): make a new one."""

    exit_code = ExitCode.PENDING
    outcome = "refused: the plan is out of date"


class HostError(WbplayError):
    """Talking to a host failed."""

    exit_code = ExitCode.CONNECTION


class ConnectError(HostError):
    """The host could not be reached, or TLS validation failed."""


class AuthenticationError(HostError):
    """The host rejected the credentials."""


class TransportError(HostError):
    """The WinRM conversation broke down (faults, timeouts, dropped connections)."""


class AgentError(HostError):
    """The agent's response was missing, malformed or reported a script error."""


class ReadOnlyHostError(WbplayError):
    """A write reached a host opened read-only (dry-run): a bug, never a user error."""

    exit_code = ExitCode.NEEDS_ATTENTION


class JournalError(WbplayError):
    """A run journal is missing or unreadable."""


class Interrupted(WbplayError):
    """The run was interrupted by the user."""

    exit_code = ExitCode.INTERRUPTED
