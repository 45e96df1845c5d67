"""The simulated PCs: ``lab`` serves one over WinRM, ``sim`` lists and resets them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wbplay.cli.common import fail, out
from wbplay.cli.text import plain
from wbplay.errors import WbplayError
from wbplay.lab.users import DEFAULT_USER
from wbplay.sim import state as sim_state

LAB_ACCOUNT = (
    f"Without --users the lab has one account, {DEFAULT_USER.name} / {DEFAULT_USER.password}: a documented "
    "lab-only login that exists nowhere but inside `wbplay lab`. Connect with WBPLAY_USER and "
    "WBPLAY_PASSWORD set to it and --host 127.0.0.1:5985 (port 5985 implies http; messages are still "
    "NTLM-encrypted)."
)

sim_app = typer.Typer(no_args_is_help=True, help="Manage the built-in simulated PCs.")


def lab(
    state: Annotated[
        str, typer.Option("--state", help="A built-in simulated PC (e.g. pc42) or a host state file")
    ] = "pc42",
    port: Annotated[
        int | None, typer.Option("--port", help="Port (default 5985, or 5986 with --tls)")
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option("--users", help="Accounts file: YAML {user: password} or user:password lines"),
    ] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="HTTPS with a throw-away self-signed CA (its path is printed)")
    ] = False,
    basic: Annotated[bool, typer.Option("--basic", help="Also accept Basic auth (over HTTPS only)")] = False,
    reboot_downtime: Annotated[
        float | None,
        typer.Option("--reboot-downtime", help="Seconds the PC stays unreachable when it restarts"),
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Serve this many PCs, each on its own port")
    ] = None,
    mix: Annotated[
        bool, typer.Option("--mix", help="With --count: broken, healthy, unreachable and failing PCs")
    ] = False,
    latency: Annotated[float, typer.Option("--latency", min=0.0, help="Seconds added to every answer")] = 0.0,
    directory: Annotated[
        Path, typer.Option("--dir", help="With --count: where the per-PC state files and inventory go")
    ] = Path("lab-fleet"),
) -> None:
    """Serve a simulated PC over WinRM on 127.0.0.1, for pywinrm, pypsrp and `wbplay run --host`.

    A state file given with --state is updated in place as runs change the PC.  With --count,
    many PCs (state files pc0001.yml... and inventory.yml in --dir; `--host lab -i DIR/inventory.yml`).
    """
    from wbplay.lab.serve import serve

    if count is not None:
        _serve_fleet(state, count, mix, latency, directory)
        return
    try:
        serve(state, port=port, users=users, tls=tls, basic=basic, reboot_downtime_s=reboot_downtime)
    except WbplayError as e:
        raise fail(e) from None


@sim_app.command("list")
def sim_list() -> None:
    """The built-in simulated PCs, each with its one-line description."""
    names = sim_state.builtin_names()
    width = max(map(len, names), default=0)
    for name in names:
        out.print(f"{plain(name):<{width}}  {plain(sim_state.summary(name))}", highlight=False)


@sim_app.command("reset")
def sim_reset(name: Annotated[str, typer.Argument(help="A built-in simulated PC, e.g. pc42")]) -> None:
    """Restore a simulated PC's working copy to its built-in (broken) state."""
    try:
        path = sim_state.reset(name)
    except WbplayError as e:
        raise fail(e) from None
    out.print(f"reset sim:{plain(name)} ({plain(path)})")


def _serve_fleet(state: str, count: int, mix: bool, latency: float, directory: Path) -> None:
    import time

    from wbplay.lab.fleet import MIX, start_fleet

    try:
        custom = None if mix else sim_state.resolve_state_file(state)
        fleet = start_fleet(directory, count, kinds=MIX if mix else ("broken",), latency_s=latency,
                            timeout_scale=1.0, state=custom)
    except WbplayError as e:
        raise fail(e) from None
    try:
        inv = fleet.write_inventory(directory / "inventory.yml")
        out.print(f"wbplay lab: {count} PC(s) on 127.0.0.1, ports {fleet.pcs[0].port}..{fleet.pcs[-1].port}")
        out.print(f"  inventory: {plain(inv)} (group 'lab'); state files in {plain(directory)}")
        out.print(f"  {LAB_ACCOUNT.split(':')[0]}; Ctrl-C to stop.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()
