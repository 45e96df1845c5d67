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
``journal.read``
    The journals exported scripts (``wbplay export``) wrote in
    ``%ProgramData%\\wbplay\\runs``: without ``name``, a list of ``{name, size}`` sorted by
    name (none when the folder is missing); with ``name`` (a run id: letters, digits, ``.-_``),
    ``{name, text}`` of ``<name>.jsonl``, or ``None`` if there is no such journal.
``events.query``
    A list (newest first) of ``{log, provider, id, level, time, message,
    fields}``; ``fields`` holds the event's named data (read by name, never
    by position, because event templates change between versions).

Write ops return ``None`` on success.  ``service.start``, ``service.stop`` and
``service.restart`` take an optional ``wait_s`` (1-3600): how long a start or
stop may take before 1053 (default 120 s, 180 s on PowerShell 2.0; the SCM's
30 s is too short for a slow Windows 7 PC).  A ``service.restart`` that leaves
a service it stopped not running fails, naming each one.  A failure carries a Win32 error code
(1058 for a disabled service, 1068 for a failed dependency, 2 for a missing
file...) so that the engine can show the HRESULT a sysadmin would recognise.
Codes above 0xFFFF are HRESULTs (VSS's 0x8004230D...) and travel as they are.

Storage, VSS, WinRE and repair ops (issue 4)
--------------------------------------------

*Volume selectors.*  Every ``volume``/``target``/``for_volume``/``on_volume``
argument accepts a drive letter (``"C:"``, ``"c:\\"``), a volume GUID path
(``"\\\\?\\Volume{GUID}\\"``) or a role: ``"@boot"`` (the Windows volume,
``Win32_Volume.BootVolume``), ``"@system"`` (the volume holding the boot
manager: System Reserved or the ESP, ``Win32_Volume.SystemVolume``) or
``"@winre"`` (the volume that ``reagentc /info`` names as the WinRE location).
The host resolves the selector; an unknown volume answers ERROR_FILE_NOT_FOUND (2)
for writes and an empty/``None`` value for reads.

``events.query`` with an empty ``ids`` list returns every id of the provider
(probes such as ``backup.errors`` use it).

``os.info`` gains ``boot_time`` (ISO 8601 UTC of the last boot,
``Win32_OperatingSystem.LastBootUpTime``); the runner waits for it to change
after ``host.reboot``.

``disk.list``
    ``[{number, model, media_type, bus_type, partition_style, size_mb,
    logical_sector_size, physical_sector_size, is_boot, is_system}]``.
    ``media_type``: ``"HDD" | "SSD" | "SCM" | "Unspecified"`` (Win8+:
    ``MSFT_PhysicalDisk.MediaType``; Win7: ``IncursSeekPenalty`` false -> SSD,
    true -> HDD, unknown -> Unspecified).  ``bus_type``: ``"SATA" | "SAS" |
    "NVMe" | "USB" | "RAID" | "iSCSI" | "Virtual" | "Unknown"``.
    ``partition_style``: ``"MBR" | "GPT" | "RAW"``.  Detached disks are absent.
``volume.list``
    ``[{path, letter, label, file_system, size_mb, free_mb, disk, partition,
    system, boot, pagefile, dirty}]``; ``path`` is the ``\\?\\Volume{GUID}\\``
    path, ``letter`` is ``"C:"`` or ``None``, ``disk``/``partition`` are the
    disk number and the 1-based partition number (as in
    ``\\?\\GLOBALROOT\\device\\harddiskN\\partitionM``), ``dirty`` is
    ``Win32_Volume.DirtyBitSet``.  Volumes on detached disks are absent.
``shadowstorage.list``
    ``[{for: VOL, on: VOL, used_mb, allocated_mb, max_mb}]`` where ``VOL`` is
    ``{path, letter, label, system, boot}`` and ``max_mb`` is ``0`` for
    UNBOUNDED (``Win32_ShadowStorage`` joined with ``Win32_Volume``).  With
    ``for_volume`` (a selector, resolved on the host) only that volume's
    associations; ``[]`` if the volume is unknown.
``backup.catalog``
    ``{target, image_sets: [{machine, path, readable}], file_sets: [{machine,
    path, readable}]}``: the backup sets on a backup target.  Image sets are the
    ``<target>\\WindowsImageBackup\\<machine>`` folders (readable: ``wbadmin
    get versions -backupTarget:<target>`` lists them); file sets are Windows 7
    file-backup folders ``<target>\\<machine>`` holding ``Backup Set *``
    folders (readable: the ``Catalogs\\GlobalCatalog.wbcat`` file opens).  The
    readability test for file sets is an approximation (docs/domain.md has no
    documented check, [U]).
``session.info``
    ``{user, sid, is_admin, elevated}``: the account the agent runs as.
``session.interactive``
    ``{local_time, console_user, desktop_sessions: [id]}``: who has a desktop on the PC now
    (the sessions running ``explorer.exe``; services and the WinRM session have none; the
    console user is ``Win32_ComputerSystem.UserName``) and the PC's local wall-clock time
    (``yyyy-MM-ddTHH:mm:ss``), for the reboot
    guard (issue 12: never restart under a signed-in user; honour a maintenance window).
``service.policy``
    ``[{name, start_mode}]``: the start modes Group Policy enforces ("Security Settings ›
    System Services": ``root\\rsop\\computer:RSOP_SystemService``, winning entries only,
    StartupMode 2/3/4 as :data:`START_MODES` names); ``[]`` where no policy applies.
``user.libraries``
    ``[{profile, name, locations: [{path, available}]}]``: the libraries
    (``%APPDATA%\\Microsoft\\Windows\\Libraries\\*.library-ms``) of every profile in
    ProfileList, with each folder location (``knownfolder:`` references are left out) and
    whether it can be reached now from the agent's session (KB975692 scenario 1: a custom
    library on an unavailable network or removable drive fails Windows 7 file backup).
