# ----------------------------------------------------------------- volumes ---

function Test-WbWin8 {
    # Windows 8 / Server 2012 (6.2) or later.  Unmanifested .NET reports
    # Windows 8.1+ as 6.2 too, which is all this test needs.
    $v = [Environment]::OSVersion.Version
    return ($v.Major -gt 6 -or ($v.Major -eq 6 -and $v.Minor -ge 2))
}

function Get-WbGuid {
    # The lower-case GUID in a volume path or in a WMI reference to one
    # (Win32_Volume.DeviceID="\\\\?\\Volume{...}\\"), or $null.
    param([string]$Path)
    if ($Path -match 'Volume\{([0-9A-Fa-f-]{36})\}') {
        return $Matches[1].ToLowerInvariant()
    }
    return $null
}

function Get-WbSortedItems {
    # Items ordered by their string keys, ordinal (stable across cultures).
    param([string[]]$Keys, [object[]]$Items)
    if ($null -eq $Items -or $Items.Length -eq 0) {
        return ,@()
    }
    [Array]::Sort($Keys, $Items, [StringComparer]::Ordinal)
    return ,$Items
}

function Get-WbVolumeLocations {
    # GUID -> @{ Disk; Partition }: the N and M of \\?\GLOBALROOT\device\
    # harddiskN\partitionM.  Windows 8+: MSFT_Partition.AccessPaths; then, per
    # volume it did not name (Windows 7, a failing Storage provider, or a
    # partition the provider leaves out: docs/agent-review.md likely bug 15),
    # IOCTL_STORAGE_GET_DEVICE_NUMBER on the volume itself.  A volume
    # spanning disks has neither.
    param([object[]]$Guids)
    $map = @{}
    if (Test-WbWin8) {
        try {
            foreach ($p in @(Get-WmiObject -Namespace 'root\Microsoft\Windows\Storage' -Class MSFT_Partition)) {
                foreach ($accessPath in @($p.AccessPaths)) {
                    $g = Get-WbGuid ([string]$accessPath)
                    if ($null -ne $g) {
                        $map[$g] = @{ Disk = [int]$p.DiskNumber; Partition = [int]$p.PartitionNumber }
                    }
                }
            }
        } catch {
            $map = @{}
        }
    }
    $missing = New-Object System.Collections.ArrayList
    foreach ($g in $Guids) {
        # PS 2.0 runs a foreach once over $null: skip it.
        if ($null -ne $g -and -not $map.ContainsKey([string]$g)) {
            [void]$missing.Add([string]$g)
        }
    }
    if ($missing.Count -gt 0 -and (Import-WbNative)) {
        foreach ($g in $missing) {
            try {
                $numbers = [WbPlay.Native]::DeviceNumber('\\.\Volume{' + $g + '}')
                if ($null -ne $numbers) {
                    $map[$g] = @{ Disk = $numbers[0]; Partition = $numbers[1] }
                }
            } catch {
                $numbers = $null
            }
        }
    }
    return $map
}

function Get-WbVolumes {
    # Every volume of a fixed or removable disk that has media, as rows, by
    # disk and partition; cached for one request (write ops clear it).
    if ($null -ne $WbState.Volumes) {
        return ,$WbState.Volumes
    }
    $found = New-Object System.Collections.ArrayList
    $guids = New-Object System.Collections.ArrayList
    foreach ($v in @(Get-WmiObject -Class Win32_Volume)) {
        $type = [int]$v.DriveType
        $g = Get-WbGuid ([string]$v.DeviceID)
        if (($type -eq 2 -or $type -eq 3) -and $null -ne $v.Capacity -and $null -ne $g) {
            [void]$found.Add($v)
            [void]$guids.Add($g)
        }
    }
    $where = Get-WbVolumeLocations $guids.ToArray()
    $keys = New-Object System.Collections.ArrayList
    $rows = New-Object System.Collections.ArrayList
    for ($i = 0; $i -lt $found.Count; $i++) {
        $v = $found[$i]
        $g = [string]$guids[$i]
        $disk = $null
        $partition = $null
        if ($where.ContainsKey($g)) {
            $disk = $where[$g].Disk
            $partition = $where[$g].Partition
        }
        $letter = ([string]$v.DriveLetter).ToUpperInvariant()
        if ($letter -eq '') {
            $letter = $null
        }
        $fileSystem = [string]$v.FileSystem
        if ($fileSystem -eq '') {
            $fileSystem = 'RAW'
        }
        $free = 0
        if ($null -ne $v.FreeSpace) {
            $free = [Math]::Floor([decimal]$v.FreeSpace / 1048576)
        }
        [void]$rows.Add(@{
                Path = [string]$v.DeviceID
                Guid = $g
                Letter = $letter
                Label = [string]$v.Label
                FileSystem = $fileSystem
                SizeMb = [Math]::Floor([decimal]$v.Capacity / 1048576)
                FreeMb = $free
                Disk = $disk
                Partition = $partition
                System = [bool]$v.SystemVolume
                Boot = [bool]$v.BootVolume
                PageFile = [bool]$v.PageFile
                Dirty = [bool]$v.DirtyBitSet
            })
        $diskKey = 999999999
        $partitionKey = 999999999
        if ($null -ne $disk) {
            $diskKey = $disk
            $partitionKey = $partition
        }
        [void]$keys.Add(([int]$diskKey).ToString('D9') + ([int]$partitionKey).ToString('D9') + [string]$v.DeviceID)
    }
    $sorted = Get-WbSortedItems ([string[]]$keys.ToArray()) $rows.ToArray()
    $WbState.Volumes = $sorted
    return ,$sorted
}

