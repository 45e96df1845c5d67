# wbplay agent: performs host operations sent as DATA and prints one framed,
# ASCII-only JSON response.  The wire format is defined in protocol.py.
#
# Targets Windows PowerShell 2.0 (Windows 7 SP1 / Server 2008 R2 on .NET 2.0/3.5)
# up to 5.1.  Hence: no ConvertTo-Json, [pscustomobject], [ordered], -in, ::new(),
# Get-CimInstance, member enumeration; Get-WmiObject, New-Object and hashtables
# instead.  PS2 traps that shape this file: a function's stray output becomes
# part of its return value (every .Add() is [void]); arrays returned from a
# function are unrolled (lists are returned as ,$list); foreach over $null runs
# once (never loop over something that may be $null).
#
# Safety: every request value arrives as base64 or digits and is only ever
# passed to .NET / WMI APIs as an argument.  Nothing from the request is pasted
# into code, a WQL filter or a wildcard path.  Native tools (chkdsk, vssadmin...)
# get fixed switches plus volume names the host itself reported, each checked
# again by Join-WbArguments (native.ps1).
#
# The agent is several files run as one script, in protocol.AGENT_PARTS order:
# agent.ps1 (this: request, JSON, registry, services, paths, events), native.ps1,
# storage.ps1, commands.ps1, system.ps1 and main.ps1 (dispatcher, main).
#
# Started by the bootstrap as:  & ([ScriptBlock]::Create($agentText)) $requestText
param([string]$Request)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$WbInvariant = [Globalization.CultureInfo]::InvariantCulture

# Write ops: refused unless the request says "write".  Must match ops.OP_SPECS.
$WbWriteOps = @{
    'service.set_start_mode' = $true
    'service.start' = $true
    'service.stop' = $true
    'registry.set' = $true
    'registry.delete' = $true
    'path.rename' = $true
    'path.delete' = $true
    'chkdsk.schedule' = $true
    'chkdsk.run' = $true
    'sfc.scannow' = $true
    'shadowstorage.add' = $true
    'shadowstorage.resize' = $true
    'shadowstorage.delete' = $true
    'winre.disable' = $true
    'winre.enable' = $true
    'service.restart' = $true
    'host.reboot' = $true
}

# Ops whose tools take minutes to hours: while one runs, Invoke-WbNative
# prints each line of the tool's output before the frame (Write-WbLiveText),
# so the operator sees progress.  Must match ops.SLOW_OPS.
$WbSlowOps = @{
    'chkdsk.scan' = $true
    'chkdsk.run' = $true
    'sfc.verifyonly' = $true
    'sfc.scannow' = $true
}

