"""The account the simulated PC's agent runs as, and what Windows lets it do.

Host state says ``account: {name, admin, elevated}`` (the older ``session:
{user, admin, elevated}`` spelling still reads).  Windows refuses every change
to a non-administrator, or to an administrator whose token UAC filtered (a
local account over WinRM without LocalAccountTokenFilterPolicy, a console
that was not "Run as administrator"): ``ChangeStartMode`` returns 2, which the
agent reports as Win32 error 5, and so do registry, file, reagentc, vssadmin,
chkdsk and sfc.  One rule for every write op keeps the simulated PC honest.
"""

from __future__ import annotations

from dataclasses import dataclass

from wbplay.sim.model import HostModel
from wbplay.vocab.ops import ERROR_ACCESS_DENIED, OpResult


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    admin: bool
    elevated: bool

    @property
    def may_write(self) -> bool:
        return self.admin and self.elevated


def account(m: HostModel) -> Account:
    acct = m.state.get("account") or {}
    legacy = m.state.get("session") or {}
    return Account(
        name=str(acct.get("name") or legacy.get("user") or f"{m.hostname}\\Administrator"),
        admin=bool(acct.get("admin", legacy.get("admin", True))),
        elevated=bool(acct.get("elevated", legacy.get("elevated", True))),
    )


def refuse_write(m: HostModel) -> OpResult | None:
    """Access denied for a write by an account that may not write; None when it may."""
    a = account(m)
    if a.may_write:
        return None
    why = "is not an administrator" if not a.admin else "runs without elevation (UAC filtered its token)"
    return OpResult.failure(ERROR_ACCESS_DENIED, f"Access is denied. ({a.name} {why})")