function Get-WbWinreLocation {
    # @{ Disk; Partition } of the WinRE location "reagentc /info" names, or
    # $null (disabled, or no reagentc).  The GLOBALROOT path is the same in
    # every language.
    try {
        $run = Invoke-WbNative -Name 'reagentc' -Tokens @('/info')
    } catch {
        return $null
    }
    if ($run.Output -match '\\\\\?\\GLOBALROOT\\device\\harddisk([0-9]+)\\partition([0-9]+)') {
        return @{ Disk = [int]$Matches[1]; Partition = [int]$Matches[2] }
    }
    return $null
}

function Resolve-WbVolume {
    # A selector (ops.py: "C:", "c:\", "\\?\Volume{GUID}\", "@boot", "@system",
    # "@winre") -> its volume row, or $null when there is no such volume.
    # Anything else is refused with 87, long before a command line.
    param([string]$Selector)
    $s = $Selector.Trim()
    $kind = $null
    $want = $null
    if ($s -match '^([A-Za-z]):\\?\z') {
        $kind = 'letter'
        $want = $Matches[1].ToUpperInvariant() + ':'
    } elseif ($s -match '^\\\\\?\\Volume\{([0-9A-Fa-f-]{36})\}\\?\z') {
        $kind = 'guid'
        $want = $Matches[1].ToLowerInvariant()
    } elseif ($s -eq '@boot' -or $s -eq '@system') {
        $kind = $s
    } elseif ($s -eq '@winre') {
        $kind = $s
        $want = Get-WbWinreLocation
        if ($null -eq $want) {
            return $null
        }
    } else {
        throw (New-WbFailure 87 "not a volume (a letter, a \\?\Volume{GUID}\ path, @boot, @system or @winre): '$Selector'")
    }
    foreach ($v in (Get-WbVolumes)) {
        if (($kind -eq 'letter' -and $v.Letter -eq $want) -or
            ($kind -eq 'guid' -and $v.Guid -eq $want) -or
            ($kind -eq '@boot' -and $v.Boot) -or
            ($kind -eq '@system' -and $v.System) -or
            ($kind -eq '@winre' -and $null -ne $v.Disk -and $v.Disk -eq $want.Disk -and $v.Partition -eq $want.Partition)) {
            return $v
        }
    }
    return $null
}

function Resolve-WbVolumeOrFail {
    # For ops that act on the volume: an unknown one is ERROR_FILE_NOT_FOUND.
    param([string]$Selector)
    $v = Resolve-WbVolume $Selector
    if ($null -eq $v) {
        throw (New-WbFailure 2 "no such volume on this PC: '$Selector'")
    }
    return $v
}

function Get-WbVolumeArg {
    # How a native tool is told the volume: "E:", or its volume GUID name
    # (no trailing backslash, which chkdsk would read as a path).
    param($Volume)
    if ($null -ne $Volume.Letter) {
        return [string]$Volume.Letter
    }
    return '\\?\Volume{' + $Volume.Guid + '}'
}