``agent.environment``
    ``{language_mode, ps_version, clr_version, os_64bit, process_64bit,
    shell_codepage, oem_codepage, winrs_max_memory_mb,
    winrs_max_shells_per_user}``: what the agent runs in, for ``wbplay
    doctor``; a quota is null when it cannot be read.
``user.shell_folders``
    ``[{sid, profile_path, folders: {name: raw REG_EXPAND_SZ value}}]`` for
    every *loaded* user hive ``HKU\\S-1-5-21-*`` (over WinRM ``HKCU`` is not
    the users' hive, and without a loaded profile not even the account's: the
    agent refuses it then, docs/agent-review.md likely bug 3), with ``profile_path`` from
    ``ProfileList\\<SID>\\ProfileImagePath``.
``user.international``
    ``[{hive, decimal, locale_name}]``: ``Control Panel\\International``'s ``sDecimal`` and
    ``LocaleName`` of ``HKU\\.DEFAULT`` (the system accounts') and of every loaded
    ``HKU\\S-1-5-21-*`` hive, raw; a hive without the key is left out (KB982736's decimal
    symbol, [3P]).
``printer.list`` / ``printer.drivers``
    ``[{name, driver, port}]`` / ``[{name, environment, version}]``
    (``Win32_Printer`` / ``Win32_PrinterDriver``).
Command reads (a fixed command line, typed arguments, never a free string)
    ``chkdsk.scan`` (``chkdsk X:`` with no switch on every version: ``/scan``
    repairs online, docs/agent-review.md D1),
    ``chkntfs.query`` (``chkntfs X:``), ``fsutil.dirty_query`` (``fsutil dirty
    query X:``), ``fsutil.ntfsinfo`` (``fsutil fsinfo ntfsinfo X:``),
    ``vssadmin.list_writers``, ``vssadmin.list_shadowstorage``, ``vssadmin.list_providers``,
    ``wbadmin.get_versions`` (``wbadmin get versions [-backupTarget:X:]``),
    ``wbadmin.get_disks`` (``wbadmin get disks``: the disks online now, KB2009365),
    ``reagentc.info`` (``reagentc /info``), ``dism.scanhealth`` (``DISM /Online
    /Cleanup-Image /ScanHealth``, Windows 8 and later), ``sfc.verifyonly`` (``sfc
    /verifyonly``, decoded from UTF-16LE) and ``cbs.sr_lines`` (the ``[SR]``
    lines of ``%windir%\\Logs\\CBS\\CBS.log``, as ``findstr /c:"[SR]"`` prints
    them) all answer ``{command_line, exit_code, output}``: the console text
    in the PC's UI language.  :mod:`wbplay.cmdparse` turns that text into data
    in the engine, for every host alike.  ``sfc.verifyonly`` adds ``cbs``: the
    ``[SR]`` lines CBS.log gained during the run (``null``: no CBS.log), which
    is not localized and decides the verdict (docs/agent-review.md likely bug 10).

Writes: ``chkdsk.schedule {volume, mode: f|r}`` (``chkdsk X: /F|/R``
answering *N* to a forced dismount and *Y* to "check at next restart"),
``chkdsk.run {volume, mode}`` (``chkdsk X: /F|/R /X`` now; a volume Windows
cannot lock (boot, system, page file) fails with 32), ``sfc.scannow`` (fails
unless CBS.log gained sfc's "[SR] Repair complete" during the run: its exit codes
are undocumented and its console text is localized),
``dism.restorehealth`` (fails with DISM's exit code, an HRESULT such as 0x800F081F
when no repair source is reachable),
``shadowstorage.add|resize {for_volume, on_volume, max_size_mb}`` (0 =
UNBOUNDED; ``Win32_ShadowStorage`` on every edition: ``Create``, ``MaxSpace`` +
``Put``, ``Delete``.  ``Create`` is documented for Server only, "Minimum supported
client: None supported", as client vssadmin has no ``add``: a client PC may answer
"unexpected error", reported as such [V the Win32_ShadowStorage Create page]),
``shadowstorage.delete {for_volume, on_volume}``, ``winre.disable`` /
``winre.enable`` (``reagentc /disable|/enable``), ``service.restart {name}``
(stop, then start, restarting running dependents as ``Restart-Service -Force``
does) and ``host.reboot {reason, notice_minutes?}`` (``shutdown /r /t <notice>``, 5 minutes
unless told otherwise, so that a signed-in user sees the warning; the connection drops,
see :attr:`OpSpec.reboots`).

The PC-side host lock (issue 8)
-------------------------------

``host.lock {action: "acquire"|"release", run, controller, stale_after_s, steal?}``
    ``%ProgramData%\\wbplay\\lock``, created with ``FileMode.CreateNew`` (of two
    controllers exactly one creates it), holding the run id, the controller's
    name and the PC's UTC time, one per line.  ``acquire`` answers
    ``{held, holder: {run, controller, started, age_s}, replaced}``: ``held``
    false names the other run's holder and changes nothing; a lock older than
    ``stale_after_s`` (by the PC's own clock), or whose run is ``steal`` (the
    controller's journal says that run ended), is replaced and named in
    ``replaced``.  ``release`` deletes the lock only if ``run`` holds it:
    ``{held: false, holder, replaced: null}``.  Not a remedy: ``run/hostlock.py`` sends it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
    reboots: bool = False  # the host restarts: the runner waits for it to come back (os.info boot_time)


# Ops that run for minutes to hours on a real PC (a full-surface chkdsk reads every sector; sfc
# scans every protected file: docs/domain.md §4, §6).  Hosts give requests containing them a long
# deadline instead of the default one.
SLOW_OPS = frozenset(
    {"chkdsk.scan", "chkdsk.run", "sfc.verifyonly", "sfc.scannow", "dism.scanhealth", "dism.restorehealth"}
)
SLOW_DEADLINE_S = 8 * 3600.0


def deadline_for(ops: Sequence[Op], default: float) -> float:
    """The deadline for one agent request: long enough for its slowest op."""
    return max(default, SLOW_DEADLINE_S) if any(op.name in SLOW_OPS for op in ops) else default


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
        OpSpec("service.policy", False, (), "Start modes enforced by Group Policy (RSOP_SystemService)"),
        OpSpec("registry.get", False, (_s("key"), _s("name")), "One registry value"),
        OpSpec("registry.list", False, (_s("key"),), "A registry key's subkeys and values"),
        OpSpec("path.get", False, (_s("path"),), "Whether a file or folder exists, and what it is"),
        OpSpec("path.list", False, (_s("path"),), "The names inside a folder"),
        OpSpec(
            "journal.read",
            False,
            (_s("name", False),),
            "The journals exported scripts wrote on the PC (%ProgramData%\\wbplay\\runs): a list, or one",
        ),
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
        OpSpec(
            "service.start", True, (_s("name"), _i("wait_s", False)), "Start a service and its dependencies"
        ),
        OpSpec("service.stop", True, (_s("name"), _i("wait_s", False)), "Stop a service"),
        OpSpec(
            "registry.set",
            True,
            (_s("key"), _s("name"), _s("type"), ArgSpec("value", "any")),
            "Create or overwrite a registry value",
        ),
        OpSpec("registry.delete", True, (_s("key"), _s("name")), "Delete a registry value"),
        OpSpec("path.rename", True, (_s("path"), _s("new_name")), "Rename a file or folder in place"),
        OpSpec("path.delete", True, (_s("path"),), "Delete a file or folder tree (irreversible)"),
        # --- storage, VSS, WinRE, repair (issue 4; shapes in the module docstring) ----
        OpSpec("disk.list", False, (), "Physical disks: media and bus type, sector sizes, boot/system"),
        OpSpec("volume.list", False, (), "Volumes: file system, size/free, flags, disk, dirty bit"),
        OpSpec(
            "shadowstorage.list",
            False,
            (_s("for_volume", False),),
            "Shadow copy storage associations (typed), optionally of one volume",
        ),
        OpSpec(
            "backup.catalog", False, (_s("target"),), "Backup sets on a backup target and their readability"
        ),
        OpSpec(
            "session.info", False, (), "The account the agent runs as, and whether it is an elevated admin"
        ),
        OpSpec("session.interactive", False, (), "Users signed in with a desktop, and the PC's local time"),
        OpSpec(
            "agent.environment",
            False,
            (),
            "What the agent runs in: language mode, PowerShell/CLR, bitness, codepages, winrs quotas",
        ),
        OpSpec("user.shell_folders", False, (), "User Shell Folders of every loaded HKU\\<SID> hive"),
        OpSpec("user.international", False, (), "Decimal symbol, locale of HKU\\.DEFAULT and each user"),
        OpSpec("user.libraries", False, (), "Each profile's libraries, their folders reachable or not"),
        OpSpec("printer.list", False, (), "Printers with their driver and port"),
        OpSpec("printer.drivers", False, (), "Installed printer drivers"),
        OpSpec(
            "chkdsk.scan",
            False,
            (_s("volume"),),
            "Read-only file system scan (chkdsk X:, no switch; never /scan)",
        ),
        OpSpec("chkntfs.query", False, (_s("volume"),), "chkntfs X: (is a check scheduled at boot?)"),
        OpSpec("fsutil.dirty_query", False, (_s("volume"),), "fsutil dirty query X:"),
        OpSpec("fsutil.ntfsinfo", False, (_s("volume"),), "fsutil fsinfo ntfsinfo X: (sector sizes)"),
        OpSpec("vssadmin.list_writers", False, (), "vssadmin list writers"),
        OpSpec("vssadmin.list_shadowstorage", False, (), "vssadmin list shadowstorage"),
        OpSpec("vssadmin.list_providers", False, (), "vssadmin list providers"),
        OpSpec(
            "wbadmin.get_versions", False, (_s("target", False),), "wbadmin get versions [-backupTarget:X:]"
        ),
        OpSpec("wbadmin.get_disks", False, (), "wbadmin get disks (online disks, identifiers)"),
        OpSpec("reagentc.info", False, (), "reagentc /info"),
        OpSpec("sfc.verifyonly", False, (), "sfc /verifyonly (read-only integrity scan)"),
        OpSpec("cbs.sr_lines", False, (), "The [SR] lines of CBS.log (sfc's results)"),
        OpSpec("dism.scanhealth", False, (), "DISM /Online /Cleanup-Image /ScanHealth (read-only)"),
        OpSpec(
            "chkdsk.schedule",
            True,
            (_s("volume"), _s("mode")),
            "chkdsk X: /F|/R at the next restart (irreversible once it runs)",
        ),
        OpSpec("chkdsk.run", True, (_s("volume"), _s("mode")), "chkdsk X: /F|/R /X now (non-system volumes)"),
        OpSpec("sfc.scannow", True, (), "sfc /scannow: repair protected system files (irreversible)"),
        OpSpec(
            "dism.restorehealth",
            True,
            (),
            "DISM /Online /Cleanup-Image /RestoreHealth: repair the component store (irreversible)",
        ),
        OpSpec(
            "shadowstorage.add",
            True,
            (_s("for_volume"), _s("on_volume"), _i("max_size_mb")),
            "Create a shadow copy storage association (max 0 = UNBOUNDED)",
        ),
        OpSpec(
            "shadowstorage.resize",
            True,
            (_s("for_volume"), _s("on_volume"), _i("max_size_mb")),
            "Change the maximum size of a shadow copy storage association",
        ),
        OpSpec(
            "shadowstorage.delete",
            True,
            (_s("for_volume"), _s("on_volume")),
            "Delete a shadow copy storage association (and the shadow copies stored there)",
        ),
        OpSpec("winre.disable", True, (), "reagentc /disable"),
        OpSpec("winre.enable", True, (), "reagentc /enable"),
        OpSpec(
            "service.restart",
            True,
            (_s("name"), _i("wait_s", False)),
            "Stop and start a service (and its running dependents)",
        ),
        OpSpec(
            "host.reboot",
            True,
            (_s("reason"), _i("notice_minutes", False)),
            "Restart the PC after a notice (default 5 minutes)",
            reboots=True,
        ),
        OpSpec(
            "host.lock",
            True,
            (_s("action"), _s("run"), _s("controller"), _i("stale_after_s"), _s("steal", False)),
            "Take or release the PC-side host lock (%ProgramData%\\wbplay\\lock)",
        ),
    )
}

