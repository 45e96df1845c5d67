"""Windows Backup facts the engine and the simulator both rely on, each with its source.

Confidence marks follow docs/domain.md: [V] verified, [3P] third-party only,
[U] unverified (a hypothesis to confirm on a lab VM).
"""

from __future__ import annotations

# Free space a partition needs "so that backup utilities can capture the partition": under
# 500 MB at least 50 MB, 500 MB or more at least 320 MB, larger than 1 GB at least 1 GB
# (KB3135522 "Disk partition requirement for using Windows RE tools on a UEFI-based computer",
# and windows-hardware "Configure UEFI/GPT-based hard drive partitions" [V]; written for the
# WinRE/System Reserved partitions, applied here to every volume an image includes).
SMALL_VOLUME_MB = 500
SMALL_VOLUME_HEADROOM_MB = 50
LARGE_VOLUME_HEADROOM_MB = 320
HUGE_VOLUME_MB = 1024
HUGE_VOLUME_HEADROOM_MB = 1024

# "Persistent shadow copies can be made only for NTFS volumes" and the diff area "must be
# located on an NTFS volume" (windowsserverdocs Volume Shadow Copy Service FAQ [V]): a FAT32 EFI
# system partition is no shadow-storage case (its failures are the ESP lock, 0x8078011E).
SHADOW_STORAGE_FILE_SYSTEMS = ("NTFS",)

# Windows 7 system images are VHDs: a source volume above 2,088,958 MB cannot be
# protected (0x807800B4, docs/domain.md s.2 [V KB2696906]).
VHD_LIMIT_MB = 2_088_958

# Windows 7 is the last version without 4K-native support (docs/domain.md s.2 0x8078002A [V]).
FIRST_4KN_VERSION = (6, 2)

# VSS_WRITER_STATE 6-15 are the Failed* states (docs/domain.md s.3.2 [V]).
WRITER_FAILED_STATES = range(6, 16)

# VSS_WRITER_STATE 2-5 (WaitingForFreeze, WaitingForThaw, WaitingForPostSnapshot,
# WaitingForBackupComplete: learn.microsoft.com vswriter.h VSS_WRITER_STATE [V]) mean a shadow copy
# is being taken right now, by any requester: Windows Backup, Veeam, DPM, Azure Backup.
WRITER_BUSY_STATES = range(2, 6)

# The Backup log writes 1 when a job starts and 14 when it ends, on success and on failure
# (docs/domain.md s.3.1 [V]): a 1 newer than the newest 14 is a job still running.
BACKUP_STARTED_ID = 1
BACKUP_COMPLETED_ID = 14
# KB982736 (cited by third-party pages [3P]; the KB's own text was not found): Windows Backup fails
# with 0x80070057 when the decimal symbol (Control Panel\International sDecimal) is not ".".
BACKUP_DECIMAL_SYMBOL = "."
BACKUP_SUCCEEDED_ID = 4  # "The backup operation has finished successfully" (docs/domain.md s.3.1 [V])


def headroom_needed_mb(size_mb: int) -> int:
    if size_mb < SMALL_VOLUME_MB:
        return SMALL_VOLUME_HEADROOM_MB
    return HUGE_VOLUME_HEADROOM_MB if size_mb > HUGE_VOLUME_MB else LARGE_VOLUME_HEADROOM_MB


# The service that hosts each in-box VSS writer: restarting it clears the writer's failed
# state.  General Windows knowledge, not in docs/domain.md: [U].
WRITER_SERVICES: dict[str, str] = {
    "System Writer": "CryptSvc",
    "ASR Writer": "VSS",
    "COM+ REGDB Writer": "VSS",
    "Registry Writer": "VSS",
    "Shadow Copy Optimization Writer": "VSS",
    "WMI Writer": "Winmgmt",
    "BITS Writer": "BITS",
    "MSSearch Service Writer": "WSearch",
    "SqlServerWriter": "SQLWriter",
}

# Folder names that mark virtual-machine files on a backup destination (the seed's VMware
# case).  The link to image failures is the seed's and docs/domain.md s.5.1's hypothesis [U].
VM_FOLDER_HINTS = ("virtual machines", "vmware", "virtualbox vms", "hyper-v", "vms")


# CAPI2 513 "... OnIdentity() call in System Writer Object. Details: AddLegacyDriverFiles: Unable
# to back up image of binary Microsoft Link-Layer Discovery Protocol. System Error: Access is
# denied." appears on every supported Windows Server when VSS runs a backup and "can be safely
# ignored" (KB3209092, SupportArticles-docs event-id-513-vss-windows-server.md [V]).  It is not
# evidence of relocated profiles; matched on the event's text (the binary's name and its file).
BENIGN_CAPI2_513_MARKERS = ("link-layer discovery protocol", "mslldp")


def benign_capi2_513(message: str | None) -> bool:
    text = (message or "").casefold()
    return any(marker in text for marker in BENIGN_CAPI2_513_MARKERS)


# The software shadow copy provider's DLL (KB2009513, SupportArticles-docs "Backup fails with VSS
# event ID 12292 and 11" [V]): a missing or wrong ServiceDll fails every shadow copy (0x8004230F).
SWPRV_PARAMETERS_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\swprv\\Parameters"
SWPRV_SERVICE_DLL = "%SystemRoot%\\System32\\swprv.dll"

# Microsoft's own VSS providers, by provider id (ids are the same in every UI language, unlike
# vssadmin's text): the system software provider (KB2009513's event text [V]), the file share
# provider and Hyper-V's in-guest provider ([3P]).  Any other provider is a third party's.
MICROSOFT_VSS_PROVIDERS = frozenset(
    {
        "{b5946137-7b9f-4925-af80-51abd60b20d5}",  # Microsoft Software Shadow Copy provider 1.0
        "{89300202-3cec-4981-9171-19f59559e0f2}",  # Microsoft File Share Shadow Copy provider
        "{74600e39-7dc5-4567-a03b-f091d6c7b092}",  # Hyper-V IC Software Shadow Copy Provider
    }
)


# KB2747459 [V]: a file-level Windows Server Backup of an NTFS volume fails on $Extend\$RmMetadata
# (NTFS internal data) with 0x80070005; the fix is the FilesNotToBackup value IgnoreNTFS =
# "\$Extend\* /s" (REG_MULTI_SZ), or a block-level (whole volume) backup.
FILES_NOT_TO_BACKUP_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Control\\BackupRestore\\FilesNotToBackup"
IGNORE_NTFS_PATTERN = "\\$Extend\\* /s"