function ConvertTo-WbVolumeRef {
    # The VOL of shadowstorage.list: {path, letter, label, system, boot}.
    param($Volume)
    return (ConvertTo-WbJsonObject @(
            'path', (ConvertTo-WbJsonString $Volume.Path),
            'letter', (ConvertTo-WbJsonString $Volume.Letter),
            'label', (ConvertTo-WbJsonString $Volume.Label),
            'system', (ConvertTo-WbJsonBool $Volume.System),
            'boot', (ConvertTo-WbJsonBool $Volume.Boot)))
}

function Get-WbVolumeList {
    $items = New-Object System.Collections.ArrayList
    foreach ($v in (Get-WbVolumes)) {
        [void]$items.Add((ConvertTo-WbJsonObject @(
                    'path', (ConvertTo-WbJsonString $v.Path),
                    'letter', (ConvertTo-WbJsonString $v.Letter),
                    'label', (ConvertTo-WbJsonString $v.Label),
                    'file_system', (ConvertTo-WbJsonString $v.FileSystem),
                    'size_mb', (ConvertTo-WbJsonNumber $v.SizeMb),
                    'free_mb', (ConvertTo-WbJsonNumber $v.FreeMb),
                    'disk', (ConvertTo-WbJsonNumber $v.Disk),
                    'partition', (ConvertTo-WbJsonNumber $v.Partition),
                    'system', (ConvertTo-WbJsonBool $v.System),
                    'boot', (ConvertTo-WbJsonBool $v.Boot),
                    'pagefile', (ConvertTo-WbJsonBool $v.PageFile),
                    'dirty', (ConvertTo-WbJsonBool $v.Dirty))))
    }
    return (ConvertTo-WbJsonList $items.ToArray())
}

# ------------------------------------------------------------------- disks ---

function ConvertTo-WbBusType {
    # STORAGE_BUS_TYPE (= MSFT_Disk.BusType) -> ops.py's names.  ATA is how
    # IDE-mode and many Windows 7 AHCI disks report; SCSI, 1394, SD, Spaces...
    # have no name in ops.py and are "Unknown".
    param($Code)
    $names = @{ 3 = 'SATA'; 7 = 'USB'; 8 = 'RAID'; 9 = 'iSCSI'; 10 = 'SAS'; 11 = 'SATA'; 14 = 'Virtual'; 15 = 'Virtual'; 17 = 'NVMe' }
    if ($null -ne $Code -and $names.ContainsKey([int]$Code)) {
        return $names[[int]$Code]
    }
    return 'Unknown'
}

function ConvertTo-WbDiskJson {
    param($Number, [string]$Model, [string]$Media, [string]$Bus, [string]$Style, $SizeBytes,
        $Logical, $Physical, [bool]$IsBoot, [bool]$IsSystem)
    return (ConvertTo-WbJsonObject @(
            'number', (ConvertTo-WbJsonNumber $Number),
            'model', (ConvertTo-WbJsonString $Model.Trim()),
            'media_type', (ConvertTo-WbJsonString $Media),
            'bus_type', (ConvertTo-WbJsonString $Bus),
            'partition_style', (ConvertTo-WbJsonString $Style),
            'size_mb', (ConvertTo-WbJsonNumber ([Math]::Floor([decimal]$SizeBytes / 1048576))),
            'logical_sector_size', (ConvertTo-WbJsonNumber $Logical),
            'physical_sector_size', (ConvertTo-WbJsonNumber $Physical),
            'is_boot', (ConvertTo-WbJsonBool $IsBoot),
            'is_system', (ConvertTo-WbJsonBool $IsSystem)))
}

