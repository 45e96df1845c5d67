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

# A backup target on a network share (wbplay.vocab.ops UNC_TARGET_PATTERN,
# the same): one command-line token, no admin shares.
$WbUncTarget = '^\\\\[A-Za-z0-9._-]{1,63}\\[A-Za-z0-9._-]{1,80}\\?\z'

# A computer's name, as Windows Backup names its folders on a target: image
# sets and file sets alike (wbplay.vocab.ops MACHINE_NAME_PATTERN, the same,
# and why: KB909264's NetBIOS and DNS host name rules).
$WbMachineName = '^[A-Za-z0-9_-]{1,15}\z'

function Get-WbBackupRoot {
    # "X:" for a volume selector with a letter, "\\server\share" for a share
    # (Windows 7 Pro backs up there), else $null.
    param([string]$Target)
    if ($Target -cmatch $WbUncTarget) {
        return $Target.TrimEnd([char]92)
    }
    $v = Resolve-WbVolume $Target
    if ($null -eq $v -or $null -eq $v.Letter) {
        return $null
    }
    return [string]$v.Letter
}

function Get-WbBackupCatalog {
    # Image sets: <X:>\WindowsImageBackup\<machine>, readable when "wbadmin
    # get versions -backupTarget:X: -machine:<machine>" lists a version.
    # Windows 7 file sets: <X:>\<machine> holding "Backup Set *", readable when
    # Catalogs\GlobalCatalog.wbcat opens (an approximation, ops.py).  X: may
    # be a \\server\share (docs/agent-review.md likely bug 12).
    param([string]$Target)
    $letter = Get-WbBackupRoot $Target
    if ($null -eq $letter) {
        return 'null'
    }
    $images = New-Object System.Collections.ArrayList
    $imageRoot = $letter + '\WindowsImageBackup'
    foreach ($machine in (Get-WbChildNames $imageRoot)) {
        $readable = $false
        # Folder names come from the disk: only a computer name goes on to wbadmin.
        if ($machine -cmatch $WbMachineName) {
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
        if ($machine -cnotmatch $WbMachineName) {
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