EVENT_NAME_PATTERN = r"^[A-Za-z0-9 ._/-]+\z"
r"""What an ``events.query`` provider or log name may hold (.NET regex; ``\z`` is Python's ``\Z``):
the names reach Get-WinEvent's XPath and wildcards as text, so a quote, ``[`` or ``*`` is refused
with 87 (docs/agent-review.md likely bug 14).  events.ps1 holds the same pattern."""


def event_name_ok(name: str) -> bool:
    return re.match(EVENT_NAME_PATTERN.replace("\\z", "\\Z"), name) is not None


UNC_TARGET_PATTERN = r"^\\\\[A-Za-z0-9._-]{1,63}\\[A-Za-z0-9._-]{1,80}\\?\z"
r"""A backup target on a network share, ``\\server\share`` (Windows 7 Pro/Ultimate back up
there): accepted by ``backup.catalog`` and ``wbadmin.get_versions`` besides volume selectors.
Letters, digits and ``._-`` only, so the path stays one command-line token (no ``$`` admin
shares, no spaces).  Over WinRM the share is reached with the connection's own credentials:
NTLM cannot delegate them (the "second hop"), so expect access denied without Kerberos
delegation or CredSSP.  storage.ps1 holds the same pattern (docs/agent-review.md likely bug 12)."""