function Get-WbDisksStorage {
    # Windows 8+: the Storage module's classes (MediaType 3 HDD, 4 SSD, 5 SCM;
    # USB bridges and VMs often say 0, "Unspecified").
    $ns = 'root\Microsoft\Windows\Storage'
    $media = @{}
    foreach ($pd in @(Get-WmiObject -Namespace $ns -Class MSFT_PhysicalDisk)) {
        $media[[string]$pd.DeviceId] = [int]$pd.MediaType
    }
    $mediaNames = @{ 3 = 'HDD'; 4 = 'SSD'; 5 = 'SCM' }
    $styleNames = @{ 1 = 'MBR'; 2 = 'GPT' }
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    foreach ($d in @(Get-WmiObject -Namespace $ns -Class MSFT_Disk)) {
        if ($null -eq $d.Number -or $null -eq $d.Size -or [decimal]$d.Size -le 0) {
            continue
        }
        $n = [int]$d.Number
        $mediaName = 'Unspecified'
        if ($media.ContainsKey([string]$n) -and $mediaNames.ContainsKey($media[[string]$n])) {
            $mediaName = $mediaNames[$media[[string]$n]]
        }
        $style = 'RAW'
        if ($styleNames.ContainsKey([int]$d.PartitionStyle)) {
            $style = $styleNames[[int]$d.PartitionStyle]
        }
        [void]$keys.Add($n.ToString('D9'))
        [void]$items.Add((ConvertTo-WbDiskJson $n ([string]$d.Model) $mediaName (ConvertTo-WbBusType $d.BusType) $style `
                    $d.Size $d.LogicalSectorSize $d.PhysicalSectorSize ([bool]$d.IsBoot) ([bool]$d.IsSystem)))
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

function Get-WbDisksLegacy {
    # Windows 7: Win32_DiskDrive, plus IOCTLs on \\.\PhysicalDriveN for what
    # it lacks (bus, physical sector size, IncursSeekPenalty: false = SSD,
    # true = HDD).  Without them: bus from InterfaceType, "Unspecified" media,
    # partition style from Win32_DiskPartition, physical sector size null.
    $native = Import-WbNative
    $styles = @{}
    foreach ($p in @(Get-WmiObject -Class Win32_DiskPartition)) {
        $k = [int]$p.DiskIndex
        if (([string]$p.Type).StartsWith('GPT')) {
            $styles[$k] = 'GPT'
        } elseif (-not $styles.ContainsKey($k)) {
            $styles[$k] = 'MBR'
        }
    }
    $boot = @{}
    $system = @{}
    foreach ($v in (Get-WbVolumes)) {
        if ($null -ne $v.Disk) {
            if ($v.Boot) {
                $boot[[int]$v.Disk] = $true
            }
            if ($v.System) {
                $system[[int]$v.Disk] = $true
            }
        }
    }
    $keys = New-Object System.Collections.ArrayList
    $items = New-Object System.Collections.ArrayList
    foreach ($d in @(Get-WmiObject -Class Win32_DiskDrive)) {
        if ($null -eq $d.Index -or $null -eq $d.Size) {
            continue
        }
        $n = [int]$d.Index
        $path = [string]$d.DeviceID
        $bus = -1
        $seek = -1
        $sizes = $null
        $layout = -1
        if ($native) {
            try {
                $bus = [WbPlay.Native]::BusType($path)
                $seek = [WbPlay.Native]::SeekPenalty($path)
                $sizes = [WbPlay.Native]::SectorSizes($path)
                $layout = [WbPlay.Native]::PartitionStyle($path)
            } catch {
                $bus = -1
            }
        }
        $busName = ConvertTo-WbBusType $bus
        if ($bus -lt 0 -and [string]$d.InterfaceType -eq 'USB') {
            $busName = 'USB'
        }
        $mediaName = 'Unspecified'
        if ($seek -eq 1) {
            $mediaName = 'HDD'
        } elseif ($seek -eq 0) {
            $mediaName = 'SSD'
        }
        $logical = 512
        if ($null -ne $d.BytesPerSector) {
            $logical = [int]$d.BytesPerSector
        }
        $physical = $null
        if ($null -ne $sizes) {
            $logical = $sizes[0]
            $physical = $sizes[1]
        }
        $style = 'RAW'
        if ($layout -eq 0) {
            $style = 'MBR'
        } elseif ($layout -eq 1) {
            $style = 'GPT'
        } elseif ($layout -ne 2 -and $styles.ContainsKey($n)) {
            $style = $styles[$n]
        }
        [void]$keys.Add($n.ToString('D9'))
        [void]$items.Add((ConvertTo-WbDiskJson $n ([string]$d.Model) $mediaName $busName $style $d.Size $logical $physical `
                    $boot.ContainsKey($n) $system.ContainsKey($n)))
    }
    return (ConvertTo-WbJsonList (Get-WbSortedItems ([string[]]$keys.ToArray()) $items.ToArray()))
}

function Get-WbDiskList {
    if (Test-WbWin8) {
        try {
            return (Get-WbDisksStorage)
        } catch {
            # The Storage provider is a service of its own; Win32 still answers.
        }
    }
    return (Get-WbDisksLegacy)
}
