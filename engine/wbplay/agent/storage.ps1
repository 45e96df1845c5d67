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
    # harddiskN\partitionM.  Windows 8+: MSFT_Partition.AccessPaths; Windows 7
    # (or a failing Storage provider): IOCTL_STORAGE_GET_DEVICE_NUMBER.  A
    # volume spanning disks has neither.
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
            return $map
        } catch {
            $map = @{}
        }
    }
    if (Import-WbNative) {
        foreach ($g in $Guids) {
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

# ---------------------------------------------------------- shadow storage ---

function Get-WbShadowStorage {
    # Win32_ShadowStorage joined with the volume table:
    # @{ For; On; UsedMb; AllocatedMb; MaxMb; Wmi }, MaxMb 0 = UNBOUNDED.
    $byGuid = @{}
    foreach ($v in (Get-WbVolumes)) {
        $byGuid[$v.Guid] = $v
    }
    $keys = New-Object System.Collections.ArrayList
    $rows = New-Object System.Collections.ArrayList
    foreach ($s in @(Get-WmiObject -Class Win32_ShadowStorage)) {
        $forGuid = Get-WbGuid ([string]$s.Volume)
        $onGuid = Get-WbGuid ([string]$s.DiffVolume)
        if ($null -eq $forGuid -or $null -eq $onGuid -or -not $byGuid.ContainsKey($forGuid) -or
            -not $byGuid.ContainsKey($onGuid)) {
            continue
        }
        # UNBOUNDED is the 64-bit -1; some clients report 0 for "never set".
        $max = [decimal]$s.MaxSpace
        if ($max -ge [decimal][long]::MaxValue) {
            $max = 0
        }
        [void]$rows.Add(@{
                For = $byGuid[$forGuid]
                On = $byGuid[$onGuid]
                UsedMb = [Math]::Floor([decimal]$s.UsedSpace / 1048576)
                AllocatedMb = [Math]::Floor([decimal]$s.AllocatedSpace / 1048576)
                MaxMb = [Math]::Floor($max / 1048576)
                Wmi = $s
            })
        [void]$keys.Add($forGuid + $onGuid)
    }
    # ",": an empty list must reach foreach as a list (PS2 runs a loop over
    # $null once).
    $sorted = Get-WbSortedItems ([string[]]$keys.ToArray()) $rows.ToArray()
    return ,$sorted
}

function Get-WbShadowStorageList {
    param($OpArgs)
    $selector = Get-WbArg $OpArgs 'for_volume' 'string' -Optional
    $only = $null
    if ($null -ne $selector) {
        $only = Resolve-WbVolume $selector
        if ($null -eq $only) {
            return '[]'
        }
    }
    $items = New-Object System.Collections.ArrayList
    foreach ($s in (Get-WbShadowStorage)) {
        if ($null -eq $only -or $s.For.Guid -eq $only.Guid) {
            [void]$items.Add((ConvertTo-WbJsonObject @(
                        'for', (ConvertTo-WbVolumeRef $s.For),
                        'on', (ConvertTo-WbVolumeRef $s.On),
                        'used_mb', (ConvertTo-WbJsonNumber $s.UsedMb),
                        'allocated_mb', (ConvertTo-WbJsonNumber $s.AllocatedMb),
                        'max_mb', (ConvertTo-WbJsonNumber $s.MaxMb))))
        }
    }
    return (ConvertTo-WbJsonList $items.ToArray())
}

function Set-WbShadowStorage {
    # shadowstorage.add | resize | delete.  The simulator's checks first, so
    # both hosts answer the same codes; then Win32_ShadowStorage: Create,
    # MaxSpace + Put, Delete (the VSS provider's AddDiffArea and
    # ChangeDiffAreaMaximumSize), the same calls vssadmin makes, with typed
    # results instead of localized text.  MaxSpace -1 is "no limit".
    param($OpArgs, [string]$Action)
    $for = Resolve-WbVolume (Get-WbArg $OpArgs 'for_volume' 'string')
    $on = Resolve-WbVolume (Get-WbArg $OpArgs 'on_volume' 'string')
    if ($null -eq $for -or $null -eq $on) {
        throw (New-WbFailure 2 'no such volume on this PC')
    }
    $bytes = [uint64]::MaxValue
    if ($Action -ne 'delete') {
        $max = Get-WbArg $OpArgs 'max_size_mb' 'integer'
        if ($max -lt 0 -or ($max -gt 0 -and $max -lt 300)) {
            throw (New-WbFailure 87 'max_size_mb must be 0 (UNBOUNDED) or at least 300')
        }
        if ($max -gt 0) {
            $bytes = [uint64]([decimal]$max * 1048576)
        }
    }
    $pair = $null
    $any = $null
    foreach ($s in (Get-WbShadowStorage)) {
        if ($s.For.Guid -eq $for.Guid) {
            $any = $s
            if ($s.On.Guid -eq $on.Guid) {
                $pair = $s
            }
        }
    }
    if ($Action -eq 'add') {
        if ($on.FileSystem -ne 'NTFS') {
            throw (New-WbFailure 87 'shadow copy storage must be on an NTFS volume')
        }
        if ($null -ne $any) {
            throw (New-WbFailure 2147754765 'The object already exists.')
        }
        # The documented Create needs Windows Server; client Windows may
        # answer 10 (unexpected), which is reported as such.
        $class = New-Object System.Management.ManagementClass -ArgumentList 'root\cimv2:Win32_ShadowStorage'
        $in = $class.psbase.GetMethodParameters('Create')
        $in.psbase.SetPropertyValue('Volume', $for.Path)
        $in.psbase.SetPropertyValue('DiffVolume', $on.Path)
        $in.psbase.SetPropertyValue('MaxSpace', $bytes)
        $result = $class.psbase.InvokeMethod('Create', $in, $null)
        $rc = [int]$result.psbase.GetPropertyValue('ReturnValue')
        if ($rc -ne 0) {
            throw (ConvertFrom-WbStorageCreateCode $rc)
        }
        return 'null'
    }
    if ($null -eq $pair) {
        throw (New-WbFailure 2147754760 'The specified object was not found.')
    }
    if ($Action -eq 'resize') {
        $pair.Wmi.psbase.SetPropertyValue('MaxSpace', $bytes)
        [void]$pair.Wmi.psbase.Put()
    } else {
        $pair.Wmi.psbase.Delete()
    }
    return 'null'
}

function ConvertFrom-WbStorageCreateCode {
    # Win32_ShadowStorage.Create's return values -> the VSS HRESULTs behind them.
    param([int]$Code)
    $codes = @{
        1 = @(5, 'Access is denied.'); 2 = @(87, 'The parameter is incorrect.')
        3 = @(2, 'The specified volume was not found.')
        4 = @(2147754764, 'Shadow copying the specified volume is not supported.')
        5 = @(2147754765, 'The object already exists.')
        6 = @(2147754782, 'Maximum number of shadow copy storage associations already reached.')
        7 = @(2147754758, 'The shadow copy provider vetoed the operation.')
        8 = @(2147754756, 'The shadow copy provider is not registered.')
        9 = @(2147754767, 'The shadow copy provider had an unexpected error.')
        11 = @(2147754783, 'Insufficient storage available to create the shadow copy storage.')
    }
    if ($codes.ContainsKey($Code)) {
        return (New-WbFailure $codes[$Code][0] $codes[$Code][1])
    }
    return (New-WbFailure 2147754754 "Win32_ShadowStorage.Create returned $Code (unexpected error; client Windows may not support it)")
}

# ---------------------------------------------------------- backup catalog ---

function Test-WbReadableFile {
    param([string]$Path)
    try {
        $fs = New-Object IO.FileStream -ArgumentList $Path, ([IO.FileMode]::Open), ([IO.FileAccess]::Read),
            ([IO.FileShare]::ReadWrite)
        try {
            $probe = New-Object byte[] 4096
            return ($fs.Read($probe, 0, $probe.Length) -gt 0)
        } finally {
            $fs.Close()
        }
    } catch {
        return $false
    }
}

function Get-WbChildNames {
    # Sub-folder names, case-insensitively sorted like the simulator's listings;
    # none when the folder cannot be listed.
    param([string]$Path)
    $names = New-Object System.Collections.ArrayList
    try {
        foreach ($dir in [IO.Directory]::GetDirectories($Path)) {
            [void]$names.Add([IO.Path]::GetFileName($dir))
        }
    } catch {
        $names.Clear()
    }
    $names.Sort([StringComparer]::OrdinalIgnoreCase)
    return ,$names
}

function Get-WbBackupCatalog {
    # Image sets: <X:>\WindowsImageBackup\<machine>, readable when "wbadmin
    # get versions -backupTarget:X: -machine:<machine>" lists a version.
    # Windows 7 file sets: <X:>\<machine> holding "Backup Set *", readable when
    # Catalogs\GlobalCatalog.wbcat opens (an approximation, ops.py).
    param([string]$Target)
    $v = Resolve-WbVolume $Target
    if ($null -eq $v -or $null -eq $v.Letter) {
        return 'null'
    }
    $letter = [string]$v.Letter
    $images = New-Object System.Collections.ArrayList
    $imageRoot = $letter + '\WindowsImageBackup'
    foreach ($machine in (Get-WbChildNames $imageRoot)) {
        $readable = $false
        # Folder names come from the disk: only a computer name goes on to wbadmin.
        if ($machine -match '^[A-Za-z0-9_-]{1,15}\z') {
            try {
                $run = Invoke-WbNative -Name 'wbadmin' -Tokens @('get', 'versions', ('-backupTarget:' + $letter),
                    ('-machine:' + $machine))
                $readable = ($run.ExitCode -eq 0 -and $run.Output -match '[0-9]{2}/[0-9]{2}/[0-9]{4}-[0-9]{2}:[0-9]{2}')
            } catch {
                $readable = $false
            }
        }
        [void]$images.Add((ConvertTo-WbJsonObject @(
                    'machine', (ConvertTo-WbJsonString $machine),
                    'path', (ConvertTo-WbJsonString ($imageRoot + '\' + $machine)),
                    'readable', (ConvertTo-WbJsonBool $readable))))
    }
    $files = New-Object System.Collections.ArrayList
    foreach ($machine in (Get-WbChildNames ($letter + '\'))) {
        if ($machine -notmatch '^[A-Za-z0-9-]{1,15}\z') {
            continue
        }
        $folder = $letter + '\' + $machine
        $isSet = $false
        foreach ($child in (Get-WbChildNames $folder)) {
            if ($child.StartsWith('Backup Set ', [StringComparison]::OrdinalIgnoreCase)) {
                $isSet = $true
            }
        }
        if ($isSet) {
            $readable = Test-WbReadableFile ($folder + '\Catalogs\GlobalCatalog.wbcat')
            [void]$files.Add((ConvertTo-WbJsonObject @(
                        'machine', (ConvertTo-WbJsonString $machine),
                        'path', (ConvertTo-WbJsonString $folder),
                        'readable', (ConvertTo-WbJsonBool $readable))))
        }
    }
    return (ConvertTo-WbJsonObject @(
            'target', (ConvertTo-WbJsonString $letter),
            'image_sets', (ConvertTo-WbJsonList $images.ToArray()),
            'file_sets', (ConvertTo-WbJsonList $files.ToArray())))
}
