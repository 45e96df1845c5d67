"""The host operations: the one vocabulary shared by the engine, the PowerShell
agent, the simulated host and the lab.

An *op* is a name plus typed arguments.  Read ops never change the host; write
ops do.  The engine builds ops from playbook data, hosts execute them, and
every host (sim in-process, the agent on Windows over WinRM or locally) answers
with the same :class:`OpResult` shape.  Arguments are **data**: the agent
receives them base64-encoded and never pastes them into code.

Result shapes (``value`` of a successful :class:`OpResult`):

``os.info``
    ``{hostname, caption, version, build, sp, ps_version, locale, oem_codepage,
    product_type, arch}``; ``version`` is ``"major.minor.build"``.
``service.get``
    ``None`` if no such service, else ``{name, display_name, start_mode,
    state, depends_on, path}``.  ``start_mode`` is one of
    :data:`START_MODES`; ``state`` is one of :data:`SERVICE_STATES`.
``service.list``
    A list of ``service.get`` values.
``registry.get``
    ``{exists, type, value}``; ``type`` is a ``REG_*`` name or ``None``.
``registry.list``
    ``{exists, subkeys: [...], values: {name: {type, value}}}``.
``path.get``
    ``{exists, kind, size, reparse}``; ``kind`` is ``"file"``,
    ``"directory"`` or ``None``.
``path.list``
    ``None`` if the folder is missing, else a sorted list of child names.
``events.query``
    A list (newest first) of ``{log, provider, id, level, time, message,
    fields}``; ``fields`` holds the event's named data (read by name, never
    by position, because event templates change between versions).

Write ops return ``None`` on success.  A failure carries a Win32 error code
(1058 for a disabled service, 1068 for a failed dependency, 2 for a missing
file...) so that the engine can show the HRESULT a sysadmin would recognise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

START_MODES = ("Automatic", "AutomaticDelayed", "Manual", "Disabled")
"""Start modes as the registry defines them: Start 2 (+ DelayedAutostart 1), 3, 4.

Boot (0) and System (1) belong to drivers and never appear for the services
wbplay manages.
"""

SERVICE_STATES = ("Running", "Stopped", "StartPending", "StopPending", "Paused")

REGISTRY_TYPES = ("REG_SZ", "REG_EXPAND_SZ", "REG_DWORD", "REG_QWORD", "REG_MULTI_SZ", "REG_BINARY")


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One argument of an op: its wire type and whether it is required."""

    name: str
    type: str  # "string" | "integer" | "boolean" | "strings" | "integers" | "any"
    required: bool = True


@dataclass(frozen=True, slots=True)
class OpSpec:
    """What an op is called, whether it writes, and which arguments it takes."""

    name: str
    writes: bool
    args: tuple[ArgSpec, ...] = ()
    doc: str = ""


def _s(name: str, required: bool = True) -> ArgSpec:
    return ArgSpec(name, "string", required)


def _i(name: str, required: bool = True) -> ArgSpec:
    return ArgSpec(name, "integer", required)


def _b(name: str, required: bool = True) -> ArgSpec:
    return ArgSpec(name, "boolean", required)


OP_SPECS: dict[str, OpSpec] = {
    spec.name: spec
    for spec in (
        # --- reads -----------------------------------------------------------------
        OpSpec("os.info", False, (), "OS facts: version, build, PowerShell version, locale"),
        OpSpec("service.get", False, (_s("name"),), "One service, or None if it does not exist"),
        OpSpec("service.list", False, (), "Every service with its image path"),
        OpSpec("registry.get", False, (_s("key"), _s("name")), "One registry value"),
        OpSpec("registry.list", False, (_s("key"),), "A registry key's subkeys and values"),
        OpSpec("path.get", False, (_s("path"),), "Whether a file or folder exists, and what it is"),
        OpSpec("path.list", False, (_s("path"),), "The names inside a folder"),
        OpSpec(
            "events.query",
            False,
            (
                _s("provider"),
                ArgSpec("ids", "integers", False),
                _s("log", False),
                _i("since_days", False),
                _i("max", False),
            ),
            "Recent events of one provider, by id, with named fields",
        ),
        # --- writes ----------------------------------------------------------------
        OpSpec(
            "service.set_start_mode",
            True,
            (_s("name"), _s("start_mode")),
            "Set a service's start mode (Start and DelayedAutostart)",
        ),
        OpSpec("service.start", True, (_s("name"),), "Start a service and its dependencies"),
        OpSpec("service.stop", True, (_s("name"),), "Stop a service"),
        OpSpec(
            "registry.set",
            True,
            (_s("key"), _s("name"), _s("type"), ArgSpec("value", "any")),
            "Create or overwrite a registry value",
        ),
        OpSpec("registry.delete", True, (_s("key"), _s("name")), "Delete a registry value"),
        OpSpec("path.rename", True, (_s("path"), _s("new_name")), "Rename a file or folder in place"),
        OpSpec("path.delete", True, (_s("path"),), "Delete a file or folder tree (irreversible)"),
    )
}


