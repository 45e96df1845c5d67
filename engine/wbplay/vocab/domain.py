"""Windows Backup facts the engine and the simulator both rely on, each with its source.

Confidence marks follow docs/domain.md: [V] verified, [3P] third-party only,
[U] unverified (a hypothesis to confirm on a lab VM).
"""

from __future__ import annotations

# Shadow-copy headroom a source volume needs: "<500 MB volume -> 50 MB free; otherwise
# 320 MB" (docs/domain.md s.2, 0x80780119) is marked [U]; both the simulator and the
# shadow-storage probes use these numbers as stated.
SMALL_VOLUME_MB = 500
SMALL_VOLUME_HEADROOM_MB = 50
LARGE_VOLUME_HEADROOM_MB = 320

# Windows 7 system images are VHDs: a source volume above 2,088,958 MB cannot be
# protected (0x807800B4, docs/domain.md s.2 [V KB2696906]).
VHD_LIMIT_MB = 2_088_958

# Windows 7 is the last version without 4K-native support (docs/domain.md s.2 0x8078002A [V]).
FIRST_4KN_VERSION = (6, 2)

# VSS_WRITER_STATE 6-15 are the Failed* states (docs/domain.md s.3.2 [V]).
WRITER_FAILED_STATES = range(6, 16)


def headroom_needed_mb(size_mb: int) -> int:
    return SMALL_VOLUME_HEADROOM_MB if size_mb < SMALL_VOLUME_MB else LARGE_VOLUME_HEADROOM_MB


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
