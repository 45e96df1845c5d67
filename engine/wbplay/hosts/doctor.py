"""``wbplay doctor``: a read-only self-test for the first real PC (issue 13).

Nothing here can change the PC: the host is opened read-only (its ``apply`` refuses every
write) and only read ops are sent.  The checks, in order: connection and authentication;
that the agent starts at all (the stdin bootstrap, PowerShell's language mode); what it runs
in (``agent.environment``: PowerShell and CLR, 32/64 bit, codepages, winrs quotas); admin
rights (``session.info``); then every read op once, one per round trip so that one failure
hides nothing, each PASS or FAIL with the PC's own error.  ``recorder`` (see
:mod:`wbplay.hosts.recording`) receives each op's raw agent output for replay fixtures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wbplay.agent.protocol import encode_response
from wbplay.errors import AgentError, AuthenticationError, ConnectError, ExitCode, HostError, TransportError
from wbplay.hosts.base import Host
from wbplay.vocab.ops import OP_SPECS, SLOW_OPS, Op, OpResult

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"

MIN_SHELL_MEMORY_MB = 150  # below this even the agent (powershell.exe + csc.exe) may not fit
GOOD_SHELL_MEMORY_MB = 1024  # WinRM 3.0's default; chkdsk /R or sfc on a big volume fits
QUOTA_FIX = 'winrm set winrm/config/winrs @{MaxMemoryPerShellMB="1024"}'


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # PASS | WARN | FAIL | SKIP
    detail: str


@dataclass(frozen=True, slots=True)
class Raw:
    """One agent run as the host saw it (for a simulated PC: the frame the agent would print)."""

    op: Op
    stdout: bytes
    stderr: bytes
    exit_code: int
    verdict: str


@dataclass(frozen=True, slots=True)
class DoctorReport:
    host: str
    checks: tuple[Check, ...]
    raws: tuple[Raw, ...]
    names: tuple[str, ...]  # account and host names seen, for redaction

    @property
    def exit_code(self) -> ExitCode:
        if any(c.name == "connect" and c.status == FAIL for c in self.checks):
            return ExitCode.CONNECTION
        return ExitCode.NEEDS_ATTENTION if any(c.status == FAIL for c in self.checks) else ExitCode.OK


def _error_text(result: OpResult) -> str:
    e = result.error
    return "failed" if e is None else f"error {e.code}: {e.message}"


class _Session:
    """Runs one read op per round trip, keeping each run's raw output."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.raws: list[Raw] = []

    def run(self, op: Op) -> OpResult:
        captured: list[tuple[bytes, bytes, int]] = []
        self.host.on_raw = lambda out, err, code: captured.append((out, err, code))
        try:
            result = self.host.read([op])[0]
        except AgentError:
            if captured:
                self.raws.append(Raw(op, *captured[-1], FAIL))
            raise
        finally:
            self.host.on_raw = None
        out, err, code = captured[-1] if captured else (encode_response([result]).encode("ascii"), b"", 0)
        self.raws.append(Raw(op, out, err, code, PASS if result.ok else FAIL))
        return result


def _sample_ops(volumes: list[dict[str, Any]]) -> list[Op]:
    """Every read op with harmless arguments, on the PC's own volumes."""
    boot = next((v for v in volumes if v.get("boot")), None)
    letter = (boot or {}).get("letter") or "C:"
    other = next((v for v in volumes if v.get("letter") and not v.get("boot") and not v.get("system")), None)
    target = (other or boot or {}).get("letter") or letter
    args: dict[str, dict[str, Any]] = {
        "service.get": {"name": "VSS"},
        "registry.get": {
            "key": "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion",
            "name": "CurrentBuildNumber",
        },
        "registry.list": {"key": "HKLM\\SYSTEM\\CurrentControlSet\\Services\\VSS"},
        "path.get": {"path": letter + "\\Windows"},
        "path.list": {"path": letter + "\\"},
        "events.query": {"provider": "Microsoft-Windows-Backup", "max": 5},
        "backup.catalog": {"target": target},
        "chkdsk.scan": {"volume": "@boot"},
        "chkntfs.query": {"volume": "@boot"},
        "fsutil.dirty_query": {"volume": "@boot"},
        "fsutil.ntfsinfo": {"volume": "@boot"},
    }
    return [Op(name, args.get(name, {})) for name, spec in OP_SPECS.items() if not spec.writes]


FIRST = ("os.info", "agent.environment", "session.info", "volume.list")