def unc_target(target: str) -> str | None:
    r"""``\\server\share`` without a trailing backslash, or None if ``target`` is not one."""
    if re.match(UNC_TARGET_PATTERN.replace("\\z", "\\Z"), target) is None:
        return None
    return target.rstrip("\\")


MACHINE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,15}\z"
r"""A computer's name as Windows Backup names its folders on a target (``WindowsImageBackup\<PC>``
and Windows 7's ``<PC>\Backup Set ...``), for image sets and file sets alike (docs/agent-review.md
likely bug 15).  "Naming conventions in Active Directory for computers, domains, sites, and OUs"
(KB909264, learn.microsoft.com [V]): a NetBIOS computer name is 1-15 characters; it may not hold
``\ / : * ? " < > |``; a period is allowed but "shouldn't be used in Windows"; and "as the NetBIOS
computer name is the same as the DNS host name, the DNS host name restrictions also apply"
(letters, digits, hyphen).  So: the DNS host name's letters, digits and hyphen, plus the
underscore NetBIOS allows (still found on PCs named before Windows 2000 [U]); NetBIOS's other
legacy symbols (``!@#$%^&'(){}~``) and the period are left out: such a folder is never passed to
``wbadmin -machine:``, and ``<PC>.wbplay-old`` (a quarantined set) is not a computer's name.
backup.ps1 holds the same pattern (``$WbMachineName``)."""


