"""``wbplay lab``: serve a simulated PC over WinRM until Ctrl-C.

The typer command (owned by the CLI module) parses the options and calls
:func:`serve`.  :data:`HELP_ACCOUNT` is the sentence its ``--help`` shows about
the default account.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from wbplay.lab.agent_handler import AgentHandler
from wbplay.lab.cmdexe import HostIdentity, PowerShellHandler
from wbplay.lab.server import LabConfig, LabServer
from wbplay.lab.users import DEFAULT_USER, load_users

HELP_ACCOUNT = (
    f"Without --users the lab has one account, {DEFAULT_USER.name} / {DEFAULT_USER.password}: "
    "a documented lab-only login that exists nowhere but inside `wbplay lab`."
)


def profile_for(version: str) -> str:
    """'win7' (150 KiB envelopes, no rsp:Shell in CreateResponse) before Windows 8 / 2012, else 'default'."""
    parts = version.split(".")
    try:
        major_minor = (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
    except ValueError:
        return "default"
    return "win7" if major_minor < (6, 2) else "default"


def build_lab(
    model: Any,
    *,
    port: int | None = None,
    users: Path | None = None,
    tls: bool = False,
    basic: bool = False,
    allow_unencrypted: bool = False,
    profile: str | None = None,
    on_change: Callable[[], None] | None = None,
    powershell: PowerShellHandler | None = None,
    reboot_downtime_s: float | None = None,
) -> LabServer:
    """A (not yet started) lab serving ``model``, a host model from ``wbplay.sim.state``.

    ``powershell`` replaces the agent handler (tests); by default the agent runs against ``model``.
    ``reboot_downtime_s``: how long the PC is away after ``host.reboot`` (LabConfig's default if None).
    """
    host = HostIdentity(hostname=str(model.hostname), os_version=str(model.os["version"]))
    config = LabConfig(
        host=host,
        users=load_users(users) if users is not None else (DEFAULT_USER,),
        profile=profile or profile_for(host.os_version),
        tls=tls,
        basic=basic,
        allow_unencrypted=allow_unencrypted,
        powershell=powershell or AgentHandler(model, on_change=on_change),
        port=port if port is not None else (5986 if tls else 5985),
    )
    if reboot_downtime_s is not None:
        config = replace(config, reboot_downtime_s=reboot_downtime_s)
    return LabServer(config)


def serve(
    state: str,
    port: int | None = None,
    users: Path | None = None,
    tls: bool = False,
    basic: bool = False,
    *,
    allow_unencrypted: bool = False,
    profile: str | None = None,
    on_change: Callable[[], None] | None = None,
    out: TextIO | None = None,
    reboot_downtime_s: float | None = None,
) -> None:
    """Load the host state ``state`` (a built-in name or a YAML file) and serve it until Ctrl-C."""
    from wbplay.sim.state import load_host_model

    out = out or sys.stderr
    model = load_host_model(state)
    if on_change is None and state.endswith((".yml", ".yaml")):
        # A state *file* is the PC's disk: keep it in step with what runs change.
        from wbplay.sim.state import save_state

        state_path = Path(state)

        def on_change() -> None:
            save_state(state_path, model.state)

    lab = build_lab(
        model,
        port=port,
        users=users,
        tls=tls,
        basic=basic,
        allow_unencrypted=allow_unencrypted,
        profile=profile,
        on_change=on_change,
        reboot_downtime_s=reboot_downtime_s,
    )
    lab.start()
    config = lab.config
    names = ", ".join(u.name for u in config.users)
    print(f"wbplay lab: {config.host.hostname} (Windows {config.host.os_version}) at {lab.url}", file=out)
    if users is None:
        print(f"  user: {DEFAULT_USER.name} (the default lab account; see `wbplay lab --help`)", file=out)
    else:
        print(f"  users: {names} (from {users})", file=out)
    auth = "Negotiate/NTLM" + (" and Basic" if basic else "")
    encryption = (
        "HTTPS"
        if tls
        else "HTTP message encryption" + (" (unencrypted allowed)" if allow_unencrypted else "")
    )
    print(f"  auth: {auth}; {encryption}; profile {config.profile}", file=out)
    print(f"  host.reboot: the PC is away for {config.downtime_s:g} s, then answers again", file=out)
    if lab.ca_path is not None:
        print(f"  CA certificate: {lab.ca_path}", file=out)
    print("  Ctrl-C to stop.", file=out)
    if threading.current_thread() is threading.main_thread():
        # Treat SIGTERM like Ctrl-C so the temp dirs (NTLM user file, TLS key) are removed.
        signal.signal(signal.SIGTERM, _interrupt)
    lab.serve_until_interrupted()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
