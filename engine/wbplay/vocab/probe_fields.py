"""What a check kind returns, so ``field:`` can be checked when a playbook is loaded.

A *record* kind returns a mapping and ``field:`` picks one of its keys (then
dotted into nested values); a *single-value* kind returns a scalar, where a
``field:`` could only ever observe nothing.  Kinds listed in neither (lists,
registry data whose shape is the registry's) are not checked.  The fields are
those the simulated PCs and the agent return (tests/test_loader.py keeps the
table and the simulated PCs in step).
"""

from __future__ import annotations

RECORD_FIELDS: dict[str, tuple[str, ...]] = {
    "os.info": (
        "arch", "boot_time", "build", "caption", "hostname", "locale", "oem_codepage", "product_type",
        "ps_version", "sp", "version",
    ),
    "service": ("depends_on", "display_name", "name", "path", "start_mode", "state"),
    "registry.entry": ("exists", "type", "value"),
    "registry.key": ("exists", "subkeys", "values"),
    "path": ("exists", "kind", "reparse", "size"),
    "volume": (
        "boot", "dirty", "disk", "file_system", "free_mb", "free_percent", "label", "letter", "pagefile",
        "partition", "path", "size_mb", "system",
    ),
    "disk": (
        "bus_type", "is_boot", "is_system", "logical_sector_size", "media_type", "model", "number",
        "partition_style", "physical_sector_size", "size_mb",
    ),
    "volume.critical": ("critical", "reasons", "volume"),
    "image.target": (
        "boot_or_system", "bus_type", "critical", "critical_reasons", "disk", "enough_space", "exists",
        "file_system", "free_mb", "image_sets", "logical_sector_size", "media_type", "needed_mb", "ntfs",
        "physical_sector_size", "same_disk_as_source", "sector_size_supported", "services_on_target",
        "size_mb", "target", "unreadable_image_sets", "vm_folders", "winre_on_target",
    ),
    "image.sources": ("too_large", "volumes"),
    "volume.ntfsinfo": ("bytes_per_cluster", "bytes_per_physical_sector", "bytes_per_sector", "ntfs"),
    "chkdsk.scan": ("bad_sectors_kb", "exit_code", "problems"),
    "disk.errors": (
        "bad_blocks", "count", "disk", "events", "last_check", "since_last_check", "transport", "volume",
    ),
    "volume.repair_needed": ("needed", "reasons", "volume"),
    "vss.writer": ("failed", "id", "instance_id", "last_error", "name", "state"),
    "shadowstorage.room": (
        "fix", "free_mb", "max_mb", "needed_mb", "ok", "size_mb", "storage_on", "volume", "why",
    ),
    "backup.versions": ("error", "ok", "versions"),
    "backup.sets": ("file_sets", "image_sets", "target", "unreadable_file_sets", "unreadable_image_sets"),
    "winre": ("disk", "enabled", "location", "partition", "path"),
    "winre.placement": ("bus_type", "disk", "enabled", "external", "location", "on_boot_disk"),
    "sfc.verify": ("complete", "unrepaired", "violations"),
    "cbs.sr": ("cannot_repair", "repaired"),
    "session": ("elevated", "is_admin", "sid", "user"),
    "printer.easy_print": ("drivers", "present", "printers"),
    "session.interactive": ("console_user", "desktop_sessions", "local_time"),
    "host.reboot_ok": ("console_user", "desktop_sessions", "local_time", "ok", "why"),
    "backup.in_progress": ("busy_writers", "job_started", "running", "why"),
    "backup.last_result": ("code", "detailed_code", "id", "message", "ok", "provider", "target", "time"),
    "dism.health": ("healthy", "repairable"),
}

SINGLE_VALUE_KINDS = frozenset(
    {
        "service.exists",
        "service.start_mode",
        "service.state",
        "path.exists",
        "volume.dirty",
        "chkdsk.scheduled",
    }
)