def machine_name(name: str) -> bool:
    return re.match(MACHINE_NAME_PATTERN.replace("\\z", "\\Z"), name) is not None


MODES = ("f", "r")
"""chkdsk repair modes: /F fixes the file system; /R also reads every sector (implies /F)."""


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
ERROR_SHARING_VIOLATION = 32
ERROR_NOT_READY = 21
ERROR_NOT_SUPPORTED = 50
ERROR_TIMEOUT = 1460

WIN32_MESSAGES: dict[int, str] = {
    ERROR_FILE_NOT_FOUND: "The system cannot find the file specified.",
    ERROR_ACCESS_DENIED: "Access is denied.",
    ERROR_INVALID_PARAMETER: "The parameter is incorrect.",
    ERROR_ALREADY_EXISTS: "Cannot create a file when that file already exists.",
    123: "The filename, directory name, or volume label syntax is incorrect.",
    161: "The specified path is invalid.",
    267: "The directory name is invalid.",
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
    ERROR_SHARING_VIOLATION: (
        "The process cannot access the file because it is being used by another process."
    ),
    ERROR_NOT_READY: "The device is not ready.",
    ERROR_NOT_SUPPORTED: "The request is not supported.",
    ERROR_TIMEOUT: "This operation returned because the timeout period expired.",
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