def diagnose(
    host: Host, *, skip_slow: bool = False, progress: Callable[[Check], None] | None = None
) -> DoctorReport:
    """Every check on ``host`` (opened read-only by the caller), in order."""
    if not host.read_only:
        raise HostError("wbplay doctor needs a host opened read-only")
    checks: list[Check] = []
    names: list[str] = []
    session = _Session(host)

    def add(name: str, status: str, detail: str) -> None:
        checks.append(Check(name, status, detail))
        if progress is not None:
            progress(checks[-1])

    def report() -> DoctorReport:
        return DoctorReport(host.name, tuple(checks), tuple(session.raws), tuple(n for n in names if n))

    opener = getattr(host, "open", None)
    try:
        if callable(opener):
            opener()
        add("connect", PASS, f"connected to {host.name} and authenticated")
    except (ConnectError, AuthenticationError, TransportError) as e:
        add("connect", FAIL, str(e))
        return report()
    try:
        info = session.run(Op("os.info"))
    except AgentError as e:
        if "not FullLanguage" in str(e):
            add("language mode", FAIL, str(e))
        else:
            add(
                "agent bootstrap",
                FAIL,
                f"the agent did not answer (PowerShell reading stdin through $input): {e}",
            )
        return report()
    except TransportError as e:
        add("agent bootstrap", FAIL, str(e))
        return report()
    add("agent bootstrap", PASS, "the agent read its script and request from stdin and answered")
    if info.ok and isinstance(info.value, dict):
        names.append(str(info.value.get("hostname") or ""))
        add(
            "os",
            PASS,
            f"{info.value.get('caption')} {info.value.get('version')} ({info.value.get('locale')})",
        )
    else:
        add("os", FAIL, "os.info " + _error_text(info))
    env = session.run(Op("agent.environment"))
    checks_env(env, add)
    who = session.run(Op("session.info"))
    if who.ok and isinstance(who.value, dict):
        user = str(who.value.get("user") or "")
        names += [user, user.rsplit("\\", 1)[-1]]
    check_admin(who, add)
    vols = session.run(Op("volume.list"))
    volumes = vols.value if vols.ok and isinstance(vols.value, list) else []
    for result, name in (
        (info, "os.info"),
        (env, "agent.environment"),
        (who, "session.info"),
        (vols, "volume.list"),
    ):
        add(f"op {name}", PASS if result.ok else FAIL, "ok" if result.ok else _error_text(result))
    for op in _sample_ops(volumes):
        if op.name in FIRST:
            continue
        if skip_slow and op.name in SLOW_OPS:
            add(f"op {op.name}", SKIP, "slow (--skip-slow)")
            continue
        try:
            result = session.run(op)
        except (AgentError, TransportError) as e:
            add(f"op {op.name}", FAIL, str(e))
            continue
        add(f"op {op.name}", PASS if result.ok else FAIL, "ok" if result.ok else _error_text(result))
    return report()


def checks_env(env: OpResult, add: Callable[[str, str, str], None]) -> None:
    """PowerShell, language mode, bitness, codepages and winrs quotas from ``agent.environment``."""
    if not env.ok or not isinstance(env.value, dict):
        add("environment", FAIL, "agent.environment " + _error_text(env))
        return
    v = env.value
    version = str(v.get("ps_version") or "")
    major = int(version.split(".")[0]) if version.split(".")[0].isdigit() else 0
    add("powershell", PASS if major >= 2 else FAIL, f"PowerShell {version}, CLR {v.get('clr_version')}")
    mode = str(v.get("language_mode"))
    add("language mode", PASS if mode == "FullLanguage" else FAIL, mode)
    if v.get("os_64bit") and not v.get("process_64bit"):
        add(
            "64-bit",
            WARN,
            "32-bit PowerShell on 64-bit Windows: the agent reaches the 64-bit registry only with .NET 4",
        )
    else:
        add("64-bit", PASS, "64-bit Windows, 64-bit PowerShell" if v.get("os_64bit") else "32-bit Windows")
    add(
        "codepage",
        PASS,
        f"shell {v.get('shell_codepage')}, OEM {v.get('oem_codepage')} (tool output is decoded as OEM)",
    )
    memory = v.get("winrs_max_memory_mb")
    if memory is None:
        add("winrs memory quota", WARN, "MaxMemoryPerShellMB could not be read (needs admin rights)")
    elif int(memory) < MIN_SHELL_MEMORY_MB:
        add(
            "winrs memory quota",
            FAIL,
            f"MaxMemoryPerShellMB is {memory}: too small for the agent; {QUOTA_FIX}",
        )
    elif int(memory) < GOOD_SHELL_MEMORY_MB:
        add(
            "winrs memory quota",
            WARN,
            f"MaxMemoryPerShellMB is {memory} (WinRM 2.0's default): WinRM may kill a long chkdsk or sfc "
            f"mid-run; {QUOTA_FIX}",
        )
    else:
        add("winrs memory quota", PASS, f"MaxMemoryPerShellMB is {memory}")
    shells = v.get("winrs_max_shells_per_user")
    if shells is None:
        add("winrs shell quota", WARN, "MaxShellsPerUser could not be read (needs admin rights)")
    elif int(shells) < 2:
        add("winrs shell quota", FAIL, f"MaxShellsPerUser is {shells}: a reconnect needs a second shell")
    else:
        add("winrs shell quota", PASS, f"MaxShellsPerUser is {shells}")


def check_admin(who: OpResult, add: Callable[[str, str, str], None]) -> None:
    if not who.ok or not isinstance(who.value, dict):
        add("admin rights", FAIL, "session.info " + _error_text(who))
    elif not who.value.get("is_admin"):
        add(
            "admin rights",
            FAIL,
            "the account is not an administrator: every repair would fail with 5 (access denied)",
        )
    elif not who.value.get("elevated"):
        add(
            "admin rights",
            FAIL,
            "the account is an administrator but its token is UAC-filtered (a local account over WinRM: "
            "LocalAccountTokenFilterPolicy): repairs would fail with 5",
        )
    else:
        add("admin rights", PASS, "an elevated administrator")
