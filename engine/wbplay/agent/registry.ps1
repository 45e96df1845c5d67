# ---------------------------------------------------------------- registry ---

function Assert-WbUserHive {
    # HKCU is this account's own hive only while that hive is loaded
    # (HKU\<SID>): otherwise Windows maps HKCU to the default profile, as in
    # a WinRS shell without a profile (WINRS_NOPROFILE, how wbplay opens
    # them), and a read or write would go to .DEFAULT (docs/agent-review.md
    # likely bug 3).  Refused then: address HKU\<SID> instead.
    $sid = [Security.Principal.WindowsIdentity]::GetCurrent().User.Value
    $own = [Microsoft.Win32.Registry]::Users.OpenSubKey($sid)
    if ($null -eq $own) {
        throw (New-WbFailure 50 ("HKCU is not this account's hive here (its profile is not loaded); use HKU\" + $sid))
    }
    $own.Close()
}

function Get-WbBaseKey {
    param([string]$Hive)
    if ($WbState.BaseKeys.ContainsKey($Hive)) {
        return $WbState.BaseKeys[$Hive]
    }
    if ($Hive -ceq 'HKCU') {
        Assert-WbUserHive
    }
    $base = $null
    if ($WbState.CanPickView) {
        $hiveEnum = $null
        switch -casesensitive ($Hive) {
            'HKLM' {
                $hiveEnum = [Microsoft.Win32.RegistryHive]::LocalMachine
            }
            'HKCU' {
                $hiveEnum = [Microsoft.Win32.RegistryHive]::CurrentUser
            }
            'HKU' {
                $hiveEnum = [Microsoft.Win32.RegistryHive]::Users
            }
            'HKCR' {
                $hiveEnum = [Microsoft.Win32.RegistryHive]::ClassesRoot
            }
            'HKCC' {
                $hiveEnum = [Microsoft.Win32.RegistryHive]::CurrentConfig
            }
        }
        # RegistryView only exists on .NET 4; this line never runs on .NET 2.
        $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey($hiveEnum, [Microsoft.Win32.RegistryView]::Registry64)
    } else {
        switch -casesensitive ($Hive) {
            'HKLM' {
                $base = [Microsoft.Win32.Registry]::LocalMachine
            }
            'HKCU' {
                $base = [Microsoft.Win32.Registry]::CurrentUser
            }
            'HKU' {
                $base = [Microsoft.Win32.Registry]::Users
            }
            'HKCR' {
                $base = [Microsoft.Win32.Registry]::ClassesRoot
            }
            'HKCC' {
                $base = [Microsoft.Win32.Registry]::CurrentConfig
            }
        }
    }
    if ($null -eq $base) {
        throw "internal: unknown hive $Hive"
    }
    $WbState.BaseKeys[$Hive] = $base
    return $base
}

function Assert-WbRegistryView {
    if ($WbState.WowBlind) {
        throw (New-WbFailure 50 ('32-bit Windows PowerShell 2.0 on 64-bit Windows cannot read the 64-bit registry; ' +
            'run the 64-bit powershell.exe'))
    }
}

function Split-WbRegistryKey {
    # "HKLM\SOFTWARE\X", "HKEY_LOCAL_MACHINE\SOFTWARE\X" (or "HKLM:\...") -> hive + subkey path.
    # HKCU is the hive of the account the agent runs as, and only while that
    # hive is loaded (Assert-WbUserHive).
    param([string]$Key)
    $at = $Key.IndexOf([char]92)
    if ($at -lt 0) {
        $hivePart = $Key
        $sub = ''
    } else {
        $hivePart = $Key.Substring(0, $at)
        $sub = $Key.Substring($at + 1)
    }
    $hive = $null
    switch -casesensitive ($hivePart.TrimEnd([char]58).ToUpperInvariant()) {
        'HKLM' {
            $hive = 'HKLM'
        }
        'HKEY_LOCAL_MACHINE' {
            $hive = 'HKLM'
        }
        'HKCU' {
            $hive = 'HKCU'
        }
        'HKEY_CURRENT_USER' {
            $hive = 'HKCU'
        }
        'HKU' {
            $hive = 'HKU'
        }
        'HKEY_USERS' {
            $hive = 'HKU'
        }
        'HKCR' {
            $hive = 'HKCR'
        }
        'HKEY_CLASSES_ROOT' {
            $hive = 'HKCR'
        }
        'HKCC' {
            $hive = 'HKCC'
        }
        'HKEY_CURRENT_CONFIG' {
            $hive = 'HKCC'
        }
    }
    if ($null -eq $hive) {
        throw (New-WbFailure 87 "unknown registry hive in key '$Key'")
    }
    $sub = $sub.TrimEnd([char]92)
    if ($sub.StartsWith('\') -or $sub.Contains('\\')) {
        throw (New-WbFailure 87 "empty path segment in registry key '$Key'")
    }
    return @{ Hive = $hive; Path = $sub }
}

function Test-WbValueExists {
    param($RegKey, [string]$Name)
    foreach ($existing in $RegKey.GetValueNames()) {
        if ([string]::Equals($existing, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $true
        }
    }
    return $false
}

function ConvertTo-WbHex {
    param($Bytes)
    if ($null -eq $Bytes) {
        return ''
    }
    return [BitConverter]::ToString([byte[]]$Bytes).Replace('-', '').ToLowerInvariant()
}

function Get-WbRegistryTyped {
    # One value as @{ Type = "REG_*"; Value = JSON text }.  REG_EXPAND_SZ is read
    # unexpanded; DWORD/QWORD are reported unsigned (as regedit shows them).
    param($RegKey, [string]$Name)
    $kind = [string]$RegKey.GetValueKind($Name)
    $data = $RegKey.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    switch -casesensitive ($kind) {
        'String' {
            return @{ Type = 'REG_SZ'; Value = (ConvertTo-WbJsonString $data) }
        }
        'ExpandString' {
            return @{ Type = 'REG_EXPAND_SZ'; Value = (ConvertTo-WbJsonString $data) }
        }
        'DWord' {
            $unsigned = [BitConverter]::ToUInt32([BitConverter]::GetBytes([int]$data), 0)
            return @{ Type = 'REG_DWORD'; Value = (ConvertTo-WbJsonNumber $unsigned) }
        }
        'QWord' {
            $unsigned = [BitConverter]::ToUInt64([BitConverter]::GetBytes([long]$data), 0)
            return @{ Type = 'REG_QWORD'; Value = (ConvertTo-WbJsonNumber $unsigned) }
        }
        'MultiString' {
            $items = New-Object System.Collections.ArrayList
            if ($null -ne $data) {
                foreach ($s in $data) {
                    [void]$items.Add((ConvertTo-WbJsonString $s))
                }
            }
            return @{ Type = 'REG_MULTI_SZ'; Value = (ConvertTo-WbJsonList $items) }
        }
        'Binary' {
            return @{ Type = 'REG_BINARY'; Value = (ConvertTo-WbJsonString (ConvertTo-WbHex $data)) }
        }
    }
    # REG_NONE ("None" on .NET 4, "Unknown" on .NET 2) and the rare resource
    # list types: report the raw bytes when .NET hands them over.
    $type = 'REG_UNKNOWN'
    if ($kind -ceq 'None') {
        $type = 'REG_NONE'
    }
    $value = 'null'
    if ($data -is [byte[]]) {
        $value = ConvertTo-WbJsonString (ConvertTo-WbHex $data)
    }
    return @{ Type = $type; Value = $value }
}

function Get-WbRegistryValue {
    param([string]$Key, [string]$Name)
    Assert-WbRegistryView
    $where = Split-WbRegistryKey $Key
    $rk = $null
    try {
        $rk = (Get-WbBaseKey $where.Hive).OpenSubKey($where.Path, $false)
        if ($null -eq $rk -or -not (Test-WbValueExists $rk $Name)) {
            return '{"exists":false,"type":null,"value":null}'
        }
        $typed = Get-WbRegistryTyped $rk $Name
        return (ConvertTo-WbJsonObject @('exists', 'true', 'type', (ConvertTo-WbJsonString $typed.Type),
                'value', $typed.Value))
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
}

function Get-WbSorted {
    # Ordinal order, like Python's sorted(), so every host lists alike.
    param([string[]]$Names)
    $list = New-Object System.Collections.ArrayList
    if ($null -ne $Names) {
        $list.AddRange($Names)
    }
    $list.Sort([StringComparer]::Ordinal)
    return ,$list
}

function Get-WbRegistryKey {
    param([string]$Key)
    Assert-WbRegistryView
    $where = Split-WbRegistryKey $Key
    $rk = $null
    try {
        $rk = (Get-WbBaseKey $where.Hive).OpenSubKey($where.Path, $false)
        if ($null -eq $rk) {
            return '{"exists":false,"subkeys":[],"values":{}}'
        }
        $subkeys = New-Object System.Collections.ArrayList
        foreach ($sub in (Get-WbSorted $rk.GetSubKeyNames())) {
            [void]$subkeys.Add((ConvertTo-WbJsonString $sub))
        }
        $pairs = New-Object System.Collections.ArrayList
        foreach ($valueName in (Get-WbSorted $rk.GetValueNames())) {
            $typed = Get-WbRegistryTyped $rk $valueName
            [void]$pairs.Add($valueName)
            [void]$pairs.Add((ConvertTo-WbJsonObject @('type', (ConvertTo-WbJsonString $typed.Type),
                        'value', $typed.Value)))
        }
        return (ConvertTo-WbJsonObject @('exists', 'true', 'subkeys', (ConvertTo-WbJsonList $subkeys),
                'values', (ConvertTo-WbJsonObject $pairs.ToArray())))
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
}

function ConvertTo-WbRegInteger {
    # An integer from the request as the signed bit pattern .NET's SetValue
    # wants; accepts the unsigned form that reads report (0xFFFFFFFF = 4294967295).
    param($Value, [int]$Bits)
    if ($Value -isnot [decimal]) {
        throw (New-WbFailure 87 'REG_DWORD and REG_QWORD values must be integers')
    }
    # Bounds as [decimal] from the types themselves: big literals parse
    # differently across PowerShell versions.
    if ($Bits -eq 32) {
        if ($Value -lt [decimal][int]::MinValue -or $Value -gt [decimal][uint32]::MaxValue) {
            throw (New-WbFailure 87 'value out of range for REG_DWORD')
        }
        if ($Value -gt [decimal][int]::MaxValue) {
            return [int]($Value - ([decimal][uint32]::MaxValue + 1))
        }
        return [int]$Value
    }
    if ($Value -lt [decimal][long]::MinValue -or $Value -gt [decimal][uint64]::MaxValue) {
        throw (New-WbFailure 87 'value out of range for REG_QWORD')
    }
    if ($Value -gt [decimal][long]::MaxValue) {
        return [long]($Value - ([decimal][uint64]::MaxValue + 1))
    }
    return [long]$Value
}

function ConvertFrom-WbHex {
    param($Value)
    if ($Value -isnot [string] -or $Value -notmatch '^([0-9a-fA-F]{2})*\z') {
        throw (New-WbFailure 87 'REG_BINARY values must be hex strings such as "01ff"')
    }
    $bytes = New-Object byte[] ($Value.Length / 2)
    for ($i = 0; $i -lt $bytes.Length; $i++) {
        $bytes[$i] = [Convert]::ToByte($Value.Substring($i * 2, 2), 16)
    }
    return ,$bytes
}

function Set-WbRegistryValue {
    param([string]$Key, [string]$Name, [string]$Type, $Value)
    Assert-WbRegistryView
    $where = Split-WbRegistryKey $Key
    $kind = $null
    $data = $null
    switch -casesensitive ($Type) {
        'REG_SZ' {
            $kind = [Microsoft.Win32.RegistryValueKind]::String
        }
        'REG_EXPAND_SZ' {
            $kind = [Microsoft.Win32.RegistryValueKind]::ExpandString
        }
        'REG_DWORD' {
            $kind = [Microsoft.Win32.RegistryValueKind]::DWord
            $data = [int](ConvertTo-WbRegInteger $Value 32)
        }
        'REG_QWORD' {
            $kind = [Microsoft.Win32.RegistryValueKind]::QWord
            $data = [long](ConvertTo-WbRegInteger $Value 64)
        }
        'REG_MULTI_SZ' {
            $kind = [Microsoft.Win32.RegistryValueKind]::MultiString
            if ($Value -isnot [string[]]) {
                throw (New-WbFailure 87 'REG_MULTI_SZ values must be lists of strings')
            }
            $data = [string[]]$Value
        }
        'REG_BINARY' {
            $kind = [Microsoft.Win32.RegistryValueKind]::Binary
            $data = [byte[]](ConvertFrom-WbHex $Value)
        }
    }
    if ($null -eq $kind) {
        throw (New-WbFailure 87 "unsupported registry type '$Type'")
    }
    if ($Type -ceq 'REG_SZ' -or $Type -ceq 'REG_EXPAND_SZ') {
        if ($Value -isnot [string]) {
            throw (New-WbFailure 87 "$Type values must be strings")
        }
        $data = [string]$Value
    }
    # $data holds a plain .NET value (the casts above unwrap PowerShell's
    # PSObject), which is what SetValue converts for the chosen kind.
    $rk = $null
    try {
        # CreateSubKey opens the key for writing, creating missing parents.
        $rk = (Get-WbBaseKey $where.Hive).CreateSubKey($where.Path)
        $rk.SetValue($Name, $data, $kind)
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
    return 'null'
}

function Remove-WbRegistryValue {
    # Deleting a value that is not there succeeds: this op is the rollback of
    # "create a value", and a rollback must be safe to repeat.
    param([string]$Key, [string]$Name)
    Assert-WbRegistryView
    $where = Split-WbRegistryKey $Key
    $rk = $null
    try {
        $rk = (Get-WbBaseKey $where.Hive).OpenSubKey($where.Path, $true)
        if ($null -ne $rk) {
            $rk.DeleteValue($Name, $false)
        }
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
    return 'null'
}

function Get-WbHklmValue {
    # One HKLM value (REG_EXPAND_SZ expanded), or $null when absent.
    param([string]$SubKey, [string]$Name)
    $rk = $null
    try {
        $rk = (Get-WbBaseKey 'HKLM').OpenSubKey($SubKey, $false)
        if ($null -eq $rk) {
            return $null
        }
        return $rk.GetValue($Name, $null)
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
}

function Get-WbUserInternational {
    # Control Panel\International (sDecimal, LocaleName: raw) of HKU\.DEFAULT
    # (the system accounts' settings) and of every loaded HKU\S-1-5-21-* hive
    # (a signed-in user's).  Named by hive: over WinRM HKCU is the WinRM
    # account's, not the backup user's (docs/agent-review.md likely bug 3).
    Assert-WbRegistryView
    $users = Get-WbBaseKey 'HKU'
    $items = New-Object System.Collections.ArrayList
    foreach ($sid in (Get-WbSorted $users.GetSubKeyNames())) {
        if ($sid -cne '.DEFAULT' -and $sid -notmatch '^S-1-5-21-[0-9-]+\z') {
            continue
        }
        $rk = $null
        try {
            $rk = $users.OpenSubKey($sid + '\Control Panel\International', $false)
            if ($null -ne $rk) {
                [void]$items.Add((ConvertTo-WbJsonObject @(
                            'hive', (ConvertTo-WbJsonString ('HKU\' + $sid)),
                            'decimal', (ConvertTo-WbJsonString $rk.GetValue('sDecimal', $null)),
                            'locale_name', (ConvertTo-WbJsonString $rk.GetValue('LocaleName', $null)))))
            }
        } finally {
            if ($null -ne $rk) {
                $rk.Close()
            }
        }
    }
    return (ConvertTo-WbJsonList $items.ToArray())
}