# Registry view.  A 32-bit PowerShell on 64-bit Windows sees HKLM\SOFTWARE
# through WOW6432Node.  .NET 4 (PS3+) can ask for the 64-bit view explicitly
# (OpenBaseKey + RegistryView.Registry64, which is simply the native view on
# 32-bit Windows).  .NET 2 (PS2) cannot pick a view: there we rely on WinRM
# starting the native 64-bit powershell.exe, and refuse registry ops outright
# in a 32-bit PS2 on 64-bit Windows rather than return the wrong view's data.
$WbState = @{
    Services = $null
    Volumes = $null
    Native = $null
    BaseKeys = @{}
    CanPickView = ($null -ne [Microsoft.Win32.RegistryKey].GetMethod('OpenBaseKey'))
    WowBlind = $false
    Live = $false
}
if (-not $WbState.CanPickView -and [IntPtr]::Size -eq 4 -and
    [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')) {
    $WbState.WowBlind = $true
}

# ------------------------------------------------------------------ errors ---

function New-WbFailure {
    param($Code, [string]$Message)
    # Win32Exception(code) carries Windows' own (localized) text for the code.
    # An HRESULT above 0x7FFFFFFF (VSS's 0x8004230D...) is kept as the same 32
    # bits, signed; Get-WbErrorInfo reports it unsigned again.
    $bits = [decimal]$Code
    if ($bits -gt 2147483647) {
        $bits -= 4294967296
    }
    $native = [int]$bits
    if ($Message) {
        return (New-Object System.ComponentModel.Win32Exception -ArgumentList $native, $Message)
    }
    return (New-Object System.ComponentModel.Win32Exception -ArgumentList $native)
}

function Get-WbErrorInfo {
    param($Exception)
    # PowerShell wraps .NET exceptions (MethodInvocationException), and .NET
    # wraps the Win32Exception (InvalidOperationException for services): take
    # the Win32 code Windows reported, anywhere in the chain.
    $e = $Exception
    $innermost = $Exception
    while ($null -ne $e) {
        if ($e -is [System.ComponentModel.Win32Exception]) {
            $native = [long]$e.NativeErrorCode
            if ($native -lt 0) {
                $native += 4294967296
            }
            if ($native -eq 0) {
                $native = 1
            }
            return @{ Code = $native; Message = [string]$e.Message }
        }
        $innermost = $e
        $e = $e.InnerException
    }
    $code = 1
    if ($innermost -is [System.Management.Automation.ItemNotFoundException]) {
        $code = 2
    } elseif ($innermost -is [System.UnauthorizedAccessException] -or
              $innermost -is [System.Security.SecurityException]) {
        $code = 5
    } else {
        # Exception.HResult is not public before .NET 4.5; GetHRForException is.
        # An HRESULT 0x8007xxxx (FACILITY_WIN32) carries the Win32 code in its
        # low word (IOException for "already exists" is 0x800700B7 -> 183).
        # Decimal arithmetic only: hex literals and -shr differ across versions.
        $hr = [long][System.Runtime.InteropServices.Marshal]::GetHRForException($innermost)
        if ($hr -lt 0) {
            $hr += 4294967296
        }
        # WMI and COM failures keep their HRESULT (0x80041003, VSS's
        # 0x8004xxxx...): more telling than 1.  By type name: System.Management
        # may not be loaded, and an unknown type literal would throw here.
        $typeName = $innermost.GetType().FullName
        if ([Math]::Floor($hr / 65536) -eq 32775 -and ($hr % 65536) -ne 0) {
            $code = [int]($hr % 65536)
        } elseif ($typeName -eq 'System.Management.ManagementException') {
            $code = [long][int]$innermost.ErrorCode
            if ($code -lt 0) {
                $code += 4294967296
            }
        } elseif ($typeName -eq 'System.Runtime.InteropServices.COMException' -and $hr -gt 2147483648) {
            $code = $hr
        }
    }
    return @{ Code = $code; Message = [string]$innermost.Message }
}

# -------------------------------------------------------------------- JSON ---
# Hand-written (ConvertTo-Json is PS3+).  Every char outside 0x20-0x7E becomes
# \uXXXX (UTF-16 code units, so non-BMP chars come out as surrogate pairs):
# the output is pure ASCII, immune to the console codepage and to BOMs.
# Op handlers build JSON text directly; a string can never be unrolled.

function ConvertTo-WbJsonString {
    param($Value)
    if ($null -eq $Value) {
        return 'null'
    }
    $s = [string]$Value
    # \z, not $: in .NET, $ also matches before a final newline.
    # < and > are escaped too, so no value (a file name, an event message) can fake a frame marker.
    if ($s -cmatch '^[\x20\x21\x23-\x3B\x3D\x3F-\x5B\x5D-\x7E]*\z') {
        return '"' + $s + '"'
    }
    $sb = New-Object System.Text.StringBuilder
    [void]$sb.Append('"')
    foreach ($ch in $s.ToCharArray()) {
        $n = [int]$ch
        if ($n -eq 34) {
            [void]$sb.Append('\"')
        } elseif ($n -eq 92) {
            [void]$sb.Append('\\')
        } elseif ($n -ge 32 -and $n -le 126 -and $n -ne 60 -and $n -ne 62) {
            [void]$sb.Append($ch)
        } else {
            [void]$sb.Append('\u' + $n.ToString('x4'))
        }
    }
    [void]$sb.Append('"')
    return $sb.ToString()
}

function ConvertTo-WbJsonNumber {
    param($Value)
    if ($null -eq $Value) {
        return 'null'
    }
    # [decimal] holds every Int64 and UInt64 exactly; invariant culture so a
    # de-DE or fa-IR PC still writes plain ASCII digits.
    return ([decimal]$Value).ToString($WbInvariant)
}

function ConvertTo-WbJsonBool {
    param($Value)
    if ($Value) {
        return 'true'
    }
    return 'false'
}

function ConvertTo-WbJsonObject {
    # Pairs: name, JSON text, name, JSON text, ... (hashtables are unordered on PS2).
    param([object[]]$Pairs)
    if ($null -eq $Pairs) {
        return '{}'
    }
    $parts = New-Object System.Collections.ArrayList
    for ($i = 0; $i -lt $Pairs.Length; $i += 2) {
        [void]$parts.Add((ConvertTo-WbJsonString $Pairs[$i]) + ':' + [string]$Pairs[$i + 1])
    }
    return '{' + (@($parts) -join ',') + '}'
}

function ConvertTo-WbJsonList {
    # Items: JSON texts.
    param([object[]]$Items)
    if ($null -eq $Items) {
        return '[]'
    }
    return '[' + ($Items -join ',') + ']'
}

function Write-WbFrame {
    param([string]$Json)
    # [Console]::Out, not the pipeline: PowerShell's formatter may wrap long
    # lines at the host width; Console.Out writes the bytes as they are.
    $out = [Console]::Out
    $out.Write("<<<WBPLAY-BEGIN>>>`r`n" + $Json + "`r`n<<<WBPLAY-END>>>`r`n")
    $out.Flush()
}

# ----------------------------------------------------------------- request ---

function ConvertFrom-WbBase64 {
    param([string]$Text)
    return [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($Text))
}

function ConvertFrom-WbInteger {
    param([string]$Text)
    if ($Text -notmatch '^-?[0-9]{1,20}\z') {
        throw "wbplay request: bad integer '$Text'"
    }
    return [decimal]::Parse($Text, [Globalization.NumberStyles]::AllowLeadingSign, $WbInvariant)
}

function ConvertFrom-WbTypedValue {
    param([string]$Text)
    if ($Text.Length -lt 2 -or $Text.Substring(1, 1) -cne ':') {
        throw "wbplay request: bad typed value"
    }
    $tag = $Text.Substring(0, 1)
    $body = $Text.Substring(2)
    switch -casesensitive ($tag) {
        's' {
            return (ConvertFrom-WbBase64 $body)
        }
        'i' {
            return (ConvertFrom-WbInteger $body)
        }
        'b' {
            if ($body -ceq '1') {
                return $true
            }
            if ($body -ceq '0') {
                return $false
            }
            throw "wbplay request: bad boolean '$body'"
        }
        'n' {
            if ($body -ne '') {
                throw 'wbplay request: bad null'
            }
            return $null
        }
        'l' {
            $strings = New-Object System.Collections.ArrayList
            if ($body -ne '') {
                foreach ($part in $body.Split(',')) {
                    # "=" is the empty string (protocol.py: plain "" would make
                    # a one-empty-item list look like an empty list).
                    if ($part -ceq '=') {
                        [void]$strings.Add('')
                    } else {
                        [void]$strings.Add((ConvertFrom-WbBase64 $part))
                    }
                }
            }
            $stringArray = [string[]]@($strings)
            return ,$stringArray
        }
        'j' {
            $numbers = New-Object System.Collections.ArrayList
            if ($body -ne '') {
                foreach ($part in $body.Split(',')) {
                    [void]$numbers.Add((ConvertFrom-WbInteger $part))
                }
            }
            $numberArray = [decimal[]]@($numbers)
            return ,$numberArray
        }
    }
    throw "wbplay request: unknown type tag '$tag'"
}

function Read-WbRequest {
    param([string]$Text)
    $lines = New-Object System.Collections.ArrayList
    foreach ($raw in $Text.Split([char]10)) {
        $line = $raw.TrimEnd([char]13)
        if ($line.Length -gt 0) {
            [void]$lines.Add($line)
        }
    }
    if ($lines.Count -lt 1) {
        throw 'wbplay request: the request is empty'
    }
    $head = ([string]$lines[0]).Split([char]32)
    if ($head.Length -ne 3 -or $head[0] -cne 'WBPLAY-REQUEST' -or $head[1] -cne '1') {
        throw 'wbplay request: bad header (expected "WBPLAY-REQUEST 1 <mode>")'
    }
    $mode = $head[2]
    if ($mode -cne 'read' -and $mode -cne 'write') {
        throw "wbplay request: bad mode '$mode'"
    }
    $ops = New-Object System.Collections.ArrayList
    for ($i = 1; $i -lt $lines.Count; $i++) {
        $fields = ([string]$lines[$i]).Split([char]9)
        if ($fields.Length -lt 2 -or $fields[0] -cne [string]($i - 1)) {
            throw "wbplay request: line $i is malformed"
        }
        $opArgs = @{}
        for ($f = 2; $f -lt $fields.Length; $f++) {
            $field = $fields[$f]
            $eq = $field.IndexOf([char]61)
            if ($eq -lt 1) {
                throw "wbplay request: line $i has a malformed argument"
            }
            $argName = $field.Substring(0, $eq)
            if ($argName -cnotmatch '^[a-z_][a-z0-9_]*\z' -or $opArgs.ContainsKey($argName)) {
                throw "wbplay request: line $i has a bad or repeated argument name"
            }
            $opArgs[$argName] = (ConvertFrom-WbTypedValue ($field.Substring($eq + 1)))
        }
        [void]$ops.Add(@{ Name = $fields[1]; Args = $opArgs })
    }
    return @{ Mode = $mode; Ops = $ops }
}

function Get-WbArg {
    # A scalar argument, type-checked.  Lists are read from the table directly
    # (returning them from a function would unroll them).
    param($OpArgs, [string]$Name, [string]$Kind, [switch]$Optional)
    if (-not $OpArgs.ContainsKey($Name) -or $null -eq $OpArgs[$Name]) {
        if ($Optional) {
            return $null
        }
        throw (New-WbFailure 87 "missing argument '$Name'")
    }
    $v = $OpArgs[$Name]
    if ($Kind -ceq 'string') {
        if ($v -isnot [string]) {
            throw (New-WbFailure 87 "argument '$Name' must be a string")
        }
        return $v
    }
    if ($Kind -ceq 'integer') {
        if ($v -isnot [decimal] -or $v -lt [int]::MinValue -or $v -gt [int]::MaxValue) {
            throw (New-WbFailure 87 "argument '$Name' must be an integer")
        }
        return [int]$v
    }
    throw "internal: unknown argument kind $Kind"
}

# ---------------------------------------------------------------- registry ---

function Get-WbBaseKey {
    param([string]$Hive)
    if ($WbState.BaseKeys.ContainsKey($Hive)) {
        return $WbState.BaseKeys[$Hive]
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
    # HKCU is the hive of the account the agent runs as (the WinRM user).
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

# ----------------------------------------------------------------- os.info ---

function Get-WbOemCodePage {
    # The system OEM codepage (what native tools print in); the console's
    # OutputEncoding reflects the WinRS shell codepage instead.
    $oem = [Globalization.CultureInfo]::CurrentCulture.TextInfo.OEMCodePage
    $oemcp = [string](Get-WbHklmValue 'SYSTEM\CurrentControlSet\Control\Nls\CodePage' 'OEMCP')
    if ($oemcp -match '^[0-9]{1,5}\z') {
        $oem = [int]$oemcp
    }
    return $oem
}

function Get-WbOsInfo {
    $os = $null
    $boot = $null
    try {
        $os = @(Get-WmiObject -Class Win32_OperatingSystem)[0]
    } catch {
        # A broken WMI repository is itself a classic cause of backup
        # failures: fall back to the registry rather than fail the whole run.
        $os = $null
    }
    if ($null -ne $os) {
        $caption = ([string]$os.Caption).Trim()
        $version = [string]$os.Version
        $build = [int]$os.BuildNumber
        $sp = [int]$os.ServicePackMajorVersion
        $workstation = ([int]$os.ProductType -eq 1)
        # The runner waits for this to change after host.reboot.
        try {
            $boot = [Management.ManagementDateTimeConverter]::ToDateTime([string]$os.LastBootUpTime).ToUniversalTime()
            $boot = $boot.ToString('yyyy-MM-dd\THH:mm:ss\Z', $WbInvariant)
        } catch {
            $boot = $null
        }
    } else {
        $cv = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
        $caption = ([string](Get-WbHklmValue $cv 'ProductName')).Trim()
        $osv = [Environment]::OSVersion.Version
        $build = [int](Get-WbHklmValue $cv 'CurrentBuildNumber')
        $version = [string]$osv.Major + '.' + [string]$osv.Minor + '.' + [string]$build
        $sp = 0
        if ([Environment]::OSVersion.ServicePack -match '([0-9]+)') {
            $sp = [int]$Matches[1]
        }
        $productType = [string](Get-WbHklmValue 'SYSTEM\CurrentControlSet\Control\ProductOptions' 'ProductType')
        $workstation = ($productType -eq 'WinNT')
    }
    # The OS architecture, from the environment (OSArchitecture is missing on
    # old builds and localized, e.g. "64 bits").  PROCESSOR_ARCHITEW6432 is set
    # only in a 32-bit process on 64-bit Windows and names the OS's.
    $arch = [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITEW6432')
    if (-not $arch) {
        $arch = [Environment]::GetEnvironmentVariable('PROCESSOR_ARCHITECTURE')
    }
    $archName = ([string]$arch).ToLowerInvariant()
    if ($archName -eq 'amd64') {
        $archName = 'x64'
    }
    $oem = Get-WbOemCodePage
    $productName = 'server'
    if ($workstation) {
        $productName = 'workstation'
    }
    return (ConvertTo-WbJsonObject @(
            'hostname', (ConvertTo-WbJsonString ([Environment]::MachineName)),
            'caption', (ConvertTo-WbJsonString $caption),
            'version', (ConvertTo-WbJsonString $version),
            'build', (ConvertTo-WbJsonNumber $build),
            'sp', (ConvertTo-WbJsonNumber $sp),
            'ps_version', (ConvertTo-WbJsonString $PSVersionTable.PSVersion.ToString()),
            'locale', (ConvertTo-WbJsonString ([Globalization.CultureInfo]::CurrentCulture.Name)),
            'oem_codepage', (ConvertTo-WbJsonNumber $oem),
            'product_type', (ConvertTo-WbJsonString $productName),
            'arch', (ConvertTo-WbJsonString $archName),
            'boot_time', (ConvertTo-WbJsonString $boot)))
}

# ---------------------------------------------------------------- services ---

function Import-WbServiceProcess {
    # Loaded already in most hosts; harmless when it is.
    [void][Reflection.Assembly]::LoadWithPartialName('System.ServiceProcess')
}

function Get-WbServiceRows {
    # Every service as @{ Name; DisplayName; State; Path; StartMode; ExitCode;
    # SpecificExitCode }, from WMI (the whole list, filtered here with -eq:
    # never by pasting a name into a WQL filter).  Cached for one request;
    # every write op clears the cache.
    $cached = $WbState.Services
    if ($null -ne $cached) {
        return ,$cached
    }
    $wmi = $null
    try {
        $wmi = @(Get-WmiObject -Class Win32_Service)
    } catch {
        $wmi = $null
    }
    $rows = New-Object System.Collections.ArrayList
    if ($null -ne $wmi) {
        foreach ($s in $wmi) {
            [void]$rows.Add(@{
                    Name = [string]$s.Name
                    DisplayName = $s.DisplayName
                    State = [string]$s.State
                    Path = $s.PathName
                    StartMode = [string]$s.StartMode
                    ExitCode = $s.ExitCode
                    SpecificExitCode = $s.ServiceSpecificExitCode
                })
        }
    } else {
        # WMI is broken: the service control manager and the registry know the
        # same facts (the SCM expands ImagePath the same way WMI shows it).
        Import-WbServiceProcess
        foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
            $path = Get-WbHklmValue ('SYSTEM\CurrentControlSet\Services\' + $sc.ServiceName) 'ImagePath'
            [void]$rows.Add(@{
                    Name = [string]$sc.ServiceName
                    DisplayName = $sc.DisplayName
                    State = [string]$sc.Status
                    Path = $path
                    StartMode = ''
                    ExitCode = $null
                    SpecificExitCode = $null
                })
        }
    }
    $cached = $rows.ToArray()
    $WbState.Services = $cached
    return ,$cached
}

function Find-WbServiceRow {
    # Case-insensitive, by service name only (never by display name).
    param([string]$Name)
    foreach ($row in (Get-WbServiceRows)) {
        if ([string]::Equals([string]$row.Name, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $row
        }
    }
    return $null
}

function Get-WbServiceKeyInfo {
    # Start, DelayedAutostart and DependOnService straight from the service's
    # key: Win32_Service.StartMode cannot tell "Automatic (Delayed Start)".
    param([string]$Name)
    $info = @{ Start = $null; Delayed = $null; DependOn = $null }
    $rk = $null
    try {
        $rk = (Get-WbBaseKey 'HKLM').OpenSubKey('SYSTEM\CurrentControlSet\Services\' + $Name, $false)
        if ($null -ne $rk) {
            $info.Start = $rk.GetValue('Start', $null)
            $info.Delayed = $rk.GetValue('DelayedAutostart', $null)
            $info.DependOn = $rk.GetValue('DependOnService', $null)
        }
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
    return $info
}

function ConvertTo-WbStartMode {
    param($Start, $Delayed, [string]$WmiMode)
    if ($null -ne $Start) {
        switch ([int]$Start) {
            2 {
                if ($null -ne $Delayed -and [int]$Delayed -eq 1) {
                    return 'AutomaticDelayed'
                }
                return 'Automatic'
            }
            3 {
                return 'Manual'
            }
            4 {
                return 'Disabled'
            }
            0 {
                return 'Boot'
            }
            1 {
                return 'System'
            }
        }
    }
    if ($WmiMode -eq 'Auto') {
        return 'Automatic'
    }
    if ($WmiMode -eq 'Manual' -or $WmiMode -eq 'Disabled' -or $WmiMode -eq 'Boot' -or $WmiMode -eq 'System') {
        return $WmiMode
    }
    return 'Unknown'
}

function ConvertTo-WbServiceJson {
    param($Row)
    $name = [string]$Row.Name
    $info = Get-WbServiceKeyInfo $name
    $mode = ConvertTo-WbStartMode $info.Start $info.Delayed ([string]$Row.StartMode)
    $deps = New-Object System.Collections.ArrayList
    if ($null -ne $info.DependOn) {
        foreach ($dep in @($info.DependOn)) {
            if ($null -ne $dep -and [string]$dep -ne '') {
                [void]$deps.Add((ConvertTo-WbJsonString ([string]$dep)))
            }
        }
    }
    # WMI says "Start Pending", the SCM says StartPending: ops.SERVICE_STATES
    # spells them without the space.
    $state = ([string]$Row.State).Replace(' ', '')
    return (ConvertTo-WbJsonObject @(
            'name', (ConvertTo-WbJsonString $name),
            'display_name', (ConvertTo-WbJsonString $Row.DisplayName),
            'start_mode', (ConvertTo-WbJsonString $mode),
            'state', (ConvertTo-WbJsonString $state),
            'depends_on', (ConvertTo-WbJsonList $deps),
            'path', (ConvertTo-WbJsonString $Row.Path)))
}

function Get-WbService {
    param([string]$Name)
    $row = Find-WbServiceRow $Name
    if ($null -eq $row) {
        return 'null'
    }
    return (ConvertTo-WbServiceJson $row)
}

function Get-WbServiceList {
    # Sorted by name, ordinal (service names are unique ignoring case).
    $byName = @{}
    $names = New-Object System.Collections.ArrayList
    foreach ($row in (Get-WbServiceRows)) {
        $rowName = [string]$row.Name
        $byName[$rowName] = $row
        [void]$names.Add($rowName)
    }
    $names.Sort([StringComparer]::Ordinal)
    $items = New-Object System.Collections.ArrayList
    foreach ($n in $names) {
        [void]$items.Add((ConvertTo-WbServiceJson $byName[$n]))
    }
    return (ConvertTo-WbJsonList $items)
}

function ConvertFrom-WbChangeResult {
    # Win32_Service method ReturnValue -> Win32 error code.
    param([int]$ReturnValue)
    $map = @{
        2 = 5; 3 = 1051; 5 = 1061; 6 = 1062; 7 = 1053; 9 = 3; 10 = 1056; 11 = 1055
        12 = 1075; 13 = 1068; 14 = 1058; 15 = 1069; 16 = 1072; 17 = 1054; 18 = 1059
        19 = 1078; 20 = 123; 21 = 87; 22 = 1057; 23 = 1073
    }
    if ($map.ContainsKey($ReturnValue)) {
        return [int]$map[$ReturnValue]
    }
    return 0
}

function Set-WbServiceStartMode {
    # Win32_Service.ChangeStartMode rather than "sc.exe config": the service
    # name travels as a typed WMI method argument (sc.exe would need it on a
    # native command line, whose quoting PS2 gets wrong), the change goes
    # through the SCM (effective at once, consistent with its in-memory
    # config), and failures come back as numbers, not localized text.
    # ChangeStartMode cannot express delayed start, so DelayedAutostart is
    # written in the service's key; the SCM reads it at boot, the only time a
    # delayed start happens.
    param([string]$Name, [string]$Mode)
    $wmiMode = $null
    switch -casesensitive ($Mode) {
        'Automatic' {
            $wmiMode = 'Automatic'
        }
        'AutomaticDelayed' {
            $wmiMode = 'Automatic'
        }
        'Manual' {
            $wmiMode = 'Manual'
        }
        'Disabled' {
            $wmiMode = 'Disabled'
        }
    }
    if ($null -eq $wmiMode) {
        throw (New-WbFailure 87 "unknown start mode '$Mode'")
    }
    $svc = $null
    foreach ($candidate in @(Get-WmiObject -Class Win32_Service)) {
        if ([string]::Equals([string]$candidate.Name, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            $svc = $candidate
            break
        }
    }
    if ($null -eq $svc) {
        throw (New-WbFailure 1060)
    }
    $result = $svc.ChangeStartMode($wmiMode)
    $rv = [int]$result.ReturnValue
    if ($rv -ne 0) {
        $code = ConvertFrom-WbChangeResult $rv
        if ($code -eq 0) {
            throw (New-WbFailure 1 "Win32_Service.ChangeStartMode returned $rv")
        }
        throw (New-WbFailure $code)
    }
    $rk = $null
    try {
        $rk = (Get-WbBaseKey 'HKLM').OpenSubKey('SYSTEM\CurrentControlSet\Services\' + [string]$svc.Name, $true)
        if ($null -eq $rk) {
            throw (New-WbFailure 1060)
        }
        if ($Mode -ceq 'AutomaticDelayed') {
            $rk.SetValue('DelayedAutostart', 1, [Microsoft.Win32.RegistryValueKind]::DWord)
        } elseif ($null -ne $rk.GetValue('DelayedAutostart', $null)) {
            $rk.SetValue('DelayedAutostart', 0, [Microsoft.Win32.RegistryValueKind]::DWord)
        }
    } finally {
        if ($null -ne $rk) {
            $rk.Close()
        }
    }
    return 'null'
}

function Find-WbController {
    # GetServices() + a name match, not New-Object ServiceController($name):
    # that constructor also accepts DISPLAY names, so "Windows Backup" would
    # silently resolve to SDRSVC.
    param([string]$Name)
    Import-WbServiceProcess
    foreach ($sc in [System.ServiceProcess.ServiceController]::GetServices()) {
        if ([string]::Equals($sc.ServiceName, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $sc
        }
    }
    throw (New-WbFailure 1060)
}

function Get-WbStartFailure {
    # The service stopped while starting: report its own exit code when the
    # SCM kept one (Win32_Service.ExitCode), else 1067 "process terminated".
    param([string]$Name)
    $WbState.Services = $null
    $row = Find-WbServiceRow $Name
    if ($null -ne $row -and $null -ne $row.ExitCode) {
        $exit = [long]$row.ExitCode
        if ($exit -eq 1066 -and $null -ne $row.SpecificExitCode) {
            return (New-WbFailure 1066 ('The service stopped with service-specific error ' +
                    [string]$row.SpecificExitCode + '.'))
        }
        if ($exit -gt 0 -and $exit -le 65535) {
            return (New-WbFailure ([int]$exit))
        }
    }
    return (New-WbFailure 1067)
}

function Wait-WbServiceStatus {
    # Bounded wait (the SCM's own start timeout is 30 s too).  1053 on timeout.
    param($Controller, [string]$Want, [int]$Seconds)
    $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
    while ($true) {
        $Controller.Refresh()
        $status = [string]$Controller.Status
        if ($status -eq $Want) {
            return
        }
        if ($Want -eq 'Running' -and $status -eq 'Stopped') {
            throw (Get-WbStartFailure $Controller.ServiceName)
        }
        if ([DateTime]::UtcNow -ge $deadline) {
            throw (New-WbFailure 1053)
        }
        Start-Sleep -Milliseconds 250
    }
}

function Start-WbService {
    # The SCM starts the dependencies first (1068 when one fails; 1058 when
    # the service is disabled).  Already running is success.
    param([string]$Name)
    $sc = Find-WbController $Name
    $status = [string]$sc.Status
    if ($status -eq 'Running') {
        return 'null'
    }
    if ($status -eq 'StopPending') {
        Wait-WbServiceStatus $sc 'Stopped' 30
        $status = 'Stopped'
    }
    if ($status -eq 'Paused' -or $status -eq 'PausePending') {
        $sc.Continue()
    } elseif ($status -ne 'StartPending' -and $status -ne 'ContinuePending') {
        try {
            [void]$sc.Start()
        } catch {
            # 1056: someone else started it in the meantime.
            if ((Get-WbErrorInfo $_.Exception).Code -ne 1056) {
                throw $_.Exception
            }
        }
    }
    Wait-WbServiceStatus $sc 'Running' 30
    return 'null'
}

function Stop-WbService {
    # Refuses with 1051 while dependent services run, like "sc stop" (and
    # unlike ServiceController.Stop(), which would stop them all silently).
    # Already stopped is success.
    param([string]$Name)
    $sc = Find-WbController $Name
    $status = [string]$sc.Status
    if ($status -eq 'Stopped') {
        return 'null'
    }
    if ($status -ne 'StopPending') {
        foreach ($dependent in $sc.DependentServices) {
            if ([string]$dependent.Status -ne 'Stopped') {
                throw (New-WbFailure 1051)
            }
        }
        try {
            $sc.Stop()
        } catch {
            # 1062: it stopped by itself in the meantime.
            if ((Get-WbErrorInfo $_.Exception).Code -ne 1062) {
                throw $_.Exception
            }
        }
    }
    Wait-WbServiceStatus $sc 'Stopped' 30
    return 'null'
}

# ------------------------------------------------------------------- paths ---
# .NET file APIs throughout: they take paths literally (no wildcards, unlike
# -Path), never reach another PowerShell provider (a "HKLM:\..." path cannot
# turn a file delete into a registry delete), and work on PS2, whose
# Rename-Item has no -LiteralPath.

function Assert-WbPath {
    # Absolute drive or UNC paths only: a relative path would resolve against
    # whatever the remote session's directory is, and \\.\ or \\?\ device paths
    # are not files.
    param([string]$Path)
    if ($Path -notmatch '^[A-Za-z]:\\' -and $Path -notmatch '^\\\\[^\\?.]') {
        throw (New-WbFailure 161 "not an absolute path: '$Path'")
    }
}

function Get-WbAttributes {
    # FileAttributes as an int, or $null when nothing is there.
    param([string]$Path)
    try {
        return [int][IO.File]::GetAttributes($Path)
    } catch {
        $code = (Get-WbErrorInfo $_.Exception).Code
        if ($code -eq 2 -or $code -eq 3) {
            return $null
        }
        throw $_.Exception
    }
}

function Get-WbPathInfo {
    param([string]$Path)
    Assert-WbPath $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        return '{"exists":false,"kind":null,"size":null,"reparse":false}'
    }
    $reparse = ConvertTo-WbJsonBool (($attrs -band 1024) -ne 0)
    if (($attrs -band 16) -ne 0) {
        return '{"exists":true,"kind":"directory","size":null,"reparse":' + $reparse + '}'
    }
    $size = (New-Object IO.FileInfo -ArgumentList $Path).Length
    return '{"exists":true,"kind":"file","size":' + (ConvertTo-WbJsonNumber $size) + ',"reparse":' + $reparse + '}'
}

function Get-WbPathChildren {
    param([string]$Path)
    Assert-WbPath $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        return 'null'
    }
    if (($attrs -band 16) -eq 0) {
        throw (New-WbFailure 267)
    }
    $names = New-Object System.Collections.ArrayList
    foreach ($entry in [IO.Directory]::GetFileSystemEntries($Path)) {
        [void]$names.Add([IO.Path]::GetFileName($entry))
    }
    $names.Sort([StringComparer]::Ordinal)
    $items = New-Object System.Collections.ArrayList
    foreach ($n in $names) {
        [void]$items.Add((ConvertTo-WbJsonString $n))
    }
    return (ConvertTo-WbJsonList $items)
}

function Get-WbParent {
    # The folder holding $Path; refuses drive and share roots.
    param([string]$Path)
    $parent = [IO.Path]::GetDirectoryName($Path.TrimEnd([char]92))
    if ($null -eq $parent -or $parent -eq '') {
        throw (New-WbFailure 87 "refusing to operate on a root: '$Path'")
    }
    return $parent
}

function Rename-WbPath {
    param([string]$Path, [string]$NewName)
    Assert-WbPath $Path
    if ($NewName -eq '' -or $NewName -eq '.' -or $NewName -eq '..' -or
        $NewName.IndexOfAny([char[]]@('\', '/', ':')) -ge 0 -or
        $NewName.IndexOfAny([IO.Path]::GetInvalidFileNameChars()) -ge 0) {
        throw (New-WbFailure 123 "new_name must be a bare file or folder name: '$NewName'")
    }
    $parent = Get-WbParent $Path
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        throw (New-WbFailure 2)
    }
    $target = [IO.Path]::Combine($parent, $NewName)
    # Move on the same folder is a rename; an existing target fails with 183.
    if (($attrs -band 16) -ne 0) {
        [IO.Directory]::Move($Path, $target)
    } else {
        [IO.File]::Move($Path, $target)
    }
    return 'null'
}

function Remove-WbPath {
    # Not Remove-Item -Recurse: Windows PowerShell's recursion follows
    # junctions and directory symlinks and deletes the TARGET's contents
    # (PowerShell issue #621).  Walk the tree without entering reparse
    # points, then delete children before parents; a link is removed as a
    # link.  Read-only is cleared first, as -Force would.  Iterative, because
    # PS2 caps script recursion at 100 levels.
    param([string]$Path)
    Assert-WbPath $Path
    [void](Get-WbParent $Path)
    $attrs = Get-WbAttributes $Path
    if ($null -eq $attrs) {
        throw (New-WbFailure 2)
    }
    if (($attrs -band 16) -ne 0) {
        $root = New-Object IO.DirectoryInfo -ArgumentList $Path
    } else {
        $root = New-Object IO.FileInfo -ArgumentList $Path
    }
    $order = New-Object System.Collections.ArrayList
    $pending = New-Object System.Collections.Stack
    $pending.Push($root)
    while ($pending.Count -gt 0) {
        $item = $pending.Pop()
        [void]$order.Add($item)
        if ($item -is [IO.DirectoryInfo] -and ([int]$item.Attributes -band 1024) -eq 0) {
            foreach ($child in $item.GetFileSystemInfos()) {
                $pending.Push($child)
            }
        }
    }
    for ($i = $order.Count - 1; $i -ge 0; $i--) {
        $item = $order[$i]
        $bits = [int]$item.Attributes
        if (($bits -band 1) -ne 0) {
            $item.Attributes = [IO.FileAttributes]($bits - 1)
        }
        $item.Delete()
    }
    return 'null'
}

# ------------------------------------------------------------------ events ---

function ConvertTo-WbEventJson {
    param($Record)
    $level = 'Information'
    $levelNumber = 0
    if ($null -ne $Record.Level) {
        $levelNumber = [int]$Record.Level
    }
    # By number, not LevelDisplayName, which is localized.
    switch ($levelNumber) {
        1 {
            $level = 'Critical'
        }
        2 {
            $level = 'Error'
        }
        3 {
            $level = 'Warning'
        }
        5 {
            $level = 'Verbose'
        }
    }
    $time = $null
    if ($null -ne $Record.TimeCreated) {
        $time = $Record.TimeCreated.ToUniversalTime().ToString('yyyy-MM-dd\THH:mm:ss\Z', $WbInvariant)
    }
    $message = $null
    try {
        # May be null (missing message DLL, or PS2's culture bug on non-en-US).
        $message = $Record.Message
    } catch {
        $message = $null
    }
    # Named fields from the event XML: templates change between Windows
    # versions, names do not.  Unnamed (classic) Data elements are skipped.
    $doc = New-Object System.Xml.XmlDocument
    $doc.LoadXml($Record.ToXml())
    $ns = New-Object System.Xml.XmlNamespaceManager -ArgumentList $doc.NameTable
    $ns.AddNamespace('e', 'http://schemas.microsoft.com/win/2004/08/events/event')
    $pairs = New-Object System.Collections.ArrayList
    $seen = @{}
    foreach ($node in $doc.SelectNodes('/e:Event/e:EventData/e:Data', $ns)) {
        $fieldName = $node.GetAttribute('Name')
        if ($fieldName -eq '' -or $seen.ContainsKey($fieldName)) {
            continue
        }
        $seen[$fieldName] = $true
        [void]$pairs.Add($fieldName)
        [void]$pairs.Add((ConvertTo-WbJsonString $node.InnerText))
    }
    return (ConvertTo-WbJsonObject @(
            'log', (ConvertTo-WbJsonString $Record.LogName),
            'provider', (ConvertTo-WbJsonString $Record.ProviderName),
            'id', (ConvertTo-WbJsonNumber $Record.Id),
            'level', (ConvertTo-WbJsonString $level),
            'time', (ConvertTo-WbJsonString $time),
            'message', (ConvertTo-WbJsonString $message),
            'fields', (ConvertTo-WbJsonObject $pairs.ToArray())))
}

function Test-WbNoMatch {
    # Get-WinEvent reports "nothing there" as an error; by its error id (the
    # message text is localized).
    param($ErrorRecord)
    if ($ErrorRecord -isnot [System.Management.Automation.ErrorRecord]) {
        return $false
    }
    $fqid = [string]$ErrorRecord.FullyQualifiedErrorId
    return ($fqid -like 'NoMatchingEventsFound*' -or $fqid -like 'NoMatchingProvidersFound*' -or
        $fqid -like 'NoMatchingLogsFound*')
}

function Get-WbEvents {
    param($OpArgs)
    $provider = Get-WbArg $OpArgs 'provider' 'string'
    $log = Get-WbArg $OpArgs 'log' 'string' -Optional
    $sinceDays = Get-WbArg $OpArgs 'since_days' 'integer' -Optional
    $max = Get-WbArg $OpArgs 'max' 'integer' -Optional
    # Without a max, stop at 1000 events: the newest are what matters, and an
    # unbounded query of a chatty provider could be huge over WinRM.
    if ($null -eq $max) {
        $max = 1000
    }
    if ($max -lt 1) {
        throw (New-WbFailure 87 "argument 'max' must be at least 1")
    }
    $filter = @{ ProviderName = $provider }
    if ($null -ne $log -and $log -ne '') {
        $filter['LogName'] = $log
    }
    if ($null -ne $sinceDays) {
        $filter['StartTime'] = (Get-Date).AddDays(-$sinceDays)
    }
    $ids = $OpArgs['ids']
    if ($null -ne $ids -and @($ids).Length -gt 0) {
        $filter['Id'] = [int[]]@($ids)
    }
    $records = @()
    $wbErrs = $null
    try {
        # Collect Get-WinEvent's own errors instead of stopping at the first:
        # "no match" is an empty answer; anything else fails the op (no
        # silently partial results).
        $records = @(Get-WinEvent -FilterHashtable $filter -MaxEvents $max -ErrorAction SilentlyContinue -ErrorVariable wbErrs)
    } catch {
        if (-not (Test-WbNoMatch $_)) {
            throw $_.Exception
        }
        $records = @()
    }
    if ($null -ne $wbErrs) {
        foreach ($err in @($wbErrs)) {
            if ($null -ne $err -and -not (Test-WbNoMatch $err)) {
                if ($err -is [System.Management.Automation.ErrorRecord]) {
                    throw $err.Exception
                }
                throw $err
            }
        }
    }
    $items = New-Object System.Collections.ArrayList
    foreach ($record in $records) {
        [void]$items.Add((ConvertTo-WbEventJson $record))
    }
    return (ConvertTo-WbJsonList $items)
}

