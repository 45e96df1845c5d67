"""The probe catalog: every check kind, as a main read op, optional extra reads
and a join, and what to pick from the value.

How a probe becomes ops and how its value is observed is :mod:`wbplay.vocab.probes`;
the joins of multi-read probes are in :mod:`wbplay.vocab.derive`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wbplay.vocab import cmdparse
from wbplay.vocab.derive import backup, chkdsk, desktop, session, shadow, volumes

ArgsBuilder = Callable[[Mapping[str, Any]], dict[str, Any]]
Join = Callable[[Sequence[Any], Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    kind: str
    op: str
    args: tuple[str, ...]
    pick: Callable[[Any], Any]
    doc: str
    optional_args: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()  # probe arguments read by ``join``/extra builders, not sent to ``op``
    extra: tuple[tuple[str, ArgsBuilder], ...] = ()  # more read ops, with their arguments
    join: Join | None = None  # (values of op + extra ops, probe args) -> observed value
    fixed: ArgsBuilder | None = None  # arguments of the main op that the probe supplies itself


def _field(name: str) -> Callable[[Any], Any]:
    return lambda v: None if v is None else v.get(name)


def _identity(v: Any) -> Any:
    return v


def _fixed(**args: Any) -> ArgsBuilder:
    return lambda _a: dict(args)


def _events(provider: str, ids: list[int], log: str | None = None, days: int | None = None) -> ArgsBuilder:
    def build(a: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": provider,
            "ids": ids,
            "since_days": days or a.get("since_days") or 30,
        }
        if log:
            out["log"] = log
        return out

    return build


def _cmd(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else parse(v["output"])


def _cmd_rc(parse: Callable[[str, int], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else parse(v["output"], v["exit_code"])


def _named_writer(values: Sequence[Any], args: Mapping[str, Any]) -> Any:
    want = str(args.get("name", "")).lower()
    found = cmdparse.writers(values[0]["output"]) if values[0] else []
    return next((w for w in found if w["name"].lower() == want), None)


def _failed_writers(v: Any) -> Any:
    return None if v is None else [w["name"] for w in cmdparse.writers(v["output"]) if w["failed"]]


_VOLUMES = ("volume.list", _fixed())
_DISKS = ("disk.list", _fixed())
_SERVICES = ("service.list", _fixed())
_REAGENTC = ("reagentc.info", _fixed())
_OS = ("os.info", _fixed())
# Repairing-pass reports: Wininit 1001 after a boot-time check (Win7 source "Wininit", Win8+
# "Microsoft-Windows-Wininit" [U]) and Chkdsk's own event for online runs (id [U]).
_CHKDSK_REPORTS = (
    ("events.query", _events("Wininit", [1001], "Application", 365)),
    ("events.query", _events("Microsoft-Windows-Wininit", [1001], "Application", 365)),
    ("events.query", _events("Chkdsk", [26226, 26212, 26214], "Application", 365)),
)

# NTFS corruption events (the data-corruption guide [V]: 55, 98, 50, 140).  Disk 129 comes from
# the storage miniport's own provider (storahci, storvsc...), which no fixed query can name: [U].
_NTFS_IDS = list(chkdsk.NTFS_CORRUPTION_IDS)

_STORAGE_PROBES: tuple[ProbeSpec, ...] = (
    ProbeSpec("disks", "disk.list", (), _identity, "Physical disks: media/bus type, sector sizes"),
    ProbeSpec("volumes", "volume.list", (), _identity, "Volumes: file system, size/free, flags, dirty"),
    ProbeSpec(
        "volume",
        "volume.list",
        (),
        _identity,
        "One volume by letter, GUID path or @boot/@system",
        uses=("volume",),
        join=volumes.volume,
    ),
    ProbeSpec(
        "disk",
        "volume.list",
        (),
        _identity,
        "The physical disk that holds a volume",
        uses=("volume",),
        extra=(_DISKS,),
        join=volumes.disk_of,
    ),
    ProbeSpec(
        "volume.critical",
        "volume.list",
        (),
        _identity,
        "{critical, reasons}: boot/system/WinRE/service ImagePath on the volume",
        uses=("volume",),
        extra=(_SERVICES, _REAGENTC),
        join=volumes.volume_critical,
    ),
    ProbeSpec(
        "image.target",
        "volume.list",
        (),
        _identity,
        "Everything that decides whether a system image can go to a destination",
        uses=("target",),
        extra=(
            _DISKS,
            _SERVICES,
            _REAGENTC,
            _OS,
            ("backup.catalog", lambda a: {"target": a["target"]}),
            ("path.list", lambda a: {"path": str(a["target"]).rstrip("\\") + "\\"}),
        ),
        join=backup.image_target,
    ),
    ProbeSpec(
        "image.sources",
        "volume.list",
        (),
        _identity,
        "The volumes a system image includes, and size limits",
        extra=(_SERVICES, _REAGENTC, _OS),
        join=backup.image_sources,
    ),
    ProbeSpec(
        "volume.dirty", "fsutil.dirty_query", ("volume",), _cmd(cmdparse.dirty), "The dirty bit (fsutil)"
    ),
    ProbeSpec(
        "volume.ntfsinfo",
        "fsutil.ntfsinfo",
        ("volume",),
        _cmd_rc(cmdparse.ntfsinfo),
        "Sector sizes from fsutil fsinfo ntfsinfo",
    ),
    ProbeSpec(
        "chkdsk.scan",
        "chkdsk.scan",
        ("volume",),
        _cmd_rc(cmdparse.chkdsk_scan),
        "Read-only scan: {problems, exit_code}",
    ),
    ProbeSpec(
        "chkdsk.scheduled",
        "chkntfs.query",
        ("volume",),
        _cmd(lambda o: cmdparse.chkntfs(o)["scheduled"]),
        "Whether a boot-time chkdsk is scheduled (chkntfs)",
    ),
    ProbeSpec(
        "chkdsk.last_result",
        "volume.list",
        (),
        _identity,
        "The newest repairing pass's report for a volume: {time, clean, corrections, bad_clusters_added}",
        uses=("volume",),
        extra=_CHKDSK_REPORTS,
        join=chkdsk.chkdsk_last_result,
    ),
    ProbeSpec(
        "disk.errors",
        "volume.list",
        (),
        _identity,
        "Disk 7/11/51/153/157 and Ntfs 55/98/50/140 errors on a volume's disk: {count, since_last_check "
        "(NTFS corruption since the last pass), transport (11/153/157), bad_blocks (7/51), events}",
        uses=("volume", "since_days"),
        extra=(
            ("events.query", _events("disk", [7, 11, 51, 153, 157], "System")),
            ("events.query", _events("Ntfs", _NTFS_IDS, "System")),
            ("events.query", _events("Microsoft-Windows-Ntfs", _NTFS_IDS, "System")),
            *_CHKDSK_REPORTS,
        ),
        join=chkdsk.disk_errors,
    ),
    ProbeSpec(
        "volume.repair_needed",
        "volume.list",
        (),
        _identity,
        "{needed, reasons}: NTFS corruption since the last pass, dirty bit, read-only scan, last pass "
        "not clean",
        uses=("volume", "since_days"),
        extra=(
            ("chkdsk.scan", lambda a: {"volume": a["volume"]}),
            ("events.query", _events("disk", [7, 11, 51, 153, 157], "System")),
            ("events.query", _events("Ntfs", _NTFS_IDS, "System")),
            ("events.query", _events("Microsoft-Windows-Ntfs", _NTFS_IDS, "System")),
            *_CHKDSK_REPORTS,
        ),
        join=chkdsk.repair_needed,
    ),
    ProbeSpec("vss.writers", "vssadmin.list_writers", (), _cmd(cmdparse.writers), "VSS writers and states"),
    ProbeSpec(
        "vss.writer",
        "vssadmin.list_writers",
        (),
        _identity,
        "One VSS writer by name (nothing if absent)",
        uses=("name",),
        join=_named_writer,
    ),
    ProbeSpec(
        "backup.in_progress",
        "vssadmin.list_writers",
        (),
        _identity,
        "Is a backup or shadow copy running now? {running, why, job_started, busy_writers}",
        extra=(("events.query", _events("Microsoft-Windows-Backup", [1, 14], days=7)),),
        join=backup.backup_in_progress,
    ),
    ProbeSpec(
        "vss.failed_writers",
        "vssadmin.list_writers",
        (),
        _failed_writers,
        "Names of writers in a failed state (6-15)",
    ),
    ProbeSpec(
        "shadowstorage",
        "shadowstorage.list",
        (),
        _identity,
        "Shadow copy storage associations",
        ("for_volume",),
    ),
    ProbeSpec(
        "shadowstorage.max",
        "shadowstorage.list",
        ("for_volume",),
        _identity,
        "Max size of one association (0 = UNBOUNDED, nothing if absent)",
        uses=("on_volume",),
        join=shadow.shadowstorage_max,
    ),
    ProbeSpec(
        "shadowstorage.room",
        "volume.list",
        (),
        _identity,
        "Whether a volume's shadow copy has room: {ok, why, fix, free_mb, needed_mb, storage_on, max_mb}",
        uses=("volume", "storage_volume"),
        extra=(("shadowstorage.list", _fixed()), _REAGENTC),
        join=shadow.shadowstorage_room,
    ),
    ProbeSpec(
        "shadowstorage.critical_room",
        "volume.list",
        (),
        _identity,
        "Critical source volumes whose shadow copy has no room",
        extra=(_SERVICES, _REAGENTC, _OS, ("shadowstorage.list", _fixed())),
        join=shadow.critical_room,
    ),
    ProbeSpec(
        "vss.providers",
        "vssadmin.list_providers",
        (),
        _cmd(cmdparse.providers),
        "VSS providers: [{name, id, third_party}] (Microsoft's told by id)",
    ),
    ProbeSpec(
        "vss.third_party_providers",
        "vssadmin.list_providers",
        (),
        _cmd(lambda o: [p["name"] for p in cmdparse.providers(o) if p["third_party"]]),
        "Names of the VSS providers that are not Microsoft's",
    ),
    ProbeSpec(
        "vssadmin.shadowstorage",
        "vssadmin.list_shadowstorage",
        (),
        _cmd(cmdparse.shadowstorage),
        "vssadmin list shadowstorage, parsed",
    ),
    ProbeSpec(
        "backup.versions",
        "wbadmin.get_versions",
        (),
        _cmd_rc(cmdparse.versions),
        "wbadmin get versions: {ok, versions, error}",
        ("target",),
    ),
    ProbeSpec(
        "backup.sets",
        "backup.catalog",
        ("target",),
        backup.backup_sets,
        "Backup sets on a target: {image_sets, file_sets, unreadable_image_sets, unreadable_file_sets}",
    ),
    ProbeSpec(
        "winre", "reagentc.info", (), _cmd(cmdparse.reagentc), "reagentc /info: {enabled, disk, partition}"
    ),
    ProbeSpec(
        "winre.placement",
        "reagentc.info",
        (),
        _identity,
        "Where WinRE lives: {enabled, disk, bus_type, on_boot_disk, external}",
        extra=(_DISKS,),
        join=volumes.winre_placement,
    ),
    ProbeSpec(
        "sfc.verify",
        "sfc.verifyonly",
        (),
        lambda v: None if v is None else cmdparse.sfc_verify(v),
        "sfc /verifyonly, judged by the [SR] lines it wrote to CBS.log: {violations, complete}",
    ),
    ProbeSpec(
        "dism.health",
        "dism.scanhealth",
        (),
        _cmd(cmdparse.dism_health),
        "DISM /ScanHealth: {healthy, repairable} (Windows 8 and later)",
    ),
    ProbeSpec("cbs.sr", "cbs.sr_lines", (), _cmd(cmdparse.cbs_sr), "CBS.log [SR]: {repaired, cannot_repair}"),
    ProbeSpec("session", "session.info", (), _identity, "The account wbplay runs as: {user, is_admin...}"),
    ProbeSpec(
        "session.interactive",
        "session.interactive",
        (),
        _identity,
        "Desktop sessions open now, the console user and the PC's local time",
    ),
    ProbeSpec(
        "host.reboot_ok",
        "session.interactive",
        (),
        _identity,
        "May wbplay restart now? {ok, why, desktop_sessions, console_user, local_time}: no desktop "
        "session (unless allowed), inside the maintenance window when one is given",
        uses=("window", "allow_signed_in"),
        join=session.reboot_ok,
    ),
    ProbeSpec(
        "user.shell_folders", "user.shell_folders", (), _identity, "Shell folders of each loaded HKU\\<SID>"
    ),
    ProbeSpec(
        "user.folders_off_system",
        "user.shell_folders",
        (),
        _identity,
        "User folders and profiles that live off the system drive",
        extra=(_VOLUMES,),
        join=desktop.folders_off_system,
    ),
    ProbeSpec("user.libraries", "user.libraries", (), _identity, "Each profile's libraries and folders"),
    ProbeSpec(
        "services.missing_volume",
        "service.list",
        (),
        _identity,
        "Services whose ImagePath is on a drive that does not exist (KB980794): [{name, path, drive}]",
        extra=(_VOLUMES,),
        join=volumes.services_on_missing_volumes,
    ),
    ProbeSpec(
        "user.international",
        "user.international",
        (),
        _identity,
        "Decimal symbol and locale of HKU\\.DEFAULT and each loaded user hive: [{hive, decimal, ...}]",
    ),
    ProbeSpec(
        "user.decimal_not_period",
        "user.international",
        (),
        desktop.decimal_not_period,
        "The hives whose decimal symbol is not '.' (KB982736 [3P]): [{hive, decimal, locale_name}]",
    ),
    ProbeSpec(
        "libraries.unavailable",
        "user.libraries",
        (),
        desktop.unavailable_libraries,
        "Library folders that cannot be reached now (KB975692 scenario 1)",
    ),
    ProbeSpec(
        "capi2.system_writer",
        "events.query",
        (),
        desktop.system_writer_errors,
        "CAPI2 513 System Writer errors, without the benign MSLLDP one (KB3209092)",
        uses=("since_days",),
        fixed=_events("Microsoft-Windows-CAPI2", [513], "Application"),
    ),
    ProbeSpec("printers", "printer.list", (), _identity, "Printers with driver and port"),
    ProbeSpec("printer.drivers", "printer.drivers", (), _identity, "Installed printer drivers"),
    ProbeSpec(
        "printer.easy_print",
        "printer.drivers",
        (),
        _identity,
        "Remote Desktop Easy Print drivers/redirected printers: {present, drivers, printers}",
        extra=(("printer.list", _fixed()),),
        join=desktop.easy_print,
    ),
    ProbeSpec(
        "backup.errors",
        "events.query",
        (),
        _identity,
        "Failed backups, newest first: {time, provider, id, code, detailed_code, target} (codes normalised)",
        uses=("since_days",),
        extra=(("events.query", _events("Windows Backup", [], "Application")),),
        join=backup.backup_errors,
        fixed=_events("Microsoft-Windows-Backup", []),
    ),
    ProbeSpec(
        "backup.last_result",
        "events.query",
        (),
        _identity,
        "The newest backup outcome, a success or a failure: {ok, time, provider, id, code, "
        "message}; nothing when no backup is logged",
        uses=("since_days",),
        extra=(("events.query", _events("Windows Backup", [], "Application")),),
        join=backup.last_result,
        fixed=_events("Microsoft-Windows-Backup", []),
    ),
    ProbeSpec(
        "wsb.disks",
        "wbadmin.get_disks",
        (),
        _cmd(cmdparse.wbadmin_disks),
        "The disks Windows Server Backup sees online (wbadmin get disks): [{name, number, id, "
        "total_mb, used_mb}]",
    ),
)

PROBES: dict[str, ProbeSpec] = {
    p.kind: p
    for p in (
        ProbeSpec("os.info", "os.info", (), _identity, "OS facts (use field: version, build, locale...)"),
        ProbeSpec("service", "service.get", ("name",), _identity, "The whole service record, or nothing"),
        ProbeSpec("service.exists", "service.get", ("name",), lambda v: v is not None, "Whether it exists"),
        ProbeSpec(
            "service.start_mode",
            "service.get",
            ("name",),
            _field("start_mode"),
            "Automatic, AutomaticDelayed, Manual or Disabled (nothing if missing)",
        ),
        ProbeSpec("service.state", "service.get", ("name",), _field("state"), "Running, Stopped..."),
        ProbeSpec("services", "service.list", (), _identity, "Every service with its image path"),
        ProbeSpec(
            "services.policy_disabled",
            "service.policy",
            (),
            _identity,
            "Which of these services Group Policy sets to Disabled (RSOP_SystemService)",
            uses=("names",),
            join=desktop.policy_disabled,
        ),
        ProbeSpec(
            "registry.value",
            "registry.get",
            ("key", "name"),
            lambda v: v.get("value") if v and v.get("exists") else None,
            "A registry value's data (nothing if absent)",
        ),
        ProbeSpec(
            "registry.entry", "registry.get", ("key", "name"), _identity, "{exists, type, value} of one value"
        ),
        ProbeSpec("registry.key", "registry.list", ("key",), _identity, "A key's subkeys and values"),
        ProbeSpec("path.exists", "path.get", ("path",), _field("exists"), "Whether a file or folder exists"),
        ProbeSpec("path", "path.get", ("path",), _identity, "exists, kind, size, reparse"),
        ProbeSpec(
            "path.children", "path.list", ("path",), _identity, "Names inside a folder (nothing if missing)"
        ),
        ProbeSpec(
            "events",
            "events.query",
            ("provider",),
            _identity,
            "Recent events of a provider, newest first",
            ("ids", "log", "since_days", "max"),
        ),
        *_STORAGE_PROBES,
    )
}