@dataclass(frozen=True, slots=True)
class Op:
    """One operation to run on a host, with its arguments as plain data."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)

    @property
    def spec(self) -> OpSpec:
        return OP_SPECS[self.name]

    @property
    def writes(self) -> bool:
        return self.spec.writes

    def key(self) -> tuple[str, str]:
        """A hashable identity, so identical reads in one batch run once."""
        return (self.name, repr(sorted(self.args.items())))


@dataclass(frozen=True, slots=True)
class Win32Error:
    """A failed op: the Win32 error code and the message Windows gives for it."""

    code: int
    message: str

    @property
    def hresult(self) -> str:
        """HRESULT_FROM_WIN32(code), the form backup UIs show (1058 -> 0x80070422)."""
        if self.code <= 0 or self.code > 0xFFFF:
            return f"0x{self.code & 0xFFFFFFFF:08X}"
        return f"0x{0x80070000 | self.code:08X}"


@dataclass(frozen=True, slots=True)
class OpResult:
    """What a host answered for one op."""

    ok: bool
    value: Any = None
    error: Win32Error | None = None

    @staticmethod
    def success(value: Any = None) -> OpResult:
        return OpResult(True, value, None)

    @staticmethod
    def failure(code: int, message: str) -> OpResult:
        return OpResult(False, None, Win32Error(code, message))


# Win32 error codes the engine and the simulator use, with Windows' en-US text.
ERROR_FILE_NOT_FOUND = 2
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_PARAMETER = 87
ERROR_ALREADY_EXISTS = 183
ERROR_DEPENDENT_SERVICES_RUNNING = 1051
ERROR_SERVICE_REQUEST_TIMEOUT = 1053
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_SERVICE_DISABLED = 1058
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_NOT_ACTIVE = 1062
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_IO_DEVICE = 1117

WIN32_MESSAGES: dict[int, str] = {
    ERROR_FILE_NOT_FOUND: "The system cannot find the file specified.",
    ERROR_ACCESS_DENIED: "Access is denied.",
    ERROR_INVALID_PARAMETER: "The parameter is incorrect.",
    ERROR_ALREADY_EXISTS: "Cannot create a file when that file already exists.",
    ERROR_DEPENDENT_SERVICES_RUNNING: (
        "A stop control has been sent to a service that other running services are dependent on."
    ),
    ERROR_SERVICE_REQUEST_TIMEOUT: (
        "The service did not respond to the start or control request in a timely fashion."
    ),
    ERROR_SERVICE_ALREADY_RUNNING: "An instance of the service is already running.",
    ERROR_SERVICE_DISABLED: (
        "The service cannot be started, either because it is disabled or because it has no "
        "enabled devices associated with it."
    ),
    ERROR_SERVICE_DOES_NOT_EXIST: "The specified service does not exist as an installed service.",
    ERROR_SERVICE_NOT_ACTIVE: "The service has not been started.",
    ERROR_SERVICE_DEPENDENCY_FAIL: "The dependency service or group failed to start.",
    ERROR_IO_DEVICE: "The request could not be performed because of an I/O device error.",
}


def win32_failure(code: int) -> OpResult:
    """A failed :class:`OpResult` with Windows' own message for ``code``."""
    return OpResult.failure(code, WIN32_MESSAGES.get(code, f"Win32 error {code}."))


def check_args(op: Op) -> list[str]:
    """Problems with an op's arguments, as readable sentences (empty if fine)."""
    spec = OP_SPECS.get(op.name)
    if spec is None:
        return [f"unknown op {op.name!r}"]
    problems: list[str] = []
    known = {a.name for a in spec.args}
    for extra in sorted(set(op.args) - known):
        problems.append(f"{op.name}: unexpected argument {extra!r}")
    for arg in spec.args:
        if arg.name not in op.args or op.args[arg.name] is None:
            if arg.required:
                problems.append(f"{op.name}: missing argument {arg.name!r}")
            continue
        value = op.args[arg.name]
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "strings": isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
            "integers": isinstance(value, list | tuple)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
            "any": True,
        }[arg.type]
        if not ok:
            problems.append(f"{op.name}: argument {arg.name!r} must be of type {arg.type}")
    return problems
